"""Talking to an HR REST API: authentication, timeouts, and retries that honour Retry-After.

The ``httpx.Client`` is passed in (tests hand one pointed at a local server); every foreign
exception is wrapped once here into ``SourceUnavailable`` or ``SourceResponseError``, whose
messages name the URL and say what to check.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from sync.sources.errors import SourceResponseError, SourceUnavailable

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class Auth:
    """none, bearer (``token``), basic (``username``/``password``) or oauth2: the client
    credentials grant (``token_url``, ``client_id``, ``client_secret``, optional ``scope``)
    or the refresh-token grant (the same plus ``refresh_token``: Workday's API clients for
    integrations). ``client_auth`` says how the client authenticates to the token endpoint:
    ``basic`` (HTTP Basic, RFC 6749 2.3.1's default) or ``post`` (``client_id`` and
    ``client_secret`` in the form body, as Personio v2 requires)."""

    type: str = "none"
    token: str | None = None
    username: str | None = None
    password: str | None = None
    token_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    scope: str | None = None
    refresh_token: str | None = None
    grant: str = "client_credentials"
    client_auth: str = "basic"
    # What is wrong with it (an unset secret variable...), said when the source is used, so
    # one source's missing secret does not stop the others.
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Retry:
    """``attempts`` tries in all; waits ``backoff`` seconds doubling each time, or what the
    server's Retry-After asks, never more than ``max_wait``."""

    attempts: int = 5
    backoff: float = 1.0
    max_wait: float = 120.0


@dataclass
class HrApi:
    """One import's conversation with an HR API: the client, auth, retry policy, and sleep."""

    client: httpx.Client
    auth: Auth
    retry: Retry = field(default_factory=Retry)
    sleep: Sleep = field(default=lambda seconds: None)
    timeout: float = 30.0
    _token: str | None = None
    _token_expires: float = float("inf")
    clock: Callable[[], float] = field(default=time.monotonic)

    def get_json(self, method: str, url: str, *, params: Mapping[str, Any] | None = None,
                 headers: Mapping[str, str] | None = None, body: Any = None) -> tuple[Any, httpx.Response]:
        response = self.send(method, url, params=params, headers={**self._auth_headers(), **(headers or {})},
                             json=body, auth=self._basic())
        return decode_json(response), response

    def send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """The response, after retrying 429/5xx and transport errors with backoff."""
        for attempt in range(1, self.retry.attempts + 1):
            last = attempt == self.retry.attempts
            try:
                response = self.client.request(method, url, timeout=self.timeout, **kwargs)
            except httpx.TransportError as exc:
                if last:
                    raise SourceUnavailable(f"{url}: cannot reach the HR API after {attempt} tries "
                                            f"({type(exc).__name__}: {exc}): check the URL and the network") from exc
                self.sleep(self._backoff(attempt))
                continue
            if response.status_code not in RETRY_STATUSES:
                return _checked(response)
            if last:
                raise SourceUnavailable(f"{url}: the HR API answered {response.status_code} "
                                        f"{response.reason_phrase} {attempt} times: try again later")
            self.sleep(min(retry_after(response) or self._backoff(attempt), self.retry.max_wait))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _backoff(self, attempt: int) -> float:
        # Jitter keeps many importers from retrying in lockstep against the same API.
        return min(self.retry.backoff * 2 ** (attempt - 1) * random.uniform(0.8, 1.2), self.retry.max_wait)

    def _basic(self) -> httpx.BasicAuth | None:
        if self.auth.type != "basic":
            return None
        return httpx.BasicAuth(self.auth.username or "", self.auth.password or "")

    def _auth_headers(self) -> dict[str, str]:
        if self.auth.type == "bearer":
            return {"Authorization": f"Bearer {self.auth.token}"}
        if self.auth.type == "oauth2":
            if self._token is None or self.clock() >= self._token_expires:
                self._token = self._access_token()
            return {"Authorization": f"Bearer {self._token}"}
        return {}

    def _access_token(self) -> str:
        """RFC 6749 4.4 (client credentials) or 6 (refresh token), the client authenticated
        by HTTP Basic (2.3.1) or in the form body (``client_secret_post``)."""
        auth, url = self.auth, self.auth.token_url or ""
        if auth.grant == "refresh_token":
            data = {"grant_type": "refresh_token", "refresh_token": auth.refresh_token or ""}
        else:
            data = {"grant_type": "client_credentials"}
        if auth.scope:
            data["scope"] = auth.scope
        basic = None
        if auth.client_auth == "post":
            data.update(client_id=auth.client_id or "", client_secret=auth.client_secret or "")
        else:
            basic = httpx.BasicAuth(auth.client_id or "", auth.client_secret or "")
        token = decode_json(self.send("POST", url, data=data, auth=basic))
        if not isinstance(token, dict) or not isinstance(token.get("access_token"), str):
            raise SourceResponseError(f"{url}: the token endpoint answered without an access_token: "
                                      f"check token_url, client_id, client_secret{_also(auth)}")
        self._remember(token)
        return token["access_token"]

    def _remember(self, token: dict[str, Any]) -> None:
        # A long import outlives a 60-minute token: renew a minute before it expires.
        expires = token.get("expires_in")
        lifetime = float(expires) if isinstance(expires, int | float) and not isinstance(expires, bool) else None
        self._token_expires = self.clock() + max(lifetime - 60, lifetime / 2) if lifetime else float("inf")
        # RFC 6749 6: the server may issue a new refresh token; the old one may stop working.
        if isinstance(token.get("refresh_token"), str) and self.auth.grant == "refresh_token":
            self.auth = replace(self.auth, refresh_token=token["refresh_token"])


def _also(auth: Auth) -> str:
    return " and refresh_token" if auth.grant == "refresh_token" else ""


def _checked(response: httpx.Response) -> httpx.Response:
    url, status = response.request.url, response.status_code
    if status in (401, 403):
        raise SourceResponseError(f"{url}: the HR API refused the credentials ({status} "
                                  f"{response.reason_phrase}): check the source's auth settings")
    if status >= 400:
        raise SourceResponseError(f"{url}: the HR API answered {status} {response.reason_phrase}: "
                                  f"{_excerpt(response.text)}")
    return response


def decode_json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        kind = response.headers.get("content-type", "no content type")
        raise SourceResponseError(f"{response.request.url}: the answer is not JSON ({kind}): "
                                  f"{_excerpt(response.text)}: check the URL and the format parameter") from exc


def retry_after(response: httpx.Response) -> float | None:
    """RFC 9110 10.2.3: delay-seconds or an HTTP-date."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return repr(flat[:200] + ("..." if len(flat) > 200 else ""))

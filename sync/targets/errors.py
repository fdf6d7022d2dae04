"""The error tree of every BI target. Foreign exceptions (httpx, JSON) are wrapped once, in
the adapter that met them, with ``raise X(...) from exc``; callers catch these only."""

from __future__ import annotations

from sync.errors import UserError


class TargetError(UserError):
    """Something went wrong talking to the BI platform."""


class TargetSetupError(TargetError):
    """The target cannot be built from the settings (no API key, an unreadable models file)."""


class TargetUnavailable(TargetError):
    """The platform could not be reached, timed out or kept failing (5xx) past the retries."""


class OutcomeUnknown(TargetUnavailable):
    """A write timed out or failed with a 5xx: it may or may not have been applied."""


class RateLimited(TargetUnavailable):
    """Still answered 429 after the retries; ``retry_after`` is the last hint, if any."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InvalidRequest(TargetError):
    """The platform refused the request (4xx other than 404, 409 and 429)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class NotFound(InvalidRequest):
    """404: the user, group, connection or model does not exist (any more)."""

    def __init__(self, message: str) -> None:
        super().__init__(404, message)


class Conflict(InvalidRequest):
    """409: a user with this userName, or a group with this name, already exists."""

    def __init__(self, message: str) -> None:
        super().__init__(409, message)


class Unsupported(TargetError):
    """The target cannot do this at all (its capabilities say so): no call was sent."""

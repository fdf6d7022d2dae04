"""Checks an HTTP request (and answer) against an OpenAPI 3.1 document: method and path
template, path and query parameters, the JSON body against its schema. Small on purpose:
only what Omni's provisioning spec uses. The sandbox refuses every request that fails it
(400, as Omni would), and the target's contract tests check what the target sends with it.

``omni-openapi-provisioning.json`` beside this file is the sandbox's packaged copy of the
project's ``shared/omni/openapi-provisioning.json`` (the provisioning part of Omni's own
spec, from the MIT-licensed exploreomni/cli, api/openapi.json); a test checks the two are
the same when both are there."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import httpx
from jsonschema import Draft202012Validator

SPEC = Path(__file__).resolve().with_name("omni-openapi-provisioning.json")


class Contract:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self._validators: dict[int, Draft202012Validator] = {}
        self.routes = [(re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$"),
                        path, item) for path, item in spec["paths"].items()]

    @classmethod
    def load(cls) -> Contract:
        return cls(json.loads(SPEC.read_text(encoding="utf-8")))

    def operation(self, method: str, path: str) -> tuple[dict[str, Any], dict[str, str]] | None:
        for pattern, _, item in self.routes:
            match = pattern.match(path)
            if match and method.lower() in item:
                return item[method.lower()], match.groupdict()
        return None

    def request_problems(self, request: httpx.Request) -> list[str]:
        return self.problems(request.method, request.url.path, request.url.params.multi_items(),
                             request.headers, request.content)

    def problems(self, method: str, path: str, query: Iterable[tuple[str, str]],
                 headers: Mapping[str, str], content: bytes) -> list[str]:
        """What in this request the spec does not allow (empty: it validates)."""
        where = f"{method} {path}"
        found = self.operation(method, path)
        if found is None:
            return [f"{where}: no such operation in the spec"]
        operation, path_values = found
        problems = []
        if not headers.get("Authorization", "").startswith("Bearer "):
            problems.append(f"{where}: no bearer key")
        parameters = {(p["in"], p["name"]): p for p in operation.get("parameters", [])}
        for name, value in path_values.items():
            problems += self._value(where, parameters.get(("path", name)), name, value)
        query = list(query)
        for name, value in query:
            problems += self._value(where, parameters.get(("query", name)), name, value)
        sent = {name for name, _ in query}
        problems += [f"{where}: missing required {name}" for (kind, name), p in parameters.items()
                     if p.get("required") and kind == "query" and name not in sent]
        return problems + self._body(where, operation, headers, content)

    def response_problems(self, request: httpx.Request, response: httpx.Response) -> list[str]:
        found = self.operation(request.method, request.url.path)
        if found is None or response.status_code >= 300:
            return []
        answer = found[0]["responses"].get(str(response.status_code))
        if answer is None:
            where = f"{request.method} {request.url.path}"
            return [f"{where}: status {response.status_code} is not in the spec"]
        schema = answer.get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            return []
        return self._schema(f"answer to {request.method} {request.url.path}", schema,
                            response.json())

    def _body(self, where: str, operation: dict[str, Any], headers: Mapping[str, str],
              content: bytes) -> list[str]:
        body = operation.get("requestBody", {})
        declared = body.get("content", {}).get("application/json")
        if not content:
            return [f"{where}: the body is required"] if body.get("required") else []
        if declared is None:
            return [f"{where}: sends a body the spec does not describe"]
        if "json" not in headers.get("Content-Type", ""):
            return [f"{where}: body is not JSON"]
        try:
            instance = json.loads(content)
        except ValueError:
            return [f"{where}: body is not JSON"]
        return self._schema(where, declared["schema"], instance)

    def _value(self, where: str, parameter: dict[str, Any] | None, name: str,
               value: str) -> list[str]:
        if parameter is None:
            return [f"{where}: parameter {name} is not in the spec"]
        schema = parameter["schema"]
        typed: Any = value
        if schema.get("type") == "boolean":
            typed = {"true": True, "false": False}.get(value, value)
        elif schema.get("type") in ("integer", "number") and re.fullmatch(r"-?\d+(\.\d+)?", value):
            typed = float(value) if "." in value else int(value)  # a query string's number
        return self._schema(f"{where} parameter {name}", schema, typed)

    def _schema(self, where: str, schema: dict[str, Any], instance: Any) -> list[str]:
        validator = self._validators.get(id(schema))
        if validator is None:  # built once per schema: the sandbox checks every request
            rooted = {**schema, "components": self.spec["components"]}
            validator = Draft202012Validator(rooted, format_checker=Draft202012Validator.FORMAT_CHECKER)
            self._validators[id(schema)] = validator
        return [f"{where}: {error.json_path}: {error.message}"
                for error in validator.iter_errors(instance)]

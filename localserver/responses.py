"""The answers the local server gives: JSON and error bodies, byte ranges, and what refusing faults say.

Pure values: nothing here touches a socket. The HTTP layer (`http_server.py`) writes a `Response`;
the service (`service.py`) builds them, since status codes and error reasons are part of the API.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .faults import Fault


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(payload).encode(), "application/json", dict(headers or {}))


def error_response(status: int, reason: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """The provider family's error body: {"code", "reason", "message", "metadata"}."""
    payload = {"code": status, "reason": reason, "message": message, "metadata": {}}
    return json_response(status, payload, headers)


class HeaderDict(dict[str, str]):
    """Request headers keyed case-insensitively, as HTTP header names are."""

    def __init__(self, items: dict[str, str] | None = None) -> None:
        super().__init__({name.lower(): value for name, value in (items or {}).items()})

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)


def ranged_response(data: bytes, content_type: str, range_header: str | None) -> Response:
    """200 with the whole file, or 206 for a `Range: bytes=N-` / `bytes=N-M` request."""
    total = len(data)
    headers = {"Accept-Ranges": "bytes"}
    if range_header:
        unit, _, spec = range_header.strip().partition("=")
        if unit.strip().lower() == "bytes" and "," not in spec:
            start_text, dash, end_text = spec.strip().partition("-")
            try:
                if not dash:
                    raise ValueError
                if start_text:
                    start = int(start_text)
                    end = min(int(end_text), total - 1) if end_text else total - 1
                else:  # suffix range: the last N bytes
                    start = max(0, total - int(end_text))
                    end = total - 1
            except ValueError:
                start, end = -1, -1
            if start < 0 or start >= total or end < start:
                headers["Content-Range"] = f"bytes */{total}"
                return error_response(
                    416, "RANGE_NOT_SATISFIABLE", f"range {spec!r} outside 0-{total}", headers
                )
            headers["Content-Range"] = f"bytes {start}-{end}/{total}"
            return Response(206, data[start : end + 1], content_type, headers)
    return Response(200, data, content_type, headers)


def other_range(fault: Fault, asked: str | None) -> str:
    """The Range header an `other_range` fault serves instead of `asked` (which may be absent)."""
    start = fault.param("start")
    if start is None:
        asked_start = _range_start(asked)
        start = asked_start // 2 if asked_start >= 2 else asked_start + 1  # neither 0 nor asked
    length = fault.param("bytes")
    end = "" if length is None else str(int(start) + max(int(length), 1) - 1)
    return f"bytes={int(start)}-{end}"


def _range_start(range_header: str | None) -> int:
    """Where a `bytes=N-` request starts (0 for none, or one this server does not take apart)."""
    _, _, spec = (range_header or "").partition("=")
    start_text = spec.strip().partition("-")[0].strip()
    return int(start_text) if start_text.isdigit() else 0


def rate_limited_response(retry_after: object | None) -> Response:
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    return error_response(429, "RATE_LIMIT_EXCEEDED", "rate limit exceeded, retry later", headers)


def fault_response(fault: Fault) -> Response:
    """What a refusing fault (faults.REFUSING_KINDS, or a 500/503 after_create) answers."""
    kind = fault.kind
    if kind == "429":
        retry_after = fault.param("retry_after")
        # retry_after=none: a 429 without the header, as some gateways send.
        omitted = retry_after is None or str(retry_after).lower() == "none"
        return rate_limited_response(None if omitted else retry_after)
    if kind == "html":
        # A proxy's error page: the status it chose, an HTML body where JSON was expected.
        status = int(fault.param("status"))
        page = f"<html><head><title>{status} Bad Gateway</title></head><body><h1>{status}</h1></body></html>"
        return Response(status, page.encode(), "text/html")
    if kind == "400":
        return error_response(400, "INVALID_REQUEST_BODY", str(fault.param("message")))
    if kind in ("500", "503"):
        retry_after = fault.param("retry_after")
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        message = "internal server error" if kind == "500" else "the service is overloaded, retry later"
        return error_response(int(kind), "SERVICE_NOT_AVAILABLE", message, headers)
    if kind == "401":
        return error_response(401, "FAILED_TO_AUTH", "authentication failed")
    if kind == "403":
        return error_response(403, "INVALID_API_KEY", "the API key is not valid")
    if kind == "no_balance":
        return error_response(403, "NOT_ENOUGH_BALANCE", "not enough balance to run this task")
    if kind == "expired":
        status = int(fault.param("status"))
        if status == 404:
            return error_response(404, "NOT_FOUND", "no such file")
        return error_response(403, "URL_EXPIRED", "the signed URL has expired")
    raise AssertionError(f"{kind} is not a refusing fault")

"""The typed error for each error status the service answers with (see errors.py)."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from .errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    InsufficientBalanceError,
    NotFoundError,
    RateLimitedError,
    ServiceUnavailableError,
)
from .lazy_import import lazy_module
from .retry import Failed, retry_after_seconds

if TYPE_CHECKING:
    import httpx
else:
    httpx = lazy_module("httpx")


def _error_body(response: httpx.Response) -> tuple[str, str]:
    """(reason, message) from the provider's error body, tolerating no body or non-JSON."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        text = response.text.strip()
        if text.startswith("<"):  # a proxy's HTML error page: its title, never the markup
            title = re.search(r"<title[^>]*>([^<]*)</title>", text, re.IGNORECASE)
            return "", " ".join(title.group(1).split())[:200] if title else ""
        return "", text.splitlines()[0][:200] if text else ""
    if not isinstance(body, dict):
        return "", ""
    return str(body.get("reason") or ""), str(body.get("message") or "")


def error_from_response(response: httpx.Response) -> ApiError:
    status = response.status_code
    reason, message = _error_body(response)
    detail = f": {message}" if message else ""
    if status == 400:
        return BadRequestError(message or reason or "invalid request", reason=reason)
    if status == 401:
        return AuthenticationError(
            f"The API key was refused (HTTP 401 {reason or 'FAILED_TO_AUTH'}){detail}. "
            "Check the key in the add-on preferences or VEO_API_KEY.",
            status=status,
            reason=reason,
        )
    if status == 403 and reason == "NOT_ENOUGH_BALANCE":
        return InsufficientBalanceError(
            f"The account has no balance left (HTTP 403 NOT_ENOUGH_BALANCE){detail}. Top it up, then retry.",
            status=status,
            reason=reason,
        )
    if status == 403:
        return AuthenticationError(
            f"The API key has no access (HTTP 403 {reason or 'forbidden'}){detail}. "
            "Check the key in the add-on preferences or VEO_API_KEY.",
            status=status,
            reason=reason,
        )
    if status == 404:
        return NotFoundError(f"Not found (HTTP 404){detail}", status=status, reason=reason)
    if status == 429:
        return RateLimitedError(
            f"The service is rate limiting requests (HTTP 429){detail}",
            retry_after=retry_after_seconds(response),
            reason=reason,
        )
    if status >= 500:
        return ServiceUnavailableError(
            f"The service is unavailable (HTTP {status} {reason}){detail}".replace(" )", ")"),
            status=status,
            reason=reason,
        )
    return ApiError(f"Unexpected HTTP {status}{detail}", status=status, reason=reason)


def failed_status(response: httpx.Response) -> Failed:
    """An error status as a failed attempt, with the server's Retry-After when it sent one."""
    return Failed(response.status_code, error_from_response(response), retry_after_seconds(response))


def describe_error(error: Exception) -> str:
    """A low-level error (httpx, OSError) as one line: its type, and its text when it has one."""
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__

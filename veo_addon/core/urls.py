"""What counts as an http(s) address, for keyframe URLs and for the service's base URL, and
the service's address when none is configured.

Light on purpose (no client machinery): the add-on preferences read it when they register."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from .errors import ValidationError

DEFAULT_BASE_URL = "https://api.highwayapi.ai"


def is_http_url(url: str) -> bool:
    """An http:// or https:// address with a host (any case, surrounding spaces ignored)."""
    parts = urlsplit(url.strip())
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def is_loopback_url(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: str) -> str:
    """The service's address without a trailing slash. HTTPS is required, except for loopback
    addresses (the local test server)."""
    url = base_url.strip().rstrip("/")
    if not is_http_url(url):
        raise ValidationError("base_url", f"{base_url!r} is not an http(s) URL")
    if urlsplit(url).scheme.lower() != "https" and not is_loopback_url(url):
        raise ValidationError("base_url", f"must use https:// (http only on loopback): {url}")
    return url

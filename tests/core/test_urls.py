"""One rule for what an http(s) address is: keyframe URLs and the base URL agree."""

from __future__ import annotations

import pytest

from veo_addon.core.errors import ValidationError
from veo_addon.core.request import ImageInput
from veo_addon.core.urls import check_base_url, is_http_url


@pytest.mark.parametrize("url", ["https://example.com/a.png", "HTTP://example.com/a.png", " http://x.io/a "])
def test_http_addresses_with_a_host_are_accepted(url: str) -> None:
    assert is_http_url(url)
    assert ImageInput.from_url(url).url == url.strip()


@pytest.mark.parametrize(
    "url", ["http://:80/a.png", "https://user@/a.png", "ftp://x/a.png", "x.io/a.png", ""]
)
def test_addresses_without_a_host_or_scheme_are_refused_everywhere(url: str) -> None:
    assert not is_http_url(url)
    with pytest.raises(ValidationError, match="http:// or https://"):
        ImageInput.from_url(url)
    with pytest.raises(ValidationError, match="base_url"):
        check_base_url(url)

"""The faults the fault matrix added: a reset before the request was read, a 429 without
Retry-After, a proxy's HTML error page, the service's own rate limit, and large clips."""

from __future__ import annotations

import httpx
import pytest

from localserver import LocalHighway
from tests.server.highway_helpers import AUTH, download, generate, result, submit, submit_body


def post_submit(server: LocalHighway) -> httpx.Response:
    return httpx.post(server.submit_url, json=submit_body(), headers=AUTH)


def test_reset_before_the_request_was_read_creates_no_task(highway: LocalHighway) -> None:
    highway.faults.add("submit", nth=1, kind="reset", at="request")
    with pytest.raises(httpx.TransportError):
        post_submit(highway)
    assert highway.submit_count == 0 and highway.tasks == {}
    assert post_submit(highway).status_code == 200


def test_429_without_retry_after(highway: LocalHighway) -> None:
    highway.faults.add_spec("submit#1=429:retry_after=none")
    refused = post_submit(highway)
    assert refused.status_code == 429 and "Retry-After" not in refused.headers
    assert refused.json()["reason"] == "RATE_LIMIT_EXCEEDED"


def test_html_error_page_has_the_status_and_no_json(highway: LocalHighway) -> None:
    highway.faults.add("result", nth=1, kind="html")
    highway.faults.add("submit", nth=1, kind="html", status=504)
    assert post_submit(highway).status_code == 504
    assert highway.submit_count == 0
    page = result(highway, submit(highway))
    assert page.status_code == 502 and page.headers["Content-Type"] == "text/html"
    assert page.text.startswith("<html>")


def test_the_service_enforces_its_requests_per_minute() -> None:
    with LocalHighway(gen_seconds=0.1, requests_per_minute=3) as server:
        task_id = submit(server)
        assert [result(server, task_id).status_code for _ in range(3)] == [200, 200, 429]
        refused = result(server, task_id)
        assert refused.status_code == 429 and 55 <= int(refused.headers["Retry-After"]) <= 60
        assert server.rate_limited_count == 2
        assert server.stats()["rate_limited"] == 2


def test_clips_can_be_padded_to_a_large_size_and_stay_mp4() -> None:
    size = 3 * 1024 * 1024
    with LocalHighway(gen_seconds=0.1, clip_bytes=size) as server:
        data = download(generate(server)["videos"][0]["video_url"])
    assert len(data) == size
    assert data[4:8] == b"ftyp"


def test_other_range_answers_with_bytes_from_elsewhere(highway: LocalHighway) -> None:
    url = generate(highway)["videos"][0]["video_url"]
    whole = download(url)
    highway.faults.add("download", nth=2, kind="other_range")
    highway.faults.add("download", nth=3, kind="other_range", start=0, bytes=500)
    misplaced = httpx.get(url, headers={"Range": "bytes=1000-"})
    assert misplaced.status_code == 206
    assert misplaced.headers["Content-Range"] == f"bytes 500-{len(whole) - 1}/{len(whole)}"
    assert misplaced.content == whole[500:]
    capped = httpx.get(url)  # no Range asked, yet a part of the file
    assert capped.status_code == 206 and capped.headers["Content-Range"] == f"bytes 0-499/{len(whole)}"
    assert capped.content == whole[:500]

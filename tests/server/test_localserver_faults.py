"""Faults on demand: each kind behaves as a client would see it on the real service."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from localserver import FaultSpecError, LocalHighway, parse_fault_spec
from tests.server.highway_helpers import (
    AUTH,
    assert_error_body,
    download,
    generate,
    poll_until_done,
    result,
    submit,
    submit_body,
)


def post_submit(server: LocalHighway) -> httpx.Response:
    return httpx.post(server.submit_url, json=submit_body(), headers=AUTH)


def test_fault_grammar_parses_endpoint_request_number_kind_and_params() -> None:
    faults = parse_fault_spec(
        "submit#1=429:retry_after=2, download#1=truncate,result=500,any#3=latency:seconds=0.5"
    )
    described = [(f.endpoint, f.nth, f.kind, f.params) for f in faults]
    assert described == [
        ("submit", 1, "429", {"retry_after": 2}),
        ("download", 1, "truncate", {}),
        ("result", None, "500", {}),
        ("any", 3, "latency", {"seconds": 0.5}),
    ]
    assert parse_fault_spec("result#*=reset:at=headers")[0].params == {"at": "headers"}


@pytest.mark.parametrize(
    "spec",
    [
        "result",
        "result#x=500",
        "result=explode",
        "nowhere=500",
        "download=safety",
        "result=429:bogus=1",
        "=500",
    ],
)
def test_bad_fault_rules_are_refused_with_a_reason(spec: str) -> None:
    with pytest.raises(FaultSpecError):
        parse_fault_spec(spec)


def test_faults_add_validates_and_counts_hits(highway: LocalHighway) -> None:
    with pytest.raises(FaultSpecError):
        highway.faults.add("result", kind="nonsense")
    with pytest.raises(FaultSpecError):
        highway.faults.add("submit", kind="expired")
    with pytest.raises(FaultSpecError):
        highway.faults.add("result", nth=0, kind="500")
    with pytest.raises(FaultSpecError):
        highway.faults.add("result", nth=1)  # no kind
    fault = highway.faults.add("result", nth=2, kind=500)
    for _ in range(3):
        result(highway, "x")
    assert fault.hits == 1


def test_latency_delays_the_answer(highway: LocalHighway) -> None:
    highway.faults.add("result", nth=1, kind="latency", seconds=0.4)
    started = time.monotonic()
    assert result(highway, "x").status_code == 404
    assert time.monotonic() - started >= 0.4
    started = time.monotonic()
    result(highway, "x")
    assert time.monotonic() - started < 0.3


def test_429_carries_retry_after_and_creates_no_task(highway: LocalHighway) -> None:
    highway.faults.add("submit", nth=1, kind="429", retry_after=2)
    refused = post_submit(highway)
    assert_error_body(refused, 429, "RATE_LIMIT_EXCEEDED")
    assert refused.headers["Retry-After"] == "2"
    assert highway.submit_count == 0
    assert post_submit(highway).status_code == 200  # only the 1st request was faulted
    assert highway.submit_count == 1


@pytest.mark.parametrize("status", ["500", "503"])
def test_server_errors_on_every_result_request(highway: LocalHighway, status: str) -> None:
    highway.faults.add("result", kind=status)
    task_id = submit(highway)
    for _ in range(2):
        assert_error_body(result(highway, task_id), int(status), "SERVICE_NOT_AVAILABLE")
    highway.faults.clear()
    assert result(highway, task_id).status_code == 200


def test_503_on_submit_creates_no_task_but_500_after_create_does(highway: LocalHighway) -> None:
    highway.faults.add("submit", nth=1, kind="503")
    highway.faults.add("submit", nth=2, kind="500", after_create=True)
    assert post_submit(highway).status_code == 503
    assert highway.submit_count == 0
    assert post_submit(highway).status_code == 500
    assert highway.submit_count == 1  # billed, though the client saw an error


def test_reset_on_submit_happens_after_the_task_was_created(highway: LocalHighway) -> None:
    highway.faults.add("submit", nth=1, kind="reset")
    with pytest.raises(httpx.TransportError):
        post_submit(highway)
    assert highway.submit_count == 1
    assert len(highway.tasks) == 1


@pytest.mark.parametrize("point", ["start", "headers", "body"])
def test_reset_on_result_at_each_point(highway: LocalHighway, point: str) -> None:
    task_id = submit(highway)
    highway.faults.add("result", nth=1, kind="reset", at=point)
    with pytest.raises(httpx.TransportError):
        result(highway, task_id)
    assert result(highway, task_id).status_code == 200


def test_truncated_download_can_be_resumed_with_a_range(highway: LocalHighway) -> None:
    url = generate(highway)["videos"][0]["video_url"]
    highway.faults.add("download", nth=1, kind="truncate", bytes=1000)
    received = bytearray()
    with pytest.raises(httpx.RemoteProtocolError), httpx.stream("GET", url) as response:
        assert response.status_code == 200
        total = int(response.headers["Content-Length"])
        for chunk in response.iter_bytes():
            received.extend(chunk)
    assert len(received) == 1000 < total

    rest = httpx.get(url, headers={"Range": f"bytes={len(received)}-"})
    assert rest.status_code == 206
    assert bytes(received) + rest.content == download(url)


def test_malformed_result_is_a_200_that_is_not_json(highway: LocalHighway) -> None:
    highway.faults.add("result", nth=1, kind="malformed")
    response = result(highway, submit(highway))
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


def test_malformed_download_is_a_200_html_page(highway: LocalHighway) -> None:
    url = generate(highway)["videos"][0]["video_url"]
    highway.faults.add("download", nth=1, kind="malformed")
    response = httpx.get(url)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html"
    assert b"ftyp" not in response.content


def test_safety_fault_fails_the_task_with_a_support_code(highway: LocalHighway) -> None:
    highway.faults.add("submit", nth=1, kind="safety")
    payload = poll_until_done(highway, submit(highway))
    assert payload["task"]["status"] == "TASK_STATUS_FAILED"
    assert "Support codes:" in payload["task"]["reason"]
    assert payload["videos"] == []


def test_safety_fault_on_result_with_a_custom_reason(highway: LocalHighway) -> None:
    highway.faults.add("result", kind="safety", reason="Blocked. Support codes: 12345678")
    payload = poll_until_done(highway, submit(highway))
    assert payload["task"]["status"] == "TASK_STATUS_FAILED"
    assert payload["task"]["reason"] == "Blocked. Support codes: 12345678"


def test_unknown_status_fault_ends_in_an_undocumented_status(highway: LocalHighway) -> None:
    highway.faults.add("submit", nth=1, kind="unknown_status")
    highway.faults.add("submit", nth=2, kind="unknown_status", status="TASK_STATUS_EXPIRED")
    first, second = submit(highway), submit(highway)
    assert poll_until_done(highway, first)["task"]["status"] == "TASK_STATUS_CANCELED"
    assert poll_until_done(highway, second)["task"]["status"] == "TASK_STATUS_EXPIRED"


@pytest.mark.parametrize(
    ("kind", "status", "reason"),
    [
        ("401", 401, "FAILED_TO_AUTH"),
        ("403", 403, "INVALID_API_KEY"),
        ("no_balance", 403, "NOT_ENOUGH_BALANCE"),
    ],
)
def test_auth_and_balance_faults(highway: LocalHighway, kind: str, status: int, reason: str) -> None:
    highway.faults.add("submit", kind=kind)
    assert_error_body(post_submit(highway), status, reason)
    assert highway.submit_count == 0


@pytest.mark.parametrize(("status", "reason"), [(403, "URL_EXPIRED"), (404, "NOT_FOUND")])
def test_expired_fault_on_download(highway: LocalHighway, status: int, reason: str) -> None:
    url = generate(highway)["videos"][0]["video_url"]
    highway.faults.add("download", nth=1, kind="expired", status=status)
    assert_error_body(httpx.get(url), status, reason)
    assert httpx.get(url).status_code == 200


def test_filtered_fault_returns_fewer_videos_than_asked(highway: LocalHighway) -> None:
    highway.faults.add("submit", nth=1, kind="filtered")
    payload = generate(highway, sample_count=2)
    assert payload["task"]["status"] == "TASK_STATUS_SUCCEED"
    assert len(payload["videos"]) == 1
    assert payload["extra"]["debug_info"]["filtered_samples"] == "1"


def test_filtered_fault_can_keep_none(highway: LocalHighway) -> None:
    highway.faults.add("submit", nth=1, kind="filtered", keep=0)
    payload = generate(highway)
    assert payload["task"]["status"] == "TASK_STATUS_SUCCEED"
    assert payload["videos"] == []


def test_faults_from_the_constructor_style_spec_string(highway: LocalHighway) -> None:
    highway.faults.add_spec("result#1=503,result#2=429:retry_after=1")
    task_id = submit(highway)
    assert result(highway, task_id).status_code == 503
    assert result(highway, task_id).headers["Retry-After"] == "1"
    assert result(highway, task_id).status_code == 200


def test_400_fault_carries_the_given_message_and_creates_no_task(highway: LocalHighway) -> None:
    highway.faults.add("submit", kind="400", message="prompt: contains blocked words")
    error = assert_error_body(post_submit(highway), 400, "INVALID_REQUEST_BODY")
    assert error["message"] == "prompt: contains blocked words"
    assert highway.submit_count == 0


def test_503_can_carry_retry_after_too(highway: LocalHighway) -> None:
    highway.faults.add("submit", nth=1, kind="503", retry_after=0)
    refused = post_submit(highway)
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "0"
    highway.faults.add("submit", nth=2, kind="503")
    assert "Retry-After" not in post_submit(highway).headers


def test_gone_fault_forgets_the_task_from_then_on(highway: LocalHighway) -> None:
    url = generate(highway)["videos"][0]["video_url"]
    task_id = next(iter(highway.tasks))
    highway.faults.add_spec(f"result#{highway.request_counts['result'] + 2}=gone")
    assert result(highway, task_id).status_code == 200  # the request before the fault
    error = assert_error_body(result(highway, task_id), 404, "TASK_NOT_FOUND")
    assert task_id in error["message"]
    assert result(highway, task_id).status_code == 404  # and every one after
    assert httpx.get(url).status_code == 404  # its files are gone too
    other = submit(highway)
    assert result(highway, other).status_code == 200  # other tasks are unaffected


def test_gone_fault_on_submit_creates_a_task_that_is_never_found(highway: LocalHighway) -> None:
    highway.faults.add("submit", nth=1, kind="gone")
    task_id = submit(highway)
    assert highway.submit_count == 1
    assert_error_body(result(highway, task_id), 404, "TASK_NOT_FOUND")

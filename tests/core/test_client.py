"""The HTTP client against the local server, over real HTTP on loopback."""

from __future__ import annotations

import io
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from tests.core.file_host import ServeFiles
from veo_addon.core import ratelimit
from veo_addon.core.client import (
    ClientSettings,
    HighwayClient,
    RetryPolicy,
    TaskResult,
    TaskStatus,
    check_base_url,
)
from veo_addon.core.errors import (
    AuthenticationError,
    BadRequestError,
    InsufficientBalanceError,
    InvalidMediaError,
    NetworkError,
    NotFoundError,
    ResultExpiredError,
    ServiceUnavailableError,
    SubmitOutcomeUnknownError,
    TaskFailedError,
    TaskNotFoundError,
    ValidationError,
    VeoError,
)
from veo_addon.core.ratelimit import RateLimiter, shared_rate_limiter
from veo_addon.core.request import Base64Form, GenerationRequest, ImageInput

SECRET_KEY = "sk_test_Zx9QvLm2Pq7Rt4Wy8Ab3Cd6Ef1Gh5Jk"  # distinctive, so a leak is unmistakable
FAST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05)


def png(color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (160, 90), color).save(buffer, format="PNG")
    return buffer.getvalue()


def make_request(**overrides: object) -> GenerationRequest:
    fields: dict[str, object] = {
        "image": ImageInput.from_bytes(png((220, 40, 40))),
        "last_image": ImageInput.from_bytes(png((40, 40, 220))),
        "prompt": "the red room dissolves into the blue room",
        "duration_seconds": 4,
        "seed": 11,
    }
    fields.update(overrides)
    return GenerationRequest(**fields)  # type: ignore[arg-type]


def make_client(base_url: str, **settings: object) -> HighwayClient:
    options: dict[str, object] = {"retry": FAST_RETRY, "submit_retry": FAST_RETRY}
    options.update(settings)
    return HighwayClient(
        SECRET_KEY,
        base_url,
        settings=ClientSettings(**options),  # type: ignore[arg-type]
        rate_limiter=RateLimiter(10_000),
    )


@pytest.fixture
def client(highway) -> Iterator[HighwayClient]:  # type: ignore[no-untyped-def]
    with make_client(highway.base_url) as instance:
        yield instance


def wait_until_done(client: HighwayClient, task_id: str, timeout: float = 60.0) -> TaskResult:
    deadline = time.monotonic() + timeout
    while True:
        result = client.task_result(task_id)
        if result.status.is_terminal:
            return result
        assert time.monotonic() < deadline, f"task {task_id} still {result.raw_status}"
        time.sleep(0.1)


def assert_no_secret(error: BaseException) -> None:
    assert SECRET_KEY not in str(error)
    assert SECRET_KEY not in repr(error)
    assert "\n" not in str(error)


# -- the happy path ------------------------------------------------------------------------


def test_submit_poll_download_gives_an_mp4(client: HighwayClient, highway, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    task_id = client.submit(make_request())
    assert task_id and highway.submit_count == 1

    seen = []
    result = client.task_result(task_id)
    while not result.status.is_terminal:
        seen.append(result.status)
        time.sleep(0.05)
        result = client.task_result(task_id)
    assert result.status is TaskStatus.SUCCEED
    assert TaskStatus.PROCESSING in seen or TaskStatus.QUEUED in seen
    assert result.seed == 11
    assert len(result.videos) == 1 and result.videos[0].ttl_seconds > 0

    progress: list[tuple[int, int | None]] = []
    clip = client.download(
        result.videos[0].url, tmp_path / "clip.mp4", lambda got, total: progress.append((got, total))
    )
    data = clip.read_bytes()
    assert data[4:8] == b"ftyp"
    assert progress[-1] == (len(data), len(data))
    assert not list(tmp_path.glob("*.part"))


def test_the_body_uses_the_configured_base64_form(highway) -> None:  # type: ignore[no-untyped-def]
    with make_client(highway.base_url, base64_form=Base64Form.BARE) as bare_client:
        bare_client.submit(make_request())
    sent = highway.submit_bodies[-1]
    assert not sent["image"].startswith("data:")
    assert sent["prompt"] == "the red room dissolves into the blue room"
    assert sent["duration_seconds"] == 4 and sent["seed"] == 11


def test_a_400_is_retried_once_in_the_other_base64_form(highway) -> None:  # type: ignore[no-untyped-def]
    highway.base64_form = "bare"
    with make_client(highway.base_url, base64_form=Base64Form.DATA_URI) as client:
        task_id = client.submit(make_request())
        assert task_id
        assert client.base64_form is Base64Form.BARE  # remembered for the next submit
    assert highway.submit_count == 1
    assert highway.request_counts["submit"] == 2


def test_a_400_shows_the_servers_message(client: HighwayClient, highway) -> None:  # type: ignore[no-untyped-def]
    highway.faults.add("submit", kind="400", message="prompt: contains blocked words")
    with pytest.raises(BadRequestError) as caught:
        client.submit(make_request())
    assert "prompt: contains blocked words" in str(caught.value)
    assert highway.submit_count == 0
    assert_no_secret(caught.value)


# -- submit retry rules: the server's count proves nothing was sent twice -------------------


@pytest.mark.parametrize("kind", ["429", "503"])
def test_a_refused_submit_is_retried_and_creates_one_task(client: HighwayClient, highway, kind: str) -> None:  # type: ignore[no-untyped-def]
    highway.faults.add("submit", nth=1, kind=kind, retry_after=0)
    assert client.submit(make_request())
    assert highway.request_counts["submit"] == 2
    assert highway.submit_count == 1


def test_retry_after_is_honoured(client: HighwayClient, highway) -> None:  # type: ignore[no-untyped-def]
    highway.faults.add("submit", nth=1, kind="429", retry_after=1)
    started = time.monotonic()
    client.submit(make_request())
    assert time.monotonic() - started >= 0.9
    assert highway.submit_count == 1


def test_a_persistently_rate_limited_submit_gives_up_with_a_clear_error(highway) -> None:  # type: ignore[no-untyped-def]
    highway.faults.add("submit", kind="429", retry_after=0)
    with make_client(highway.base_url) as client, pytest.raises(VeoError) as caught:
        client.submit(make_request())
    assert "rate limiting" in str(caught.value)
    assert highway.request_counts["submit"] == FAST_RETRY.max_attempts
    assert highway.submit_count == 0


@pytest.mark.parametrize(
    ("fault", "params"),
    [
        ("reset", {"at": "body"}),
        ("reset", {"at": "start"}),
        ("500", {"after_create": True}),
        ("malformed", {}),
    ],
)
def test_a_submit_with_unknown_outcome_is_not_sent_again(
    client: HighwayClient, highway, fault: str, params: dict
) -> None:  # type: ignore[no-untyped-def,type-arg]
    highway.faults.add("submit", nth=1, kind=fault, **params)
    request = make_request()
    with pytest.raises(SubmitOutcomeUnknownError) as caught:
        client.submit(request)
    assert caught.value.request is request  # kept, so the user can decide
    assert "not sent again" in str(caught.value)
    assert highway.request_counts["submit"] == 1
    assert_no_secret(caught.value)


def test_a_submit_that_times_out_after_sending_is_not_sent_again(highway) -> None:  # type: ignore[no-untyped-def]
    highway.faults.add("submit", nth=1, kind="latency", seconds=2)
    with (
        make_client(highway.base_url, read_timeout=0.5) as client,
        pytest.raises(SubmitOutcomeUnknownError) as caught,
    ):
        client.submit(make_request())
    assert "ReadTimeout" in str(caught.value)
    time.sleep(2)  # let the slow handler finish: the server did create a task
    assert highway.request_counts["submit"] == 1
    assert highway.submit_count == 1


def test_an_unreachable_service_is_a_network_error_after_retries() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again at the end of the block: nothing listens
    with make_client(f"http://127.0.0.1:{port}") as client, pytest.raises(NetworkError) as caught:
        client.submit(make_request())
    assert "Could not reach" in str(caught.value)
    assert_no_secret(caught.value)


@pytest.mark.parametrize(
    ("kind", "error_type", "words"),
    [
        ("401", AuthenticationError, "API key was refused"),
        ("403", AuthenticationError, "no access"),
        ("no_balance", InsufficientBalanceError, "no balance"),
    ],
)
def test_account_errors_are_typed_and_not_retried(
    client: HighwayClient, highway, kind, error_type, words
) -> None:  # type: ignore[no-untyped-def]
    highway.faults.add("submit", kind=kind)
    with pytest.raises(error_type) as caught:
        client.submit(make_request())
    assert words in str(caught.value)
    assert highway.request_counts["submit"] == 1
    assert_no_secret(caught.value)


def test_a_wrong_key_is_refused_by_the_server(highway) -> None:  # type: ignore[no-untyped-def]
    highway.api_key = "the-right-key"
    with make_client(highway.base_url) as client, pytest.raises(AuthenticationError) as caught:
        client.submit(make_request())
    assert_no_secret(caught.value)


def test_a_missing_key_is_refused_before_sending() -> None:
    with pytest.raises(AuthenticationError, match="VEO_API_KEY"):
        HighwayClient("  ", "http://127.0.0.1:9")


@pytest.mark.parametrize(
    "pasted",
    [
        "sk_test_Paste9Qv\r\nLm2Pq7Rt4Wy8",  # copied across a line break
        "sk_test_Paste9Qv–Lm2Pq7Rt4Wy8",  # an en dash put in by a word processor
        "sk_test_Paste9Qv Lm2Pq7Rt4Wy8",
    ],
)
def test_a_mangled_key_is_refused_without_echoing_it(
    highway, pasted: str, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AuthenticationError, match="paste it again") as caught:
        HighwayClient(pasted, highway.base_url, rate_limiter=RateLimiter(10_000))
    for text in (str(caught.value), repr(caught.value), caplog.text):
        assert "Paste9Qv" not in text and "Lm2Pq7" not in text
    assert "\n" not in str(caught.value)
    assert sum(highway.request_counts.values()) == 0


def test_whitespace_around_a_pasted_key_is_harmless(highway) -> None:  # type: ignore[no-untyped-def]
    highway.api_key = SECRET_KEY
    with HighwayClient(f"  {SECRET_KEY}\r\n", highway.base_url, rate_limiter=RateLimiter(10_000)) as client:
        assert client.submit(make_request())


# -- result polls retry -------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["429", "500", "503", "malformed", "reset"])
def test_result_polls_retry_through_transient_faults(client: HighwayClient, highway, kind: str) -> None:  # type: ignore[no-untyped-def]
    task_id = client.submit(make_request())
    highway.faults.add("result", nth=1, kind=kind, retry_after=0) if kind == "429" else highway.faults.add(
        "result", nth=1, kind=kind
    )
    result = client.task_result(task_id)
    assert result.task_id == task_id
    assert highway.request_counts["result"] == 2


def test_a_poll_that_keeps_failing_raises_a_typed_error(client: HighwayClient, highway) -> None:  # type: ignore[no-untyped-def]
    task_id = client.submit(make_request())
    highway.faults.add("result", kind="503")
    with pytest.raises(ServiceUnavailableError) as caught:
        client.task_result(task_id)
    assert "unavailable" in str(caught.value)
    assert highway.request_counts["result"] == FAST_RETRY.max_attempts


def test_an_unknown_task_is_not_found(client: HighwayClient) -> None:
    with pytest.raises(NotFoundError):
        client.task_result("no-such-task")


def test_a_task_the_service_forgot_is_a_typed_final_error_asked_once(client: HighwayClient, highway) -> None:  # type: ignore[no-untyped-def]
    task_id = client.submit(make_request())
    highway.faults.add("result", kind="gone")
    with pytest.raises(TaskNotFoundError) as caught:
        client.task_result(task_id)
    assert task_id in str(caught.value) and "no longer known" in str(caught.value)
    assert "resume" not in str(caught.value)
    assert highway.request_counts["result"] == 1


def test_a_safety_failure_carries_the_servers_reason(client: HighwayClient, highway) -> None:  # type: ignore[no-untyped-def]
    highway.faults.add("submit", nth=1, kind="safety")
    task_id = client.submit(make_request())
    result = wait_until_done(client, task_id)
    assert result.status is TaskStatus.FAILED
    assert "support code" in result.reason.lower()
    error = TaskFailedError(task_id, result.reason)
    assert task_id in str(error) and result.reason in str(error)


def test_an_unknown_status_is_terminal_and_kept_as_sent(client: HighwayClient, highway) -> None:  # type: ignore[no-untyped-def]
    highway.faults.add("submit", nth=1, kind="unknown_status")
    result = wait_until_done(client, client.submit(make_request()))
    assert result.status is TaskStatus.UNKNOWN and result.status.is_terminal
    assert result.raw_status == "TASK_STATUS_CANCELED"


def test_result_fields_accept_ttl_and_seed_as_strings_or_numbers() -> None:
    payload = {
        "task": {"task_id": "t1", "status": "TASK_STATUS_SUCCEED", "eta": "", "progress_percent": 100},
        "videos": [
            {"video_url": "https://x/a.mp4", "video_url_ttl": "3600", "video_type": "mp4"},
            {"video_url": "https://x/b.mp4", "video_url_ttl": 120},
            {"video_url": "https://x/c.mp4"},
        ],
        "audios": [{"audio_url": "https://x/a.wav", "audio_url_ttl": 60, "audio_type": "wav"}],
        "extra": {"seed": "123"},
    }
    result = TaskResult.from_payload(payload, "t1")
    assert [video.ttl_seconds for video in result.videos] == [3600, 120, 3600]
    assert result.seed == 123 and result.eta_seconds is None and result.progress_percent == 100
    assert result.audios[0].url == "https://x/a.wav"


# -- downloads --------------------------------------------------------------------------------


def finished_video_url(client: HighwayClient) -> tuple[str, str]:
    task_id = client.submit(make_request())
    result = wait_until_done(client, task_id)
    assert result.status is TaskStatus.SUCCEED
    return task_id, result.videos[0].url


def test_a_truncated_download_is_resumed_with_range(client: HighwayClient, highway, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    task_id, url = finished_video_url(client)
    whole = client.download(url, tmp_path / "whole.mp4").read_bytes()
    highway.faults.add("download", nth=2, kind="truncate")
    resumed = client.download(url, tmp_path / "resumed.mp4", task_id=task_id).read_bytes()
    assert resumed == whole
    assert highway.request_counts["download"] == 3
    assert highway.range_requests >= 1
    assert not list(tmp_path.glob("*.part"))


def test_a_reset_mid_download_is_resumed(client: HighwayClient, highway, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, url = finished_video_url(client)
    highway.faults.add("download", nth=1, kind="reset", at="body")
    clip = client.download(url, tmp_path / "clip.mp4")
    assert clip.read_bytes()[4:8] == b"ftyp"


def test_a_download_that_never_completes_leaves_nothing_behind(
    client: HighwayClient, highway, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    _, url = finished_video_url(client)
    highway.faults.add("download", kind="truncate")
    with pytest.raises(NetworkError, match=r"stopped at|broke off"):
        client.download(url, tmp_path / "clip.mp4")
    assert list(tmp_path.iterdir()) == []


def test_an_expired_url_is_a_clear_failure_naming_the_task(
    client: HighwayClient, highway, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    task_id, url = finished_video_url(client)
    highway.faults.add("download", kind="expired")
    with pytest.raises(ResultExpiredError) as caught:
        client.download(url, tmp_path / "clip.mp4", task_id=task_id)
    assert task_id in str(caught.value) and "expired" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_a_url_past_its_ttl_has_expired(highway, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    highway.ttl_seconds = 1
    with make_client(highway.base_url) as client:
        task_id, url = finished_video_url(client)
        time.sleep(1.2)
        with pytest.raises(ResultExpiredError):
            client.download(url, tmp_path / "clip.mp4", task_id=task_id)


def test_a_download_that_is_not_an_mp4_is_refused(serve_files: ServeFiles, tmp_path: Path) -> None:
    plain_file_server = serve_files({"not-a-video.mp4": b"<html>sign in to continue</html>" * 10})
    dest = tmp_path / "out" / "clip.mp4"
    with make_client(plain_file_server) as client, pytest.raises(InvalidMediaError):
        client.download(f"{plain_file_server}/not-a-video.mp4", dest)
    assert list(dest.parent.iterdir()) == []


def test_two_downloads_of_one_file_at_once_do_not_spoil_each_other(
    client: HighwayClient, highway, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # Two Blender processes fetching the clip of one task into one folder: the second one
    # runs to the end while the first is mid-transfer.
    task_id, url = finished_video_url(client)
    dest = tmp_path / f"{task_id}_0.mp4"
    other_done: list[Path] = []

    def meanwhile(received: int, total: int | None) -> None:
        if not other_done:
            with make_client(highway.base_url) as other:
                other_done.append(other.download(url, dest, task_id=task_id))

    first = client.download(url, dest, meanwhile, task_id=task_id)
    assert first == dest and other_done == [dest]
    assert dest.read_bytes()[4:8] == b"ftyp"
    assert dest.read_bytes() == client.download(url, tmp_path / "alone.mp4").read_bytes()
    assert not list(tmp_path.glob("*.part"))


def test_the_key_is_never_sent_to_file_hosts(client: HighwayClient, highway, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, url = finished_video_url(client)
    client.download(url, tmp_path / "clip.mp4")
    assert highway.last_download_headers.get("Authorization") is None


# -- the key never leaks, settings are checked -------------------------------------------------


def test_no_error_repr_or_log_line_contains_the_key(highway, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    errors: list[BaseException] = []
    with make_client(highway.base_url) as client:
        assert SECRET_KEY not in repr(client)
        for kind in ("401", "403", "no_balance", "400", "500", "reset"):
            highway.faults.clear()
            highway.faults.add("submit", kind=kind)
            with pytest.raises(VeoError) as caught:
                client.submit(make_request())
            errors.append(caught.value)
    for error in errors:
        assert_no_secret(error)
    assert SECRET_KEY not in caplog.text


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8765", "http://localhost:1", "http://[::1]:2", "https://api.x.ai"]
)
def test_plain_http_is_allowed_only_on_loopback(url: str) -> None:
    assert check_base_url(url + "/") == url


@pytest.mark.parametrize(
    "url", ["http://api.highwayapi.ai", "http://192.168.1.5:80", "ftp://x", "api.highwayapi.ai"]
)
def test_other_base_urls_are_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="base_url"):
        check_base_url(url)


# -- the shared rate limiter -------------------------------------------------------------


def test_the_rate_limiter_holds_requests_beyond_the_limit() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(3, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        limiter.acquire()
    assert slept == []
    limiter.acquire()  # the 4th request in the same minute waits for the window to move
    assert now[0] >= 60.0


def test_all_clients_share_one_process_wide_limiter() -> None:
    first = HighwayClient("k", "http://127.0.0.1:9")
    second = HighwayClient("k", "http://127.0.0.1:9")
    assert first._limiter is second._limiter is shared_rate_limiter()
    assert RateLimiter().requests_per_minute == 50  # the service's documented limit


def test_the_shared_limit_changes_only_when_a_client_is_made_with_one() -> None:
    shared = shared_rate_limiter()
    before = shared.requests_per_minute
    try:
        settings = ClientSettings(requests_per_minute=7)
        assert shared.requests_per_minute == before  # building settings changes nothing
        HighwayClient("k", "http://127.0.0.1:9", settings=settings).close()
        assert shared.requests_per_minute == 7
        HighwayClient("k", "http://127.0.0.1:9").close()  # no limit given: left as it is
        assert shared.requests_per_minute == 7
        assert ratelimit.configure(12) is shared and shared.requests_per_minute == 12
    finally:
        shared.requests_per_minute = before

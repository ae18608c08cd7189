"""The local server speaks the Highway protocol: paths, auth, validation, lifecycle, JSON shapes."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from localserver import LocalHighway
from localserver.validation import validate_submit
from tests.server.highway_helpers import (
    AUTH,
    FIRST_COLOUR,
    LAST_COLOUR,
    assert_error_body,
    bare,
    data_uri,
    generate,
    image_bytes,
    result,
    submit,
    submit_body,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_submit_answers_a_task_id_and_records_the_body(highway: LocalHighway) -> None:
    body = submit_body(prompt="sunrise to sunset")
    response = httpx.post(highway.submit_url, json=body, headers=AUTH)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert set(response.json()) == {"task_id"}
    assert isinstance(response.json()["task_id"], str)
    assert highway.submit_count == 1
    assert highway.last_submit_body == body
    assert highway.submit_bodies == [body]
    assert response.json()["task_id"] in highway.tasks


def test_stats_give_each_submit_body_size_as_uploaded(highway: LocalHighway) -> None:
    """The overhead bench compares the upload with the keyframes' own size (docs/performance.md #7)."""
    raw = json.dumps(submit_body(prompt="sunrise to sunset")).encode()
    httpx.post(highway.submit_url, content=raw, headers={**AUTH, "Content-Type": "application/json"})

    stats = httpx.get(f"{highway.base_url}/_control/stats").json()
    assert stats["submit_body_bytes"] == [len(raw)]


def test_finished_result_has_exactly_the_documented_shape(highway: LocalHighway) -> None:
    payload = generate(highway, seed=123)

    assert set(payload) == {"task", "videos", "images", "audios", "extra"}
    task = payload["task"]
    assert set(task) == {"task_id", "status", "reason", "task_type", "eta", "progress_percent"}
    assert task["status"] == "TASK_STATUS_SUCCEED"
    assert task["reason"] == ""
    assert task["progress_percent"] == 100
    assert task["eta"] == 0
    [video] = payload["videos"]
    assert set(video) == {"video_url", "video_url_ttl", "video_type"}
    assert video["video_url_ttl"] == "3600"  # a string, as the provider sends it
    assert video["video_type"] == "mp4"
    assert video["video_url"].startswith(highway.base_url + "/files/")
    assert payload["audios"] == []
    assert payload["extra"]["seed"] == "123"
    debug = payload["extra"]["debug_info"]
    for key in ("submit_time_ms", "execute_time_ms", "complete_time_ms"):
        assert isinstance(debug[key], str) and debug[key].isdigit()
    assert int(debug["submit_time_ms"]) <= int(debug["execute_time_ms"]) <= int(debug["complete_time_ms"])


def test_lifecycle_goes_queued_then_processing_with_progress_then_succeeds() -> None:
    with LocalHighway(gen_seconds=1.5) as server:
        task_id = submit(server)
        task = server.task(task_id)
        # The clock decides the status: check the queue phase without racing it.
        assert task.status_at(task.created_at + 0.01)[0] == "TASK_STATUS_QUEUED"

        seen: list[tuple[str, int, int]] = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            task_json = result(server, task_id).json()["task"]
            seen.append((task_json["status"], task_json["progress_percent"], task_json["eta"]))
            if task_json["status"] == "TASK_STATUS_SUCCEED":
                break
            time.sleep(0.1)

    statuses = [status for status, _, _ in seen]
    assert statuses[-1] == "TASK_STATUS_SUCCEED"
    processing = [(progress, eta) for status, progress, eta in seen if status == "TASK_STATUS_PROCESSING"]
    assert len(processing) >= 3
    progresses = [progress for progress, _ in processing]
    assert progresses == sorted(progresses)
    assert progresses[-1] > progresses[0]
    assert all(0 <= progress < 100 for progress in progresses)
    assert all(eta >= 1 for _, eta in processing)
    assert processing[-1][1] <= processing[0][1]
    # Once past the queue, never back to QUEUED.
    first_processing = statuses.index("TASK_STATUS_PROCESSING")
    assert "TASK_STATUS_QUEUED" not in statuses[first_processing:]


def test_seed_defaults_to_a_random_value_reported_as_a_string(highway: LocalHighway) -> None:
    seeds = set()
    for _ in range(2):
        task_id = submit(highway, seed=None)
        seed_text = result(highway, task_id).json()["extra"]["seed"]
        assert isinstance(seed_text, str)
        assert 0 <= int(seed_text) <= 4_294_967_295
        seeds.add(seed_text)
    assert len(seeds) == 2
    assert "seed" not in highway.last_submit_body


def test_unknown_task_is_404_and_missing_task_id_is_400(highway: LocalHighway) -> None:
    assert_error_body(result(highway, "no-such-task"), 404, "TASK_NOT_FOUND")
    missing = httpx.get(f"{highway.base_url}/v3/async/task-result", headers=AUTH)
    assert_error_body(missing, 400, "INVALID_REQUEST_BODY")


def test_missing_or_malformed_authorization_is_401(highway: LocalHighway) -> None:
    no_header = httpx.post(highway.submit_url, json=submit_body())
    assert_error_body(no_header, 401, "FAILED_TO_AUTH")
    not_bearer = httpx.post(highway.submit_url, json=submit_body(), headers={"Authorization": "Basic abc"})
    assert_error_body(not_bearer, 401, "FAILED_TO_AUTH")
    assert_error_body(httpx.get(f"{highway.base_url}/v3/async/task-result?task_id=x"), 401, "FAILED_TO_AUTH")
    assert highway.submit_count == 0


def test_a_configured_key_refuses_any_other_key_with_403() -> None:
    with LocalHighway(gen_seconds=0.5, api_key="right-key") as server:
        wrong = httpx.post(server.submit_url, json=submit_body(), headers={"Authorization": "Bearer wrong"})
        assert_error_body(wrong, 403, "INVALID_API_KEY")
        assert server.submit_count == 0
        right = httpx.post(
            server.submit_url, json=submit_body(), headers={"Authorization": "Bearer right-key"}
        )
        assert right.status_code == 200
        assert server.submit_count == 1


PNG = image_bytes(FIRST_COLOUR)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"image": None}, "image"),
        ({"last_image": None}, "last_image"),
        ({"prompt": None}, "prompt"),
        ({"prompt": "   "}, "prompt"),
        ({"resolution": "480p"}, "resolution"),
        ({"aspect_ratio": "4:3"}, "aspect_ratio"),
        ({"person_generation": "everyone"}, "person_generation"),
        ({"duration_seconds": 5}, "duration_seconds"),
        ({"duration_seconds": "8"}, "duration_seconds"),
        ({"seed": -1}, "seed"),
        ({"seed": 4_294_967_296}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"sample_count": 0}, "sample_count"),
        ({"sample_count": 5}, "sample_count"),
        ({"generate_audio": "yes"}, "generate_audio"),
        ({"enhance_prompt": 1}, "enhance_prompt"),
        ({"resolution": "1080p", "duration_seconds": 4}, "1080p"),
        ({"resolution": "1080p", "duration_seconds": 6}, "1080p"),
        ({"image": "!!! not base64 !!!"}, "image"),
        ({"last_image": data_uri(b"GIF89a" + b"\x00" * 64, "image/gif")}, "last_image"),
        ({"image": data_uri(PNG[: len(PNG) // 2])}, "image"),
        ({"image": "https://example.com/frame.png"}, "remote URL"),
    ],
)
def test_each_validation_rule_answers_400_naming_the_field(
    highway: LocalHighway, overrides: dict, field: str
) -> None:
    body = submit_body(**overrides)
    for name, value in overrides.items():
        if value is None:
            body.pop(name, None)
    response = httpx.post(highway.submit_url, json=body, headers=AUTH)

    error = assert_error_body(response, 400, "INVALID_REQUEST_BODY")
    assert field in error["message"]
    assert highway.submit_count == 0


def test_an_image_over_20_megabytes_is_refused(highway: LocalHighway) -> None:
    oversized = PNG + b"\x00" * (20 * 1024 * 1024)
    response = httpx.post(highway.submit_url, json=submit_body(image=bare(oversized)), headers=AUTH)
    error = assert_error_body(response, 400, "INVALID_REQUEST_BODY")
    assert "image" in error["message"] and "20 MB" in error["message"]


def test_body_that_is_not_json_or_not_declared_json_is_400(highway: LocalHighway) -> None:
    headers = {**AUTH, "Content-Type": "application/json"}
    not_json = httpx.post(highway.submit_url, content=b"{not json", headers=headers)
    assert_error_body(not_json, 400, "INVALID_REQUEST_BODY")
    wrong_type = httpx.post(highway.submit_url, content=b"{}", headers={**AUTH, "Content-Type": "text/plain"})
    assert "Content-Type" in assert_error_body(wrong_type, 400, "INVALID_REQUEST_BODY")["message"]
    assert highway.submit_bodies[0] == "{not json"
    assert highway.submit_count == 0


def test_1080p_is_accepted_with_eight_seconds() -> None:
    params = validate_submit(submit_body(resolution="1080p", duration_seconds=8, aspect_ratio="9:16"))
    assert (params.resolution, params.duration_seconds, params.aspect_ratio) == ("1080p", 8, "9:16")


def test_defaults_follow_the_provider_page() -> None:
    minimal = {"image": data_uri(PNG), "last_image": bare(PNG), "prompt": "x"}
    params = validate_submit(minimal)
    assert params.resolution == "720p"
    assert params.aspect_ratio == "16:9"
    assert params.duration_seconds == 8
    assert params.sample_count == 1
    assert params.enhance_prompt is True
    assert params.generate_audio is False
    assert params.person_generation == "allow_adult"
    assert params.seed_was_given is False


def test_both_base64_forms_and_jpeg_are_accepted_by_default(highway: LocalHighway) -> None:
    jpeg = image_bytes(LAST_COLOUR, fmt="JPEG")
    for first, last in [(data_uri(PNG), bare(jpeg)), (bare(PNG), data_uri(jpeg, "image/jpeg"))]:
        response = httpx.post(
            highway.submit_url, json=submit_body(image=first, last_image=last), headers=AUTH
        )
        assert response.status_code == 200, response.text
    assert highway.submit_count == 2


@pytest.mark.parametrize(
    ("accepted_form", "refused_value", "good_value"),
    [("data_uri", bare(PNG), data_uri(PNG)), ("bare", data_uri(PNG), bare(PNG))],
)
def test_server_can_accept_only_one_base64_form(
    accepted_form: str, refused_value: str, good_value: str
) -> None:
    with LocalHighway(gen_seconds=0.5, base64_form=accepted_form) as server:
        refused = httpx.post(
            server.submit_url, json=submit_body(image=refused_value, last_image=refused_value), headers=AUTH
        )
        assert "image" in assert_error_body(refused, 400, "INVALID_REQUEST_BODY")["message"]
        assert server.submit_count == 0
        accepted = httpx.post(
            server.submit_url, json=submit_body(image=good_value, last_image=good_value), headers=AUTH
        )
        assert accepted.status_code == 200
        assert server.submit_count == 1
        assert [body["image"] for body in server.submit_bodies] == [refused_value, good_value]


@pytest.fixture
def image_host() -> Iterator[str]:
    """A second loopback server that serves one PNG at /frame.png."""

    class Serve(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(PNG)))
            self.end_headers()
            self.wfile.write(PNG)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Serve)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/frame.png"
    server.shutdown()
    server.server_close()


def test_loopback_image_urls_are_fetched(highway: LocalHighway, image_host: str) -> None:
    task_id = submit(highway, image=image_host, last_image=image_host.replace("127.0.0.1", "localhost"))
    params = highway.task(task_id).params
    assert params.image.data == PNG
    assert params.image.source_form == "url"


def test_unknown_paths_are_404_and_wrong_methods_405(highway: LocalHighway) -> None:
    assert_error_body(httpx.get(f"{highway.base_url}/v3/async/other", headers=AUTH), 404, "NOT_FOUND")
    assert httpx.get(highway.submit_url, headers=AUTH).status_code == 405
    assert httpx.post(f"{highway.base_url}/v3/async/task-result", headers=AUTH).status_code == 405
    assert_error_body(httpx.get(f"{highway.base_url}/files/nope/x_0.mp4"), 404, "NOT_FOUND")


def test_request_counts_per_endpoint(highway: LocalHighway) -> None:
    httpx.post(highway.submit_url, json=submit_body(prompt=None), headers=AUTH)  # refused: counted, no task
    task_id = submit(highway)
    result(highway, task_id)
    result(highway, task_id)
    counts = highway.request_counts
    assert (counts["submit"], counts["result"], counts["download"]) == (2, 2, 0)
    assert highway.submit_count == 1


def test_control_endpoints_add_list_and_clear_faults(highway: LocalHighway) -> None:
    added = httpx.post(f"{highway.base_url}/_control/faults", json={"spec": "result#1=503"})
    assert added.status_code == 200
    assert added.json()["faults"][0]["kind"] == "503"
    added = httpx.post(
        f"{highway.base_url}/_control/faults",
        json={"endpoint": "result", "nth": 2, "kind": "429", "params": {"retry_after": 3}},
    )
    assert len(added.json()["faults"]) == 2
    bad = httpx.post(f"{highway.base_url}/_control/faults", json={"endpoint": "result", "kind": "explode"})
    assert_error_body(bad, 400, "INVALID_REQUEST_BODY")

    assert result(highway, "x").status_code == 503
    second = result(highway, "x")
    assert second.status_code == 429 and second.headers["Retry-After"] == "3"
    assert result(highway, "x").status_code == 404

    stats = httpx.get(f"{highway.base_url}/_control/stats").json()
    assert stats["requests"]["result"] == 3
    assert stats["submit_count"] == 0
    assert [fault["hits"] for fault in stats["faults"]] == [1, 1]

    assert httpx.delete(f"{highway.base_url}/_control/faults").json() == {"faults": []}
    assert len(highway.faults) == 0


def test_module_runs_in_the_foreground_prints_its_url_and_never_logs_the_key() -> None:
    env = {
        **os.environ,
        "PORT": "0",
        "GEN_SECONDS": "1",
        "FAULTS": "result#1=500",
        "PYTHONPATH": str(REPO_ROOT),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "localserver"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        secret = {"Authorization": "Bearer very-secret-key-42"}
        faulted = httpx.get(f"{base_url}/v3/async/task-result?task_id=x", headers=secret)
        assert faulted.status_code == 500
        assert httpx.get(f"{base_url}/v3/async/task-result?task_id=x", headers=secret).status_code == 404
        stats = httpx.get(f"{base_url}/_control/stats").json()
        assert stats["requests"]["result"] == 2
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "task-result" in stderr  # requests are logged...
    assert "very-secret-key-42" not in stderr  # ...but never the key


def test_bad_faults_variable_exits_with_a_message() -> None:
    env = {**os.environ, "PORT": "0", "FAULTS": "result#1=explode", "PYTHONPATH": str(REPO_ROOT)}
    completed = subprocess.run(
        [sys.executable, "-m", "localserver"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert completed.returncode == 2
    assert "explode" in completed.stderr


def test_data_uri_decoding_keeps_the_exact_bytes() -> None:
    params = validate_submit(submit_body(image=data_uri(PNG), last_image=base64.b64encode(PNG).decode()))
    assert params.image.data == PNG == params.last_image.data
    assert (params.image.source_form, params.last_image.source_form) == ("data_uri", "bare")

"""The clips the local server delivers: real H.264 MP4s that run from the first keyframe to the last."""

from __future__ import annotations

import time
from fractions import Fraction

import httpx
import numpy as np

from localserver import LocalHighway
from localserver.video import ClipSpec, encode_clip
from tests.server.highway_helpers import (
    AUTH,
    FIRST_COLOUR,
    LAST_COLOUR,
    assert_error_body,
    banded_square_png,
    data_uri,
    decoded_frames,
    download,
    generate,
    image_bytes,
    mean_colour,
    open_mp4,
    result,
    submit,
)

COLOUR_TOLERANCE = 6.0


def assert_colour_close(frame: np.ndarray, colour: tuple[int, int, int]) -> None:
    difference = np.abs(mean_colour(frame) - np.array(colour, dtype=np.float64))
    assert difference.max() <= COLOUR_TOLERANCE, f"frame colour {mean_colour(frame)} is not {colour}"


def test_clip_is_h264_720p_24fps_with_the_right_frame_count_and_keyframes(highway: LocalHighway) -> None:
    # Square keyframes with coloured bands: the 16:9 centre crop must cut the bands off.
    payload = generate(
        highway,
        image=data_uri(banded_square_png(FIRST_COLOUR)),
        last_image=data_uri(banded_square_png(LAST_COLOUR)),
    )
    data = download(payload["videos"][0]["video_url"])

    assert data[4:8] == b"ftyp"
    with open_mp4(data) as container:
        assert [stream.type for stream in container.streams] == ["video"]  # no audio unless asked
        video = container.streams.video[0]
        assert video.codec_context.name == "h264"
        assert (video.width, video.height) == (1280, 720)
        assert video.average_rate == Fraction(24)
        assert video.format.name == "yuv420p"
    frames = decoded_frames(data)
    assert len(frames) == 4 * 24
    assert_colour_close(frames[0], FIRST_COLOUR)
    assert_colour_close(frames[-1], LAST_COLOUR)
    # The middle of the clip is a mix of both, not either keyframe.
    middle = mean_colour(frames[len(frames) // 2])
    assert FIRST_COLOUR[2] + 20 < middle[2] < LAST_COLOUR[2] - 20


def test_portrait_clip_with_audio_has_an_aac_track_of_the_same_length(highway: LocalHighway) -> None:
    payload = generate(highway, aspect_ratio="9:16", generate_audio=True, duration_seconds=4)
    data = download(payload["videos"][0]["video_url"])

    with open_mp4(data) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0]
        assert (video.width, video.height) == (720, 1280)
        assert audio.codec_context.name == "aac"
        audio_seconds = float(audio.duration * audio.time_base)
        assert abs(audio_seconds - 4.0) < 0.1
        samples = np.concatenate([frame.to_ndarray().ravel() for frame in container.decode(audio=0)])
    assert np.abs(samples).max() > 0.05  # an audible tone, not silence
    frames = decoded_frames(data)
    assert len(frames) == 96
    assert_colour_close(frames[0], FIRST_COLOUR)
    assert_colour_close(frames[-1], LAST_COLOUR)
    assert payload["audios"] == []  # the audio travels inside the MP4


def test_separate_audio_entries_can_be_switched_on() -> None:
    with LocalHighway(gen_seconds=0.3, audio_entries=True) as server:
        payload = generate(server, generate_audio=True)
        [audio] = payload["audios"]
        assert set(audio) == {"audio_url", "audio_url_ttl", "audio_type"}
        assert audio["audio_type"] == "wav" and audio["audio_url_ttl"] == "3600"
        wav = download(audio["audio_url"])
    assert wav[:4] == b"RIFF" and wav[8:12] == b"WAVE"


def test_each_sample_is_a_different_clip_between_the_same_keyframes(highway: LocalHighway) -> None:
    payload = generate(highway, sample_count=2, seed=7)
    clips = [download(video["video_url"]) for video in payload["videos"]]

    assert len(clips) == 2
    assert clips[0] != clips[1]
    first_frames, second_frames = decoded_frames(clips[0]), decoded_frames(clips[1])
    for frames in (first_frames, second_frames):
        assert_colour_close(frames[0], FIRST_COLOUR)
        assert_colour_close(frames[-1], LAST_COLOUR)
    # Visibly different in the middle, not just different bytes.
    middle = len(first_frames) // 2
    difference = np.abs(first_frames[middle].astype(int) - second_frames[middle].astype(int))
    assert difference.max() > 40


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(highway: LocalHighway) -> None:
    first_task, second_task, other_task = (submit(highway, seed=seed) for seed in (99, 99, 100))
    clips = []
    for task_id in (first_task, second_task, other_task):
        highway.wait_for_task(task_id)
        clips.append(download(result(highway, task_id).json()["videos"][0]["video_url"]))

    assert clips[0] == clips[1]
    assert clips[0] != clips[2]


def test_encoder_fits_keyframes_of_any_shape_to_1080p_portrait() -> None:
    from PIL import Image

    first, last = Image.new("RGB", (300, 200), FIRST_COLOUR), Image.new("RGB", (200, 300), LAST_COLOUR)
    spec = ClipSpec(width=1080, height=1920, duration_seconds=4, seed=5)
    data = encode_clip(first, last, spec)
    with open_mp4(data) as container:
        video = container.streams.video[0]
        assert (video.width, video.height, video.frames) == (1080, 1920, 96)


def test_range_request_resumes_a_download(highway: LocalHighway) -> None:
    url = generate(highway)["videos"][0]["video_url"]
    whole = httpx.get(url)
    assert whole.status_code == 200
    assert whole.headers["Content-Length"] == str(len(whole.content))
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert whole.headers["Content-Type"] == "video/mp4"

    offset = len(whole.content) // 3
    rest = httpx.get(url, headers={"Range": f"bytes={offset}-"})
    assert rest.status_code == 206
    assert rest.headers["Content-Range"] == f"bytes {offset}-{len(whole.content) - 1}/{len(whole.content)}"
    assert rest.headers["Content-Length"] == str(len(whole.content) - offset)
    assert whole.content[:offset] + rest.content == whole.content

    middle = httpx.get(url, headers={"Range": "bytes=10-19"})
    assert middle.status_code == 206 and middle.content == whole.content[10:20]

    beyond = httpx.get(url, headers={"Range": f"bytes={len(whole.content)}-"})
    assert beyond.status_code == 416
    assert beyond.headers["Content-Range"] == f"bytes */{len(whole.content)}"

    head = httpx.head(url)
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(whole.content))


def test_download_urls_expire_after_the_ttl() -> None:
    with LocalHighway(gen_seconds=0.3, ttl_seconds=1, ttl_as="integer") as server:
        task_id = submit(server)
        server.wait_for_task(task_id)
        video = result(server, task_id).json()["videos"][0]
        assert video["video_url_ttl"] == 1  # the integer form some responses use
        assert httpx.get(video["video_url"]).status_code == 200
        time.sleep(1.1)
        assert_error_body(httpx.get(video["video_url"]), 403, "URL_EXPIRED")


def test_expire_urls_makes_a_finished_task_s_links_answer_403(highway: LocalHighway) -> None:
    url = generate(highway)["videos"][0]["video_url"]
    highway.expire_urls()
    assert_error_body(httpx.get(url), 403, "URL_EXPIRED")


def test_videos_appear_only_once_the_task_succeeded() -> None:
    with LocalHighway(gen_seconds=2.0) as server:
        task_id = submit(server)
        early = result(server, task_id).json()
        assert early["task"]["status"] in ("TASK_STATUS_QUEUED", "TASK_STATUS_PROCESSING")
        assert early["videos"] == []
        token = server.task(task_id).token
        # Guessing the file path before success finds nothing.
        assert httpx.get(f"{server.base_url}/files/{token}/{task_id}_0.mp4").status_code == 404


def test_jpeg_keyframes_work_too(highway: LocalHighway) -> None:
    jpeg_first = image_bytes(FIRST_COLOUR, size=(1280, 720), fmt="JPEG")
    jpeg_last = image_bytes(LAST_COLOUR, size=(1280, 720), fmt="JPEG")
    response = httpx.post(
        highway.submit_url,
        json={
            "image": data_uri(jpeg_first, "image/jpeg"),
            "last_image": data_uri(jpeg_last, "image/jpeg"),
            "prompt": "fade",
            "duration_seconds": 4,
        },
        headers=AUTH,
    )
    assert response.status_code == 200
    task_id = response.json()["task_id"]
    highway.wait_for_task(task_id)
    frames = decoded_frames(download(result(highway, task_id).json()["videos"][0]["video_url"]))
    assert_colour_close(frames[0], FIRST_COLOUR)
    assert_colour_close(frames[-1], LAST_COLOUR)


def test_download_requests_are_recorded_without_the_key(highway: LocalHighway) -> None:
    url = generate(highway)["videos"][0]["video_url"]
    httpx.get(url)
    assert highway.last_download_headers.get("Authorization") is None  # not needed, and none was sent
    assert highway.range_requests == 0
    httpx.get(url, headers={"Range": "bytes=5-", "Authorization": "Bearer secret-value"})
    assert highway.range_requests == 1
    assert highway.last_download_headers["authorization"] == "<redacted>"
    assert "secret-value" not in repr(highway.last_download_headers)

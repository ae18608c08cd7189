"""Figures #3 (download) and #4 (request economy), against the local server in its own process.

python tools/bench/network.py [--runs 3] [--only download|requests]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from common import MB, emit, figure, median, server_process, small_request, stats

from veo_addon.core.client import ClientSettings, HighwayClient
from veo_addon.core.delivery import PollPolicy
from veo_addon.core.job import Job, JobState
from veo_addon.core.runner import JobRunner

COMMAND = "make bench (python tools/bench/network.py)"
KEY = "bench-key"


def finished_url(client: HighwayClient, task_id: str) -> str:
    while True:
        result = client.task_result(task_id)
        if result.status.is_terminal:
            return result.videos[0].url
        time.sleep(0.2)


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class PeakMemory:
    """The process's resident memory, sampled every 5 ms while the block runs."""

    def __enter__(self) -> PeakMemory:
        self.baseline = rss_bytes()
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss_bytes())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


def download_figures(runs: int, size_mb: int) -> list[dict]:
    with (
        server_process(GEN_SECONDS="0.5", CLIP_BYTES=str(size_mb * MB)) as base_url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        client = HighwayClient(KEY, base_url)
        url = finished_url(client, client.submit(small_request()))
        folder = Path(tmp)
        ratios, client_rates, curl_rates, growths, cpu_per_mb = [], [], [], [], []

        def by_curl() -> float:
            started = time.perf_counter()
            subprocess.run(["curl", "-sS", "-o", str(folder / "curl.mp4"), url], check=True)
            seconds = time.perf_counter() - started
            (folder / "curl.mp4").unlink()
            return seconds

        for run in range(runs):
            # Alternate who goes first: on a shared machine the first of a pair is often the luckier.
            curl_seconds = by_curl() if run % 2 == 0 else 0.0
            with PeakMemory() as memory:
                started, cpu_started = time.perf_counter(), time.process_time()
                client.download(url, folder / f"clip{run}.mp4", on_progress=lambda received, total: None)
                client_seconds = time.perf_counter() - started
                cpu_seconds = time.process_time() - cpu_started
            (folder / f"clip{run}.mp4").unlink()
            if run % 2 == 1:
                curl_seconds = by_curl()
            client_rates.append(size_mb / client_seconds)
            curl_rates.append(size_mb / curl_seconds)
            ratios.append(curl_seconds / client_seconds)
            growths.append(memory.growth / MB)
            cpu_per_mb.append(cpu_seconds * 1000 / size_mb)
            print(
                f"  download run {run + 1}: client {size_mb / client_seconds:.0f} MB/s "
                f"({cpu_seconds * 1000 / size_mb:.2f} ms CPU per MB), curl "
                f"{size_mb / curl_seconds:.0f} MB/s, memory +{memory.growth / MB:.1f} MB"
            )
        client.close()
    note = (
        f"{size_mb} MB file over loopback; median of {runs} runs, each ratio from one run, "
        f"curl and the client taking turns to go first; the client used "
        f"{median(cpu_per_mb):.2f} ms of CPU per MB (the rest is waiting on the server process)"
    )
    return [
        figure(
            "#3 download throughput vs curl",
            median(ratios),
            "ratio",
            ">= 0.9",
            (
                f"curl on the same URL, same run (client {median(client_rates):.0f} "
                f"MB/s, curl {median(curl_rates):.0f} MB/s)"
            ),
            COMMAND,
            note=note,
        ),
        figure(
            "#3 peak memory growth while downloading",
            median(growths),
            "MB",
            "< 32 MB",
            f"the process's resident memory before the download of a {size_mb} MB file",
            COMMAND,
            note=note,
        ),
    ]


def run_jobs(base_url: str, count: int, folder: Path, seconds: float) -> list[Job]:
    """`count` jobs started together, each as the add-on runs it (JobRunner, default poll policy)."""
    settings = ClientSettings(requests_per_minute=50)
    runners = []
    for index in range(count):
        job = Job.new(scene_name="Scene", frame_start=1, frame_end=50, channel=1, base_url=base_url)
        runners.append(
            JobRunner(
                job,
                lambda: HighwayClient(KEY, base_url, settings=settings),
                None,
                folder,
                lambda index=index: small_request(seed=index + 1, duration=4),
                poll_policy=PollPolicy(),
            ).start()
        )
    for runner in runners:
        runner.wait(seconds)
    jobs = [runner.job for runner in runners]
    bad = [job for job in jobs if job.state is not JobState.DOWNLOADED]
    if bad:
        raise RuntimeError(f"bench: {len(bad)} jobs did not finish: {bad[0].message}")
    return jobs


def request_figures() -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp, server_process(GEN_SECONDS="60") as base_url:
        run_jobs(base_url, 1, Path(tmp), 120)
        counts = stats(base_url)["requests"]
        per_job = counts["submit"] + counts["result"] + counts["download"]
        print(f"  60 s generation: {counts}")
    with (
        tempfile.TemporaryDirectory() as tmp,
        server_process(GEN_SECONDS="5", REQUESTS_PER_MINUTE="50") as base_url,
    ):
        started = time.monotonic()
        run_jobs(base_url, 20, Path(tmp), 400)
        batch = stats(base_url)
        print(
            f"  batch of 20 in {time.monotonic() - started:.0f} s: "
            f"{batch['requests']}, 429s: {batch['rate_limited']}"
        )
    return [
        figure(
            "#4 requests per job, 60 s generation",
            per_job,
            "requests",
            "(read it)",
            "submit + task-result + download requests the server received",
            COMMAND,
        ),
        figure(
            "#4 429 answers in a batch of 20 jobs",
            batch["rate_limited"],
            "answers",
            "0",
            "a server enforcing 50 requests a minute (5 s generations)",
            COMMAND,
            note=f"{batch['requests']['result']} polls, {batch['requests']['submit']} submits",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--download-runs", type=int, default=7, help="the download is the noisiest figure")
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--only", choices=("download", "requests"))
    arguments = parser.parse_args()
    figures = []
    if arguments.only in (None, "download"):
        figures += download_figures(arguments.download_runs, arguments.size_mb)
    if arguments.only in (None, "requests"):
        figures += request_figures()
    emit(figures)


if __name__ == "__main__":
    main()

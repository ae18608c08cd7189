"""Figures #3 (download) and #4 (request economy), against the local server in its own process.

python tools/bench/network.py [--runs 3] [--download-runs 15] [--size-mb 500] [--only download|requests]
"""

from __future__ import annotations

import argparse
import os
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


def timed_curl(url: str, dest: Path) -> tuple[float, float]:
    """(seconds, CPU seconds) of curl with its defaults fetching `url` into `dest`. The seconds are
    curl's own time_total, from the start of the transfer to its end: as the client's are timed,
    neither side pays for starting a process."""
    cpu_before = os.times()
    done = subprocess.run(
        ["curl", "-sS", "-o", str(dest), "-w", "%{time_total}", url],
        check=True,
        capture_output=True,
        text=True,
    )
    cpu_after = os.times()
    cpu = (cpu_after.children_user - cpu_before.children_user) + (
        cpu_after.children_system - cpu_before.children_system
    )
    return float(done.stdout.strip().replace(",", ".")), cpu


def timed_client(client: HighwayClient, url: str, dest: Path) -> tuple[float, float]:
    """(seconds, CPU seconds) of one HighwayClient.download, as a job runs it (progress reported)."""
    started, cpu_started = time.perf_counter(), time.process_time()
    client.download(url, dest, on_progress=lambda received, total: None)
    return time.perf_counter() - started, time.process_time() - cpu_started


def download_figures(runs: int, size_mb: int) -> list[dict]:
    """Client and curl take turns on the same URL, writing into the same folder; every file is
    deleted before the next transfer and the page cache is synced, so neither side pays for the
    other's writeback. Memory is sampled in a download of its own: the 5 ms sampler would slow
    the client's timed runs."""
    load_before = os.getloadavg()
    with (
        server_process(GEN_SECONDS="0.5", CLIP_BYTES=str(size_mb * MB)) as base_url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        client = HighwayClient(KEY, base_url)
        url = finished_url(client, client.submit(small_request()))
        folder = Path(tmp)
        curl_file, client_file = folder / "curl.mp4", folder / "client.mp4"

        server_cpu: list[float] = []

        def measure(side: str) -> tuple[float, float]:
            os.sync()
            server_cpu_before = stats(base_url)["process_cpu_seconds"]
            if side == "curl":
                seconds, cpu = timed_curl(url, curl_file)
                curl_file.unlink()
            else:
                seconds, cpu = timed_client(client, url, client_file)
                client_file.unlink()
            server_cpu.append((stats(base_url)["process_cpu_seconds"] - server_cpu_before) * 1000 / size_mb)
            return seconds, cpu

        measure("curl"), measure("client")  # warm-up: the server's pages, the pooled connection
        growths = []
        for _ in range(3):
            with PeakMemory() as memory:
                client.download(url, client_file, on_progress=lambda received, total: None)
            client_file.unlink()
            growths.append(memory.growth / MB)

        ratios, client_rates, curl_rates, client_cpu, curl_cpu = [], [], [], [], []
        for run in range(runs):
            # Alternate who goes first: on a shared machine the first of a pair is often the luckier.
            order = ("curl", "client") if run % 2 == 0 else ("client", "curl")
            timings = {side: measure(side) for side in order}
            (client_seconds, client_cpu_seconds), (curl_seconds, curl_cpu_seconds) = (
                timings["client"],
                timings["curl"],
            )
            client_rates.append(size_mb / client_seconds)
            curl_rates.append(size_mb / curl_seconds)
            ratios.append(curl_seconds / client_seconds)
            client_cpu.append(client_cpu_seconds * 1000 / size_mb)
            curl_cpu.append(curl_cpu_seconds * 1000 / size_mb)
            print(
                f"  download run {run + 1} ({order[0]} first): client {client_rates[-1]:.0f} MB/s "
                f"({client_cpu[-1]:.2f} ms CPU per MB), curl {curl_rates[-1]:.0f} MB/s "
                f"({curl_cpu[-1]:.2f} ms CPU per MB), ratio {ratios[-1]:.2f}"
            )
        client.close()
    load_after = os.getloadavg()
    print(
        f"  ratios {sorted(round(ratio, 2) for ratio in ratios)}, memory +{max(growths):.2f} MB at most, "
        f"server CPU per MB {median(server_cpu):.2f} ms"
    )
    note = (
        f"{size_mb} MB file over loopback from the local server (its own process) into one folder; "
        f"median of {runs} runs, each ratio from one run, curl and the client taking turns to go "
        f"first; curl timed by its own time_total; CPU per MB: client {median(client_cpu):.2f} ms, "
        f"curl {median(curl_cpu):.2f} ms, the server {median(server_cpu):.2f} ms; "
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after"
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
            runs=[round(ratio, 3) for ratio in ratios],
            # Steadier than the times on a loaded machine: what each side spends per MB, medians.
            cpu_ms_per_mb={
                "client": round(median(client_cpu), 3),
                "curl": round(median(curl_cpu), 3),
                "server": round(median(server_cpu), 3),
            },
        ),
        figure(
            "#3 peak memory growth while downloading",
            median(growths),
            "MB",
            "< 32 MB",
            f"the process's resident memory before the download of a {size_mb} MB file",
            COMMAND,
            note=f"median of {len(growths)} downloads sampled every 5 ms, apart from the timed runs",
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
    parser.add_argument("--download-runs", type=int, default=15, help="the download is the noisiest figure")
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

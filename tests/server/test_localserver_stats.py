"""The control endpoint's stats carry the server's CPU time: the download bench weighs what serving
a file costs the two cores the server shares with the client and curl."""

from __future__ import annotations

import time

import httpx

from localserver import LocalHighway


def test_stats_report_the_servers_cpu_time_which_grows_with_work(highway: LocalHighway) -> None:
    url = highway.base_url + "/_control/stats"
    before = httpx.get(url).json()["process_cpu_seconds"]
    spent = time.process_time() + 0.05  # the server runs in this process here: burn some CPU
    while time.process_time() < spent:
        pass
    after = httpx.get(url).json()["process_cpu_seconds"]
    assert isinstance(before, float)
    assert after - before >= 0.05

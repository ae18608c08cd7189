"""Test Connection's question to the service (core/connection.py), over real HTTP: a result
request for a task that cannot exist tells an accepted key from a refused one and from a
service that is not there, and never submits anything."""

from __future__ import annotations

import socket

from localserver import LocalHighway
from veo_addon.core.connection import check_connection

KEY = "sk_test_Conn3ct1onCheck9Xq2Lr7"


def test_an_accepted_key_is_told_apart_by_the_404_for_a_task_that_cannot_exist() -> None:
    with LocalHighway(gen_seconds=0.5, api_key=KEY) as server:
        verdict = check_connection(KEY, server.base_url)
        assert verdict.accepted, verdict.line
        assert verdict.line == f"Connected to {server.base_url}: the API key was accepted"
        assert server.submit_count == 0
        assert server.request_counts["result"] == 1


def test_a_wrong_key_is_refused_with_403_and_the_key_is_not_repeated() -> None:
    with LocalHighway(gen_seconds=0.5, api_key=KEY) as server:
        verdict = check_connection("sk_test_WrongKeyWrongKey", server.base_url)
        assert not verdict.accepted
        assert "API key has no access (HTTP 403 INVALID_API_KEY" in verdict.line, verdict.line
        assert "WrongKey" not in verdict.line
        assert server.submit_count == 0


def test_a_401_says_the_key_was_refused(highway: LocalHighway) -> None:
    highway.faults.add("result", kind="401")
    verdict = check_connection(KEY, highway.base_url)
    assert not verdict.accepted
    assert verdict.line.startswith("The API key was refused (HTTP 401"), verdict.line
    assert KEY not in verdict.line
    assert highway.request_counts["result"] == 1  # one try: no retry loop behind the button


def test_a_service_that_is_not_there_is_named_without_waiting_for_retries() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    verdict = check_connection(KEY, base_url)
    assert not verdict.accepted
    assert verdict.line.startswith(f"Could not reach {base_url}: "), verdict.line
    assert "veo-connection-test" not in verdict.line  # the made-up task is no business of the user's

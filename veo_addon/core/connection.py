"""Test Connection: ask the service about a task that cannot exist, and read its answer.

The result endpoint needs the key but creates nothing, so it costs nothing: 404 (no such
task) means the key was accepted, 401/403 that it was refused, a transport error that the
service could not be reached. One attempt, short timeouts: the user is waiting for a yes or no.
Runs in a worker thread (never on Blender's main thread); no bpy here.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from .client import ClientSettings, HighwayClient
from .errors import AuthenticationError, InsufficientBalanceError, NetworkError, TaskNotFoundError, VeoError
from .retry import RetryPolicy

# One try and a short wait: a retry loop would leave the user staring at "Testing..." for minutes.
CHECK_SETTINGS = ClientSettings(
    connect_timeout=5.0,
    read_timeout=10.0,
    retry=RetryPolicy(max_attempts=1),
    submit_retry=RetryPolicy(max_attempts=1),
)


@dataclass(frozen=True)
class ConnectionVerdict:
    accepted: bool
    line: str  # one sentence for the user; never holds the key


def probe_task_id() -> str:
    """A task id no service has handed out (random, and says what it is in the service's logs)."""
    return f"veo-connection-test-{secrets.token_hex(8)}"


def check_connection(api_key: str, base_url: str) -> ConnectionVerdict:
    """Whether `base_url` answers and accepts `api_key`, without sending a generation."""
    try:
        with HighwayClient(api_key, base_url, settings=CHECK_SETTINGS) as client:
            client.task_result(probe_task_id())
    except TaskNotFoundError:
        return ConnectionVerdict(True, f"Connected to {base_url}: the API key was accepted")
    except InsufficientBalanceError as error:
        # Only an accepted key learns about its account's balance.
        return ConnectionVerdict(True, f"Connected to {base_url}: the API key was accepted. {error}")
    except AuthenticationError as error:
        return ConnectionVerdict(False, str(error))
    except NetworkError as error:
        # The client's sentence names the made-up task; the user only needs the cause.
        cause = str(error).rpartition(": ")[2]
        return ConnectionVerdict(False, f"Could not reach {base_url}: {cause}")
    except VeoError as error:
        return ConnectionVerdict(False, f"{base_url} answered, but not as expected: {error}")
    # A task that cannot exist was found: the service is not the one the add-on speaks to.
    return ConnectionVerdict(
        False, f"{base_url} answered for a task that cannot exist; check the service URL"
    )

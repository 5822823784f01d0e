"""How long a test waits for what will happen: a server to start, a run to finish, a page to show.

The host may be loaded (two shared cores, other jobs, a slow CI machine), so a wait is generous
and ends as soon as the thing has happened: a test polls, it never sleeps a fixed time, and it
never asserts on how long something took. ``SHIDIAN_TEST_PATIENCE`` (seconds) changes the limit.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

#: The longest a test waits for one thing, in seconds.
PATIENCE = float(os.environ.get("SHIDIAN_TEST_PATIENCE", "300"))
#: The same in milliseconds, as Playwright takes it.
PATIENCE_MS = int(PATIENCE * 1000)


def wait_until(condition: Callable[[], object], what: str, seconds: float = PATIENCE) -> None:
    """Poll ``condition`` until it is true; fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {seconds:g} s")
        time.sleep(0.05)

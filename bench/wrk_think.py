"""The load model both web benches share: a client thinks between two requests.

``think_delay`` is a wrk Lua ``delay`` function: a connection's first request at a random
moment within the think time (clients do not all start in the same millisecond), then think ±
jitter milliseconds (uniform) after each answer. wrk calls ``delay`` once per request of a
thread, so the first ``first`` calls are the first requests of the thread's connections.
"""

from __future__ import annotations


def think_delay(think_ms: int, jitter_ms: int, first: int) -> str:
    """The Lua ``delay`` function (empty when ``think_ms`` is 0: a closed loop)."""
    if not think_ms:
        return ""
    return (
        "local calls = 0\n"
        "function delay()\n"
        "  calls = calls + 1\n"
        f"  if calls <= {first} then return math.random(0, {think_ms}) end\n"
        f"  return {think_ms} + math.random(-{jitter_ms}, {jitter_ms})\n"
        "end\n"
    )

"""The load model both web benches share: a client thinks between two requests.

``think_delay`` is a wrk Lua ``delay`` function: a connection's first request at a random
moment within the think time (clients do not all start in the same millisecond), then think ±
jitter milliseconds (uniform) after each answer. wrk calls ``delay`` once per request of a
thread, so the first ``first`` calls are the first requests of the thread's connections.

``cpu_snapshot`` and ``cpu_used`` read from ``/proc`` the CPU the server and its database backends
have used, so that a bench can print the CPU a request costs (steadier than latency on a shared
host). A backend that exits during the run (the pool closes a connection it opened beyond its
size) is counted through the PostgreSQL postmaster's "children" CPU, where the kernel adds the CPU
of every child the postmaster has reaped; that also takes in backends of other databases that
ended meanwhile (none on a quiet host).
"""

from __future__ import annotations

import os
from pathlib import Path


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


#: One reading of the CPU the measured processes have used: pid -> (a server process?, seconds).
Snapshot = dict[int, tuple[bool, float]]


def cpu_snapshot(server_pid: int, database: str) -> Snapshot:
    """CPU seconds (user + system) used so far by each of the server's processes (uvicorn and its
    workers) and each PostgreSQL backend serving ``database``, from ``/proc``."""
    tick = os.sysconf("SC_CLK_TCK")
    found: Snapshot = {}
    postmaster: int | None = None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:  # gone meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        ppid, cpu = int(fields[1]), (int(fields[11]) + int(fields[12])) / tick
        if int(entry.name) == server_pid or ppid == server_pid:
            found[int(entry.name)] = (True, cpu)
        elif cmdline.startswith("postgres:") and f" {database} " in cmdline:
            found[int(entry.name)] = (False, cpu)
            postmaster = ppid
    if postmaster is not None:  # the reaped backends' CPU (cutime + cstime), under a key no pid has
        try:
            stat = Path(f"/proc/{postmaster}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            found[-postmaster] = (False, (int(fields[13]) + int(fields[14])) / tick)
        except OSError:
            pass
    return found


def cpu_used(before: Snapshot, after: Snapshot) -> tuple[float, float]:
    """CPU seconds the server and the PostgreSQL backends used between two snapshots. Each process
    of ``after`` counts from its value in ``before`` (0 for one started since); one that ended in
    between is left out of the per-process sum (never the negative total that subtracting two
    sums gave when a backend exited) and counted instead in the postmaster's reaped children's
    CPU; a backend that started before ``before`` and ended since is counted whole, an overcount
    of at most its CPU before the run."""
    server = database = 0.0
    for pid, (is_server, cpu) in after.items():
        used = cpu - before.get(pid, (is_server, 0.0))[1]
        if is_server:
            server += used
        else:
            database += used
    return server, database

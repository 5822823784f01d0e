"""Issue 22 finding 4: login throttling per client and per account, atomic across concurrent
requests, with no lockout a stranger can trigger and the same cost for unknown and known names
(SQLite and PostgreSQL; the concurrent attack over real HTTP)."""

from __future__ import annotations

import http.client
import re
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI

from shidian.platform import security
from shidian.platform.accounts import create_user
from shidian.platform.audit import Client
from shidian.platform.db.schema import units
from shidian.platform.signin import sign_in
from shidian.platform.throttle import LoginLimits
from tests.web.conftest import PASSWORD

LIMITS = LoginLimits(window_seconds=900, pair_max=5, account_max=8, pace_seconds=600, client_names_max=4)


class CountingHasher:
    """The argon2 hasher, counting the password checks that reach it."""

    def __init__(self, real: Any) -> None:
        self.real, self.verified, self.lock = real, 0, threading.Lock()

    def verify(self, password_hash: str, password: str) -> bool:
        with self.lock:
            self.verified += 1
        return bool(self.real.verify(password_hash, password))

    def hash(self, password: str) -> str:
        return str(self.real.hash(password))

    def check_needs_rehash(self, password_hash: str) -> bool:
        return bool(self.real.check_needs_rehash(password_hash))


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    counting = CountingHasher(security._hasher)
    monkeypatch.setattr(security, "_hasher", counting)
    return counting


_names = iter(range(10**6))


def new_user(app: FastAPI) -> str:
    """A fresh account (so no test's throttle state touches another's)."""
    name = f"thr{next(_names)}_{time.monotonic_ns() % 10**6}"
    with app.state.engine.begin() as conn:
        unit = conn.execute(sa.select(units.c.id).where(units.c.code == "BUREAU")).scalar_one()
        create_user(conn, name, PASSWORD, "leader", unit, name)
    return name


def attempt(app: FastAPI, username: str, password: str, ip: str, limits: LoginLimits = LIMITS) -> str:
    with app.state.engine.begin() as conn:
        return sign_in(conn, username, password, limits=limits, client=Client(ip, "test")).outcome


@pytest.fixture(scope="module")
def server(web_app: FastAPI) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    config = uvicorn.Config(web_app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uv.started
    yield f"127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(timeout=10)


def test_50_concurrent_wrong_passwords_reach_the_hasher_at_most_5_times(web_app, server, hasher):
    victim = new_user(web_app)
    first = http.client.HTTPConnection(server, timeout=30)
    first.request("GET", "/login")
    page = first.getresponse()
    cookie = page.getheader("set-cookie", "").split(";", 1)[0]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.read().decode())
    first.close()
    assert token and cookie
    form = urllib.parse.urlencode(
        {"username": victim, "password": "wrong-pass-1", "csrf_token": token.group(1)}
    )
    headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
    statuses: list[int] = []
    barrier = threading.Barrier(50)

    def wrong() -> None:
        connection = http.client.HTTPConnection(server, timeout=120)
        barrier.wait()
        connection.request("POST", "/login", body=form, headers=headers)
        statuses.append(connection.getresponse().status)
        connection.close()

    threads = [threading.Thread(target=wrong) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(set(statuses)) == [401, 429]
    assert statuses.count(401) == LIMITS.pair_max  # web_app's settings: 5 per client and account
    assert hasher.verified == LIMITS.pair_max


def test_a_stranger_cannot_lock_the_real_user_out(web_app):
    victim = new_user(web_app)
    for _ in range(LIMITS.pair_max):
        assert attempt(web_app, victim, "guess-1234", "203.0.113.7") == "wrong"
    assert attempt(web_app, victim, PASSWORD, "203.0.113.7") == "throttled"  # the stranger is stopped
    assert attempt(web_app, victim, PASSWORD, "198.51.100.2") == "ok"  # the owner, elsewhere, is not


def test_many_clients_slow_an_account_down_without_locking_it(web_app, monkeypatch):
    victim = new_user(web_app)
    for n in range(LIMITS.account_max):
        assert attempt(web_app, victim, "guess-1234", f"203.0.113.{n}") == "wrong"
    # past account_max: one attempt per pace window gets through, from whichever client
    assert attempt(web_app, victim, "guess-1234", "203.0.113.100") == "wrong"
    assert attempt(web_app, victim, PASSWORD, "198.51.100.2") == "throttled"
    later = time.time() + LIMITS.pace_seconds + 1
    monkeypatch.setattr("shidian.platform.throttle.now", lambda: _at(later))
    assert attempt(web_app, victim, PASSWORD, "198.51.100.2") == "ok"


def _at(seconds: float) -> Any:
    import datetime as dt

    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def test_one_client_may_try_only_a_few_user_names(web_app, hasher):
    names = [new_user(web_app) for _ in range(LIMITS.client_names_max + 1)]
    ip = "192.0.2.55"
    for name in names[:-1]:
        assert attempt(web_app, name, "guess-1234", ip) == "wrong"
    before = hasher.verified
    assert attempt(web_app, names[-1], PASSWORD, ip) == "throttled"  # a new name: refused unchecked
    assert attempt(web_app, "nobody-at-all", "guess-1234", ip) == "throttled"
    assert hasher.verified == before
    assert attempt(web_app, names[0], PASSWORD, ip) == "ok"  # a name it already tried: checked
    assert attempt(web_app, names[-1], PASSWORD, "192.0.2.56") == "ok"


def test_an_unknown_user_costs_the_same_password_check_as_a_known_one(web_app, hasher):
    known = new_user(web_app)
    assert attempt(web_app, known, "guess-1234", "192.0.2.80") == "wrong"
    assert hasher.verified == 1
    assert attempt(web_app, "no-such-user-80", "guess-1234", "192.0.2.81") == "wrong"
    assert hasher.verified == 2  # one argon2 check each: the timing names no account


def test_successful_logins_neither_lock_nor_slow_an_account(web_app):
    busy = new_user(web_app)
    for n in range(LIMITS.account_max + LIMITS.pair_max + 2):  # a shared office account
        assert attempt(web_app, busy, PASSWORD, f"198.51.100.{n % 3}") == "ok"

"""Platform workflows without HTTP, on a real SQLite database: user administration
(``platform.admin``), signing in and out (``platform.signin``), reading the audit log
(``platform.audit.browse`` / ``export``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from shidian.platform import admin, audit
from shidian.platform.accounts import User, authenticate, create_unit, create_user, get_user
from shidian.platform.audit import Client
from shidian.platform.db.engine import make_engine, upgrade
from shidian.platform.db.schema import audit_events, login_attempts
from shidian.platform.signin import sign_in, sign_out
from shidian.platform.throttle import LoginLimits
from shidian.problems import Refused

PASSWORD = "secret-pass-2020"
CLIENT = Client("10.0.0.9", "pytest")
LIMITS = LoginLimits(window_seconds=900, pair_max=2)


@pytest.fixture
def engine(tmp_path: Path) -> sa.Engine:
    engine = make_engine(f"sqlite:///{tmp_path}/db.sqlite")
    upgrade(engine)
    return engine


@pytest.fixture
def people(engine: sa.Engine) -> dict[str, User]:
    found = {}
    with engine.begin() as conn:
        unit = create_unit(conn, "BUREAU", "医保局", "bureau")
        for name, role in (("root", "admin"), ("boss", "leader"), ("clerk", "settlement_officer")):
            user = get_user(conn, create_user(conn, name, PASSWORD, role, unit))
            assert user is not None
            found[name] = user
    return found


def actions(engine: sa.Engine) -> list[tuple[str, str | None, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(audit_events.c.action, audit_events.c.target, audit_events.c.ip).order_by(
                audit_events.c.id
            )
        )
        return [tuple(r) for r in rows]


def test_admin_creates_a_user_and_a_bad_one_is_a_problem(engine, people):
    root = people["root"]
    with engine.begin() as conn:
        new_id, problems = admin.add_user(
            conn, root, "newbie", PASSWORD, "leader", root.unit_id, None, CLIENT
        )
        assert problems == [] and new_id is not None
        assert authenticate(conn, "newbie", PASSWORD) is not None
        weak, problems = admin.add_user(conn, root, "weak", "short", "leader", root.unit_id)
        assert weak is None and [p.code for p in problems] == ["admin.user.invalid"]
        assert "密码至少 10 位" in problems[0].message
        taken, problems = admin.add_user(conn, root, "newbie", PASSWORD, "leader", root.unit_id)
        assert taken is None and problems[0].message == "用户名 newbie 已存在"
        assert {u.username for u in admin.directory(conn, root).users} == {"root", "boss", "clerk", "newbie"}
    assert actions(engine) == [("admin.user_created", "newbie", "10.0.0.9")]


def test_admin_disables_and_enables_a_user_but_not_itself(engine, people):
    root, clerk = people["root"], people["clerk"]
    with engine.begin() as conn:
        assert admin.set_user_active(conn, root, clerk.id, False) == []
        assert authenticate(conn, "clerk", PASSWORD) is None
        assert admin.set_user_active(conn, root, clerk.id, True) == []
        assert authenticate(conn, "clerk", PASSWORD) is not None
        problems = admin.set_user_active(conn, root, root.id, False)
        assert [p.message for p in problems] == ["不能停用自己"]
        assert authenticate(conn, "root", PASSWORD) is not None
    assert [a for a, _, _ in actions(engine)] == ["admin.user_disabled", "admin.user_enabled"]


def test_only_admins_manage_users(engine, people):
    with engine.begin() as conn:
        for call in (
            lambda: admin.directory(conn, people["boss"]),
            lambda: admin.add_user(conn, people["boss"], "x", PASSWORD, "admin", 1),
            lambda: admin.set_user_active(conn, people["clerk"], people["root"].id, False),
        ):
            with pytest.raises(Refused) as refused:
                call()
            assert refused.value.reason == "forbidden"
    assert actions(engine) == []


def test_sign_in_records_every_attempt_and_throttles(engine, people):
    with engine.begin() as conn:
        ok = sign_in(conn, " boss ", PASSWORD, limits=LIMITS, client=CLIENT)
        assert ok.outcome == "ok" and ok.user is not None and ok.user.username == "boss"
        sign_out(conn, ok.user, CLIENT)
        for _ in range(2):
            assert sign_in(conn, "boss", "wrong", limits=LIMITS).outcome == "wrong"
        assert sign_in(conn, "boss", PASSWORD, limits=LIMITS).outcome == "throttled"
        attempts = conn.execute(sa.select(login_attempts.c.ip, login_attempts.c.success)).all()
    assert [tuple(a) for a in attempts] == [("10.0.0.9", True), ("-", False), ("-", False)]
    assert [a for a, _, _ in actions(engine)] == [
        "auth.login",
        "auth.logout",
        "auth.login_failed",
        "auth.login_failed",
        "auth.login_throttled",
    ]


def test_audit_log_is_browsed_by_page_and_exported_with_the_export_audited(engine, people):
    with engine.begin() as conn:
        for index in range(audit.AUDIT_PAGE + 1):
            audit.log(conn, audit.UserEnabled(target=str(index)), people["root"])
        audit.log(conn, audit.LoginSucceeded(target="boss"), people["boss"])
        first = audit.browse(conn, people["boss"], action="admin.user_enabled")
        second = audit.browse(conn, people["boss"], action="admin.user_enabled", page=2)
        assert len(first.events) == audit.AUDIT_PAGE and first.has_next and first.events[0]["target"] == "100"
        assert [e["target"] for e in second.events] == ["0"] and not second.has_next
        assert first.actions == [
            "admin.audit_browsed",
            "admin.user_enabled",
            "auth.login",
        ]  # browsing is audited
        rows = audit.export(conn, people["boss"], username="boss", client=CLIENT)
        assert [r["action"] for r in rows] == ["admin.audit_browsed", "admin.audit_browsed", "auth.login"]
        with pytest.raises(Refused):
            audit.export(conn, people["clerk"])
    assert actions(engine)[-1] == ("admin.audit_exported", None, "10.0.0.9")

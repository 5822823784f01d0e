"""Web fixtures: an app on a fresh SQLite file and on a fresh PostgreSQL database, users of
every role, a published settlement of the hand-worked region, and signed-in clients."""

from __future__ import annotations

import contextlib
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shidian.demo.drg_web import setup_drg_demo
from shidian.platform.accounts import create_unit, create_user
from shidian.platform.settings import Settings
from shidian.web.app import create_app
from tests.conftest import HANDWORKED

POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PASSWORD = "secret-pass-2020"

#: username → (role, unit code); H1 and H3 are the hand-worked region's hospitals.
USERS = {
    "admin": ("admin", "BUREAU"),
    "officer": ("settlement_officer", "BUREAU"),
    "leader": ("leader", "BUREAU"),
    "h1": ("hospital", "H1"),
    "h3": ("hospital", "H3"),
    "reporter": ("reporting_unit", "TOWN"),
}


def _postgres_available() -> bool:
    engine = sa.create_engine(POSTGRES_ADMIN_URL)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        engine.dispose()


@contextlib.contextmanager
def fresh_database(backend: str, folder: Path, prefix: str = "shidian_test") -> Iterator[str]:
    """The URL of a fresh, empty database of ``backend`` ("sqlite": a file in ``folder``;
    "postgresql": a database of its own on 127.0.0.1, dropped afterwards; skipped when
    PostgreSQL is not running)."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'shidian.db'}"
        return
    if not _postgres_available():
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, empty database per backend for the test session."""
    with fresh_database(request.param, tmp_path_factory.mktemp("sqlite")) as url:
        yield url


@pytest.fixture(scope="session")
def web_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """The app with units, users of every role and one published run of the hand-worked region."""
    var_dir = tmp_path_factory.mktemp("var")
    settings = Settings(database_url=database_url, var_dir=var_dir, secret_key="test-secret-" + "x" * 40)
    app = create_app(settings)
    seed(app)
    yield app
    app.state.engine.dispose()
    shutil.rmtree(var_dir, ignore_errors=True)


def seed(app: FastAPI) -> None:
    """Units, a user of every role (password ``PASSWORD``) and a published hand-worked run."""
    engine, var_dir = app.state.engine, app.state.settings.var_dir
    with engine.begin() as conn:
        units = {
            "BUREAU": create_unit(conn, "BUREAU", "贵港市医疗保障局", "bureau"),
            "TOWN": create_unit(conn, "TOWN", "港城街道", "township"),
            "H1": create_unit(conn, "H1", "平南县第一卫生院", "hospital", hospital_id="H1"),
            "H3": create_unit(conn, "H3", "贵港市人民医院", "hospital", hospital_id="H3"),
        }
        for username, (role, unit) in USERS.items():
            create_user(conn, username, PASSWORD, role, units[unit], username)
    dataset_id, run_id = setup_drg_demo(engine, var_dir, HANDWORKED, "officer", name="手算示例", note="test")
    app.state.test_run_id = run_id
    app.state.test_dataset_id = dataset_id


def csrf_of(client: TestClient, path: str = "/login") -> str:
    page = client.get(path)
    match = re.search(r'name="csrf-token" content="([^"]*)"', page.text) or re.search(
        r'name="csrf_token" value="([^"]+)"', page.text
    )
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> TestClient:
    token = csrf_of(client)
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    client.headers["X-CSRF-Token"] = csrf_of(client, "/policies")
    return client


@pytest.fixture
def client_for(web_app: FastAPI) -> Callable[[str], TestClient]:
    """A signed-in client (CSRF header set) for a user of ``USERS``."""

    def make(username: str) -> TestClient:
        return login(TestClient(web_app), username)

    return make


@pytest.fixture
def anonymous(web_app: FastAPI) -> TestClient:
    return TestClient(web_app)


@pytest.fixture
def run_id(web_app: FastAPI) -> str:
    return str(web_app.state.test_run_id)


def handworked_files() -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in sorted(Path(HANDWORKED).iterdir())]

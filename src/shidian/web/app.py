"""The application factory: ``create_app(settings)`` wires database, sessions, routes, errors."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from shidian import __version__
from shidian.drg.service import executor as drg_executor
from shidian.platform.db.engine import POOL_SIZE, make_engine, upgrade
from shidian.platform.files import sweep_staging
from shidian.platform.jobs import Jobs
from shidian.platform.settings import Settings
from shidian.web import errors
from shidian.web.applog import AppLog
from shidian.web.deps import LoginRequired
from shidian.web.middleware import BodyLimit, LanguageAndHeaders

#: A staged upload older than this is a crash's leftover (a check takes minutes at most).
STAGING_MAX_AGE_SECONDS = 6 * 3600


def create_app(
    settings: Settings | None = None, *, engine: sa.Engine | None = None, migrate: bool = True
) -> FastAPI:
    settings = settings or Settings.from_env()
    engine = engine or make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    # staged uploads a crash left (``shidian serve`` sweeps all before its workers start; a worker
    # only what is too old to be another worker's upload in progress)
    sweep_staging(settings.var_dir, older_than_seconds=STAGING_MAX_AGE_SECONDS)
    app = FastAPI(
        title="Shidian 试点",
        version=__version__,
        docs_url=None,  # Swagger UI loads assets from a CDN: not on an intranet
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    # Settlements run in the background, one at a time; routes create a run, then submit it.
    app.state.executor = drg_executor(engine, settings.runs_dir.parent)
    _install_middleware(app, settings)
    app.mount("/static", StaticFiles(packages=[("shidian.web", "static")]), name="static")
    from shidian.web.routers import ROUTERS

    for router in ROUTERS:
        app.include_router(router)
    _install_error_handlers(app)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """On shutdown, wait for the running settlement; a fresh executor lets the app start again.

    On startup, everything loaded so far (modules, policies, templates) is moved out of the
    garbage collector's sight (``gc.freeze``): a full collection then walks only what requests
    allocate, which keeps its pauses out of the latency tail. The worker threads that run sync
    routes and dependencies are limited to the database pool's size (anyio's default is 40): each
    can hold a connection without the pool opening overflow connections under load, and fewer
    threads contend for the interpreter on a machine of few cores.
    """
    anyio.to_thread.current_default_thread_limiter().total_tokens = POOL_SIZE
    gc.freeze()
    yield
    executor: Jobs = app.state.executor
    await anyio.to_thread.run_sync(executor.shutdown)
    app.state.executor = executor.fresh()


def _install_middleware(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(LanguageAndHeaders, secure=settings.secure_cookies)
    app.add_middleware(BodyLimit, max_bytes=settings.max_upload_bytes)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="shidian_session",
        max_age=settings.session_max_age_seconds,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    app.add_middleware(AppLog)  # added last: outermost, it times and names the whole request


def _install_error_handlers(app: FastAPI) -> None:
    errors.install(app, LoginRequired)

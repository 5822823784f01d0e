"""The application factory: ``create_app(settings)`` wires database, sessions, routes, errors."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from shidian import __version__
from shidian.platform.db.engine import make_engine, upgrade
from shidian.platform.settings import Settings
from shidian.web.deps import LoginRequired
from shidian.web.drg_runs import RunExecutor
from shidian.web.middleware import BodyLimit, LanguageAndHeaders
from shidian.web.templating import render


def create_app(
    settings: Settings | None = None, *, engine: sa.Engine | None = None, migrate: bool = True
) -> FastAPI:
    settings = settings or Settings.from_env()
    engine = engine or make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    settings.var_dir.mkdir(parents=True, exist_ok=True)
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
    app.state.executor = RunExecutor(engine, settings.runs_dir.parent)
    _install_middleware(app, settings)
    app.mount("/static", StaticFiles(packages=[("shidian.web", "static")]), name="static")
    from shidian.web.routes import ROUTERS

    for router in ROUTERS:
        app.include_router(router)
    _install_error_handlers(app)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """On shutdown, wait for the running settlement; a fresh executor lets the app start again.

    On startup, everything loaded so far (modules, policies, templates) is moved out of the
    garbage collector's sight (``gc.freeze``): a full collection then walks only what requests
    allocate, which keeps its pauses out of the latency tail.
    """
    gc.freeze()
    yield
    executor: RunExecutor = app.state.executor
    await anyio.to_thread.run_sync(executor.shutdown)
    app.state.executor = RunExecutor(executor.engine, executor.var_dir)


def _install_middleware(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(LanguageAndHeaders)
    app.add_middleware(BodyLimit, max_bytes=settings.max_upload_bytes)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="shidian_session",
        max_age=settings.session_max_age_seconds,
        same_site="lax",
        https_only=settings.secure_cookies,
    )


def error_body(
    status: int, code: str, message: str, extra: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The one JSON error shape: ``{"ok": false, "status": …, "problems": [...]}``."""
    return {"ok": False, "status": status, "problems": extra or [{"code": code, "message": message}]}


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _exc: LoginRequired) -> Response:
        if _wants_json(request):
            return JSONResponse(
                error_body(401, "auth.required", "请先登录 (login required)"), status_code=401
            )
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {403: "auth.forbidden", 404: "not_found", 413: "upload.too_large", 429: "auth.throttled"}.get(
            exc.status_code, "http.error"
        )
        if _wants_json(request):
            return JSONResponse(
                error_body(exc.status_code, code, str(exc.detail)), status_code=exc.status_code
            )
        return render(
            request, "error.html", {"status": exc.status_code, "message": exc.detail}, exc.status_code
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {
                "code": "request.invalid",
                "message": str(e.get("msg")),
                "where": ".".join(map(str, e.get("loc", ()))),
            }
            for e in exc.errors()
        ]
        return JSONResponse(error_body(422, "request.invalid", "", problems), status_code=422)

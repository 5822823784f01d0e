"""``shidian serve`` and ``shidian demo web``: the web application from the command line."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from shidian.cli.output import err, out


def serve(
    host: Annotated[str, typer.Option(help="监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="端口")] = 8000,
    workers: Annotated[int, typer.Option(help="进程数 (production: one per core)")] = 1,
) -> None:
    """启动网页服务 (run the web application; configuration from SHIDIAN_* variables).

    The application log — one JSON object a line per request: request id, route, status,
    duration, user id, error type and frames; never a query string or personal data — goes to
    standard error, or to the file SHIDIAN_LOG_FILE.
    """
    import uvicorn

    from shidian.cli.logs import log_config
    from shidian.drg.service import recover_imports
    from shidian.platform.db.engine import make_engine, upgrade
    from shidian.platform.files import sweep_staging
    from shidian.platform.jobs import fail_interrupted_runs
    from shidian.platform.settings import Settings

    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    with engine.begin() as conn:  # before any worker exists: no job can be running now
        for run_id in fail_interrupted_runs(conn):
            err.print(f"结算 {run_id} 在上次停止时未完成, 已标记为失败 (interrupted run marked failed)")
        if removed := recover_imports(conn, settings.var_dir):  # an import's files without its row
            err.print(f"已清除上次停止时未完成的 {removed} 次数据导入 (interrupted imports removed)")
    engine.dispose()
    if swept := sweep_staging(settings.var_dir):
        err.print(f"已清除上次停止时遗留的 {swept} 个暂存上传 (staged uploads left by a crash removed)")

    # the application reads X-Forwarded-For itself, from SHIDIAN_TRUSTED_PROXIES only
    # (web/deps.py client_of): uvicorn's own handling would trust any local client
    uvicorn.run(
        "shidian.web.main:app",
        host=host,
        port=port,
        workers=workers,
        proxy_headers=False,  # the client address is the app's (SHIDIAN_TRUSTED_PROXIES)
        log_level="info",
        access_log=False,  # the application log replaces it: no query strings, no personal data
        log_config=log_config(os.environ.get("SHIDIAN_LOG_FILE") or None),
    )


def demo_web(
    data_dir: Annotated[Path, typer.Argument(help="演示数据目录 (shidian demo generate 的输出)")],
) -> None:
    """建立演示用户、导入演示数据并发布一次结算 (demo users, data and a published settlement)."""
    from shidian.demo.web import setup_demo
    from shidian.platform.db.engine import make_engine, upgrade
    from shidian.platform.settings import Settings

    settings = Settings.from_env()
    settings.var_dir.mkdir(parents=True, exist_ok=True)  # a fresh SHIDIAN_VAR_DIR: the database lives there
    engine = make_engine(settings.database_url)
    upgrade(engine)
    accounts = setup_demo(settings, engine, data_dir)
    out.print("演示用户 (demo users) — 用户名 / 密码 / 角色:")
    for username, password, role in accounts:
        out.print(f"  {username:<12} {password:<22} {role}")
    err.print(f"数据库 {settings.database_url}; 文件 {settings.var_dir}")

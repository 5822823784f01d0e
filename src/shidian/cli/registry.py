"""``shidian registry``: import an existing registry and report indicators from the command line.

Both run against the web application's database (``SHIDIAN_DATABASE_URL``) with the same
workflows as the web pages (``shidian.registry.service``): the import is checked row by row and
lands whole or not at all, and runs with the scope and audit trail of the user named by ``--as``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from shidian.cli.output import fail_with_problems, out

#: What to do when the application's database is not there.
NO_DATABASE = (
    "登记数据在网页应用的数据库中: 请设置 SHIDIAN_VAR_DIR (如 var/demo/web, 由 `shidian demo web` 建立) "
    "或 SHIDIAN_DATABASE_URL (the registry lives in the web application's database: set SHIDIAN_VAR_DIR "
    "or SHIDIAN_DATABASE_URL)"
)

app = typer.Typer(help="严重精神障碍患者管理 (severe mental disorder registry).", no_args_is_help=True)


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="存量患者名册 (.xlsx 或 .csv, UTF-8/GBK)")],
    as_user: Annotated[str, typer.Option("--as", help="以此用户的权限和负责区域导入 (user name)")],
    as_json: Annotated[bool, typer.Option("--json", help="机器可读输出")] = False,
) -> None:
    """导入存量患者名册: 全部导入, 或一行都不导入 (import an existing registry, all rows or none)."""
    from shidian.platform.crypto import DataKeys
    from shidian.platform.db.engine import existing_database, make_engine, upgrade
    from shidian.platform.jobs import Cancelled
    from shidian.platform.settings import Settings
    from shidian.problems import Refused, request_problem
    from shidian.registry import service

    missing = existing_database(Settings.database_url_from_env(), "users")
    if missing is not None:  # no users to act as: never create an empty database
        out.print(f"{missing}: {NO_DATABASE}")
        raise typer.Exit(2)
    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    with engine.connect() as conn:
        user = service.acting_user(conn, as_user)
    if user is None:
        out.print(f"没有用户 {as_user} (no such user)")
        raise typer.Exit(2)
    try:
        imported, problems = service.import_registry(
            engine, DataKeys.from_env(settings.secret_key), user, file, file.name, via="cli"
        )
    except Refused as refused:
        if refused.reason == "forbidden":
            out.print(f"{as_user} 无导入权限 (not allowed to import)")
        elif refused.reason == "conflict":  # another import runs (the server's or another command's)
            out.print("; ".join(p.message for p in refused.problems))
        else:
            raise
        raise typer.Exit(2) from None
    except Cancelled as cancelled:  # cancelled on the import page (取消导入) while it ran
        nothing = f"{cancelled}: 导入已在网页上取消，未导入任何患者 (cancelled on the import page; nothing imported)"
        problems = [request_problem("job.cancelled", nothing)]
    finally:
        engine.dispose()
    if problems:
        fail_with_problems(problems, as_json)
    if as_json:
        sys.stdout.write(json.dumps({"ok": True, "imported": imported}) + "\n")
    else:
        out.print(f"已导入 {imported} 名患者 (imported)")


@app.command("indicators")
def indicators_command(
    period: Annotated[str, typer.Option(help="报告期: 2020, 2020-Q2 或 2020-06")],
    area: Annotated[str, typer.Option(help="地区单位代码, 如 450821")],
) -> None:
    """打印某地区某报告期的管理指标 (interfaces.md shape 1, CSV)."""
    from shidian.platform.db.engine import existing_database, make_engine
    from shidian.platform.settings import Settings
    from shidian.registry import Period
    from shidian.registry.service import indicator_values

    try:
        chosen = Period.parse(period)
    except ValueError as exc:
        out.print(str(exc))
        raise typer.Exit(2) from None
    url = Settings.database_url_from_env()
    missing = existing_database(url, "registry_patients")
    if missing is not None:
        out.print(f"{missing}: {NO_DATABASE}")
        raise typer.Exit(2)
    engine = make_engine(url)
    with engine.connect() as conn:
        table = indicator_values(conn, area, chosen)
    engine.dispose()
    if table is None:
        out.print(f"没有代码为 {area} 的单位 (no such unit)")
        raise typer.Exit(2)
    sys.stdout.write("unit_code,indicator_code,period_start,population,numerator,denominator\n")
    for r in table.to_pylist():
        denominator = "" if r["denominator"] is None else f"{r['denominator']:f}"
        sys.stdout.write(
            f"{r['unit_code']},{r['indicator_code']},{r['period_start']},{r['population']},{r['numerator']:f},{denominator}\n"
        )


@app.command("reencrypt")
def reencrypt_command() -> None:
    """密钥轮换: 用当前数据密钥重新加密全部个人身份信息 (re-encrypt every identifier under the current key)."""
    from shidian.platform.crypto import DataKeys
    from shidian.platform.db.engine import make_engine, upgrade
    from shidian.platform.settings import Settings
    from shidian.registry.store.keys import reencrypt

    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    keys = DataKeys.from_env(settings.secret_key)
    count = reencrypt(engine, keys)
    engine.dispose()
    out.print(
        f"已用密钥版本 {keys.current.version} ({keys.current.cipher}) 重新加密 {count} 个字段 (re-encrypted)"
    )

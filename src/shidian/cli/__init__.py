"""The ``shidian`` command line: one Typer app, one sub-app per domain."""

from __future__ import annotations

import typer

from shidian.cli import demo, drg, insurance, web

app = typer.Typer(
    name="shidian",
    help="Shidian (试点): 医改试点的结算与管理 — DRG点数法付费等。",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(drg.app, name="drg")
app.add_typer(demo.app, name="demo")
app.add_typer(insurance.app, name="insurance")
app.command("serve")(web.serve)
demo.app.command("web")(web.demo_web)


def main() -> None:
    app()

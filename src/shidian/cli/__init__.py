"""The ``shidian`` command line: one Typer app, one sub-app per domain."""

from __future__ import annotations

import typer

from shidian.cli import capitation, demo, drg, insurance, pilots, registry, rewards, web

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
app.add_typer(rewards.app, name="rewards")
app.add_typer(capitation.app, name="capitation")
app.add_typer(pilots.app, name="pilots")
app.add_typer(registry.app, name="registry")
app.command("serve")(web.serve)
demo.app.command("web")(web.demo_web)


def main() -> None:
    app()

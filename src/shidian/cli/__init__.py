"""The ``shidian`` command line: one Typer app, one sub-app per domain.

``shidian drg settle …`` imports only the DRG sub-app (the others bring the web, the
database layer and every domain: a second of start-up on a command that takes a few);
``app``, with every sub-app, is built when first asked for (``shidian --help``, tests).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer

#: The sub-apps, each in its own module (``shidian.cli.<name>``), in the order of the help.
SUBAPPS = ("drg", "demo", "insurance", "rewards", "capitation", "pilots", "registry")


def _root() -> typer.Typer:
    return typer.Typer(
        name="shidian",
        help="Shidian (试点): 医改试点的结算与管理 — DRG点数法付费等。",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )


def build_app(only: str | None = None) -> typer.Typer:
    """The command line with every sub-app, or with only the sub-app ``only`` (its commands
    and help are the same; the root's help then lists it alone)."""
    root = _root()
    for name in SUBAPPS if only is None else (only,):
        root.add_typer(importlib.import_module(f"shidian.cli.{name}").app, name=name)
    if only is None:
        from shidian.cli import demo, web

        root.command("serve")(web.serve)
        demo.app.command("web")(web.demo_web)
    return root


def __getattr__(name: str) -> Any:
    if name == "app":
        built = globals()["app"] = build_app()
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else None
    if command in SUBAPPS and command != "demo":  # demo also has `demo web` (the web door)
        build_app(command)()
    else:
        build_app()()

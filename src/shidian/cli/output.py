"""Shared CLI output: problems to stderr (``file:row:column: code message``) or JSON, progress."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from shidian.problems import Problem, format_problems, problems_json

err = Console(stderr=True)
out = Console()


def fail_with_problems(problems: list[Problem], as_json: bool, exit_code: int = 1) -> None:
    """Print every problem (or JSON on stdout with --json) and exit non-zero."""
    if as_json:
        sys.stdout.write('{"ok": false, "problems": ' + problems_json(problems) + "}\n")
    else:
        typer.echo(format_problems(problems), err=True)  # plain lines: editors and scripts parse them
        errors = sum(1 for p in problems if p.severity == "error")
        err.print(f"[bold red]共 {errors} 个错误, 未写入任何文件 ({errors} errors; nothing written)[/]")
    raise typer.Exit(exit_code)


@contextmanager
def progress_steps(enabled: bool = True) -> Iterator[Callable[[str], None]]:
    """A Rich progress display whose ``step(label)`` marks the start of a stage."""
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        disable=not enabled,
    )
    tasks: list[TaskID] = []

    def step(label: str) -> None:
        if tasks:
            progress.update(tasks[-1], completed=1, total=1)
        tasks.append(progress.add_task(label, total=None))

    with progress:
        yield step
        if tasks:
            progress.update(tasks[-1], completed=1, total=1)

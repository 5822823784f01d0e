"""Shared CLI output: problems to stderr (``file:row:column: code message``) or JSON, progress."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.cells import cell_len
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from shidian.dialect import EngineName
from shidian.policy import Param, Policy
from shidian.problems import Problem, format_problems, problems_json

#: ``--engine`` and ``--spark-master`` of the batch commands (drg settle, insurance reimburse).
EngineOption = Annotated[
    EngineName,
    typer.Option(
        "--engine", help="计算引擎: duckdb (本机) 或 spark (集群, 见 docs/scale.md); 结果逐字节相同"
    ),
]
SparkMasterOption = Annotated[
    str | None,
    typer.Option(
        "--spark-master", help="Spark master URL, 如 local[*] 或 spark://host:7077 (默认: Spark 自身配置)"
    ),
]

err = Console(stderr=True)
out = Console()


def whole_numbers(table: Table) -> Table:
    """Numbers are never cut: every right-aligned column (amounts, points, counts) keeps its
    widest cell on one line, however narrow the terminal (80 columns cut ``5,000,000.00`` to
    ``5,000,000…``); the text columns wrap instead."""
    for column in table.columns:
        numbers = [cell_len(text) for text in map(str, column.cells) if NUMBER.fullmatch(text)]
        if column.justify == "right" and numbers:
            column.min_width = max(numbers)
    return table


def show(table: Table) -> None:
    """Print a table with its numbers whole (``whole_numbers``): wider than the terminal when
    the numbers need it, rather than cut."""
    whole_numbers(table)
    needed = sum(c.min_width or 8 for c in table.columns) + 3 * len(table.columns) + 1
    out.print(table, width=max(out.width, needed), crop=False)


#: A cell that is a number or a few numbers (``1,234.50``, ``91.93%``, ``6 / 2 / 1 / 3``).
NUMBER = re.compile(r"[-+0-9,.%/ —→]+")


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


def print_policy(policy: Policy, params: Iterable[Param], show: Callable[[Any], str] = str) -> None:
    """A policy's metadata and every parameter with its value (``show`` renders a value), the
    article behind it and its meaning; the file's sha256 on stderr."""
    meta = policy.meta
    table = Table(
        title=f"{meta.name} ({meta.id}, 版本 {meta.version}, 依据 {meta.seed}, 自 {meta.effective_from} 起)"
    )
    for header in ("参数", "取值", "依据", "说明"):
        table.add_column(header)
    for param in params:
        table.add_row(param.key, show(policy.values[param.key]), param.article, param.help)
    out.print(table)
    err.print(f"sha256 {policy.sha256}")


def print_summary(title: str, rows: Iterable[tuple[str, str]], out_dir: Path, warnings: int) -> None:
    """A batch's totals as a two-column table, then where its files went."""
    table = Table(title=title, show_header=False)
    table.add_column("项目")
    table.add_column("数值", justify="right")
    for label, value in rows:
        table.add_row(label, value)
    table.columns[0].min_width = max((cell_len(str(c)) for c in table.columns[0].cells), default=4)
    show(table)
    out.print(f"自检全部通过; 警告 {warnings} 条 (warnings.csv); 结果已写入 {out_dir}")

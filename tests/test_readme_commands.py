"""Issue 19 item 11: every ``shidian`` command of README.md runs as written.

The commands are read from the README's code blocks; placeholders stand for the reader's own
folders: ``DATA_DIR`` a small demo written by ``shidian demo generate`` (the README's own
command, with fewer cases; for ``insurance reimburse`` a county of the policy's year),
``OUT_DIR`` and ``DIR`` fresh folders (``DIR/insurance``: the county written there); files under ``examples/``
are the shipped samples. The registry commands run against the database ``shidian demo web``
set up (``SHIDIAN_VAR_DIR``); ``serve`` is checked for its options only. A README command this
test does not know fails it, so that a new example is run too.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shidian.cli import app

ROOT = Path(__file__).parents[1]
#: The README's demo sizes, made small: the same command, faster.
SMALL = {"1000000": "3000", "500000": "600", "60": "6"}


def readme_commands() -> list[list[str]]:
    """Each ``shidian …`` line of README.md's code blocks (continuations joined), as arguments."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            line = line.split("  #")[0].strip()
            if re.match(r"^(\.venv/bin/)?shidian ", line):
                commands.append(shlex.split(line)[1:])
    return commands


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("readme")
    return {"DATA_DIR": base / "data", "OUT_DIR": base / "out", "DIR": base / "dir", "base": base}


def _placed(place: dict[str, Path], arg: str) -> str:
    """A placeholder (``DIR``) or a path under one (``DIR/insurance``) made real; else as written."""
    head, _, rest = arg.partition("/")
    if head in place and head != "base":
        return str(place[head] / rest) if rest else str(place[head])
    return SMALL.get(arg, arg)


def test_every_readme_command_runs_as_written(place, monkeypatch):
    monkeypatch.chdir(ROOT)  # the README's paths (examples/…) are from the repository root
    base = place["base"]
    monkeypatch.setenv("SHIDIAN_VAR_DIR", str(base / "web"))
    monkeypatch.setenv("SHIDIAN_SECRET_KEY", "r" * 48)
    monkeypatch.delenv("SHIDIAN_DATABASE_URL", raising=False)
    runner = CliRunner()

    def run(args: list[str]) -> str:
        result = runner.invoke(app, args, catch_exceptions=False)
        assert result.exit_code == 0, f"shidian {' '.join(args)}\n{result.output}"
        return result.output

    commands = readme_commands()
    assert len(commands) >= 15
    # DATA_DIR first: the README's demo generator, small
    run(
        [
            "demo",
            "generate",
            str(place["DATA_DIR"]),
            "--cases",
            "3000",
            "--hospitals",
            "6",
            "--persons",
            "600",
        ]
    )
    order = {
        "demo": 0,
        "drg": 1,
        "insurance": 2,
        "capitation": 3,
        "rewards": 4,
        "pilots": 5,
        "registry": 6,
        "serve": 7,
    }
    for args in sorted(commands, key=lambda a: order[a[0]]):
        if args[:3] == ["insurance", "reimburse", "DATA_DIR"]:
            # the reader's own county of the policy named (county-2010: a county of 2010, which
            # the generator writes when asked; the demo's county is 2020's, demo-county-2020)
            policy = args[args.index("--policy") + 1]
            county = base / f"county-{policy}"
            if not county.exists():
                from shidian.demo.insurance import generate_insurance_county
                from shidian.insurance.policy import POLICIES

                year = POLICIES.named(policy).year
                generate_insurance_county(county, persons=600, seed=7, year=year, policy=policy)
            args[2] = str(county)
        args = [_placed(place, a) for a in args]
        if args[0] == "serve":
            assert "--workers" in run(["serve", "--help"])
            continue
        if args[:2] == ["pilots", "template"] or args[0] == "pilots":
            args = [str(base / a) if a.endswith((".yaml", ".xlsx")) and "/" not in a else a for a in args]
        output = run(args)
        if args[:2] == ["drg", "explain"]:
            assert "2020000000001" in output and "第" in output  # the case, explained with its articles
        if args[:2] == ["registry", "import"]:
            assert "已导入 2 名患者" in output
        if args[:2] == ["registry", "indicators"]:
            assert output.startswith("unit_code") or "SMD_" in output

"""Documentation under test: generated pages are current, every problem code and command documented."""

from __future__ import annotations

import re
from pathlib import Path

from typer.main import get_command

from shidian.cli import app
from shidian.docs import PAGES
from shidian.platform.access import PERMISSIONS

ROOT = Path(__file__).parents[1]


def test_generated_pages_are_current():
    for relative, render in PAGES.items():
        assert (ROOT / relative).read_text(encoding="utf-8") == render(), f"run `make docs` ({relative})"


def test_every_problem_code_is_documented():
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "src" / "shidian").rglob("*.py"))
    domains = "drg|table|policy|insurance|rewards|pilots|registry|upload|capitation"  # domain.subject.reason
    codes = set(re.findall(rf'"((?:{domains})\.[a-z_]+\.[a-z_]+)"', source))
    documented = (ROOT / "docs" / "problems.md").read_text(encoding="utf-8")
    codes = {c for c in codes if not c.startswith("drg.points.")}  # rule ids, documented in drg.md
    codes -= set(PERMISSIONS)  # actions a role may take (shidian.platform.access), not problems
    missing = sorted(code for code in codes if f"`{code}`" not in documented)
    assert not missing, f"undocumented problem codes: {missing}"


def test_every_cli_command_is_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    root = get_command(app)
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        subcommands = getattr(command, "commands", None)
        if subcommands is None:
            assert f"shidian {name}" in readme, f"shidian {name}"
            continue
        for sub in subcommands:
            assert f"shidian {name} {sub}" in readme, f"shidian {name} {sub}"

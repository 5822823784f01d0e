"""``shidian drg …`` starts without the web and the database layer (issue 20: the default DRG
command's start-up), and says and does the same as the full command line."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from shidian.cli import app

_RUN_MAIN = """
import sys
sys.argv = ["shidian", *sys.argv[1:]]
from shidian.cli import main
try:
    main()
except SystemExit as stop:
    code = stop.code or 0
else:
    code = 0
heavy = sorted(m for m in ("sqlalchemy", "alembic", "fastapi", "shidian.web") if m in sys.modules)
print("HEAVY:" + ",".join(heavy))
sys.exit(code)
"""


def _main(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _RUN_MAIN, *args], capture_output=True, text=True, check=False, timeout=120
    )


def test_a_drg_command_imports_only_the_drg_sub_app_and_prints_what_the_full_app_prints():
    lean = _main("drg", "policy", "guigang-2020")
    assert lean.returncode == 0, lean.stderr
    text, heavy = lean.stdout.rsplit("HEAVY:", 1)
    assert heavy.strip() == ""
    full = CliRunner().invoke(app, ["drg", "policy", "guigang-2020"])
    assert full.exit_code == 0
    assert "guigang-2020" in text  # the runner mixes stderr (the policy's sha256) into its output
    assert sorted(text.split() + lean.stderr.split()) == sorted(full.output.split())


def test_the_root_help_still_lists_every_sub_app():
    shown = _main("--help")
    assert shown.returncode == 0, shown.stderr
    for name in ("drg", "insurance", "rewards", "capitation", "pilots", "registry", "demo", "serve"):
        assert name in shown.stdout

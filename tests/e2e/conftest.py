"""End-to-end helpers: a writable copy of a fixture folder, and a batch command run twice."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner, Result

from shidian.cli import app

runner = CliRunner()


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


def copy_of(folder: Path, tmp_path: Path) -> Path:
    """A copy of a fixture folder that a test may change."""
    target = tmp_path / "data"
    shutil.copytree(folder, target)
    return target


def run_twice_identically(command: list[str], tmp_path: Path, *, except_files: tuple[str, ...] = ()) -> Path:
    """Run a batch command (``command`` + ``--out DIR``) twice: both succeed with every self-check
    passed and write the same files byte for byte (but ``except_files``); returns the first DIR."""
    first, second = tmp_path / "out1", tmp_path / "out2"
    for out in (first, second):
        result = invoke(*command, "--out", str(out))
        assert result.exit_code == 0, result.output
        assert "自检全部通过" in result.output
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for name in files:
        if name.name not in except_files:
            assert (first / name).read_bytes() == (second / name).read_bytes(), name
    return first

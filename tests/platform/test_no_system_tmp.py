"""Personal data never lands in the system's temporary directory (issue 22 finding 6): code in
``src/shidian`` makes temporary files only inside the data directory. ``tempfile`` is used only by
the modules below, each call naming its folder (``dir=``); every xlsxwriter book is built in
memory or spools beside its own output (xlsxwriter otherwise writes its parts to the system's
temporary directory)."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "shidian"

# module → why it may use tempfile (always with dir= inside the data directory)
ALLOWED = {
    "platform/files.py": "staged_folder: a folder under var/staging for one upload",
    "drg/uploads.py": "a DRG upload's check folder under var/staging",
    "insurance/service/datasets.py": "an insurance upload's check folder under var/staging",
    "web/registry/context.py": "a registry import's folder under var/staging",
    "rewards/service.py": "a rewards upload's folder under var/staging",
    "runs.py": "a run's outputs, written beside var/runs/<id> and renamed into place",
}

CALL = re.compile(r"tempfile\.(\w+)\(([^)]*)\)", re.S)
BOOK = re.compile(r"xlsxwriter\.Workbook\(((?:[^()]|\([^()]*\))*)\)", re.S)


def _sources() -> dict[str, str]:
    return {str(p.relative_to(SRC)): p.read_text(encoding="utf-8") for p in sorted(SRC.rglob("*.py"))}


def test_tempfile_only_in_allowed_modules_and_always_with_a_folder() -> None:
    users = {name for name, text in _sources().items() if re.search(r"\btempfile\b", text)}
    assert users <= set(ALLOWED), f"tempfile used outside the allow-list: {sorted(users - set(ALLOWED))}"
    for name in users:
        calls = CALL.findall(_sources()[name])
        assert calls, name
        for function, arguments in calls:
            assert "dir=" in arguments, f"{name}: tempfile.{function} without dir= (system temp)"


def test_every_xlsxwriter_book_stays_out_of_the_system_temp() -> None:
    found = 0
    for name, text in _sources().items():
        for arguments in BOOK.findall(text):
            found += 1
            assert '"in_memory": True' in arguments or '"tmpdir"' in arguments, name
    assert found >= 5  # the scan sees the books (DRG report, score card, statements …)

"""A published reference policy is never changed in place: a change is a new ``[meta] version``.

Each policy file says so in its header (已发布的政策不得修改: 变更请新建版本文件), and ``run.json``
records a run's policy by version and content hash. ``tests/policy_versions.txt`` lists every
published (file, version, sha256); the old lines stay, so a recorded hash still names its version.
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

import shidian

POLICIES = Path(shidian.__file__).parent / "policies"
LOCK = Path(__file__).with_name("policy_versions.txt")


def published() -> dict[tuple[str, str], str]:
    lines = (line.split() for line in LOCK.read_text(encoding="utf-8").splitlines())
    return {
        (file, version): sha for file, version, sha in (p for p in lines if p and not p[0].startswith("#"))
    }


def shipped() -> dict[tuple[str, str], str]:
    found = {}
    for path in sorted(POLICIES.rglob("*.toml")):
        text = path.read_text(encoding="utf-8")  # as shidian.policy reads it for its sha256
        version = str(tomllib.loads(text)["meta"]["version"])
        found[(path.relative_to(POLICIES).as_posix(), version)] = hashlib.sha256(
            text.encode("utf-8")
        ).hexdigest()
    return found


def test_every_shipped_policy_is_a_published_version_unchanged() -> None:
    lock = published()
    changed = [
        f"{file} {version}" for (file, version), sha in shipped().items() if lock.get((file, version)) != sha
    ]
    hint = "a published version changed in place, or a new version is not in tests/policy_versions.txt"
    assert changed == [], f"{hint}: {changed}; new lines: " + "; ".join(
        f"{file} {version} {sha}"
        for (file, version), sha in shipped().items()
        if f"{file} {version}" in changed
    )


def test_a_version_is_published_once() -> None:
    versions = [key for key in published()]
    assert len(versions) == len(set(versions))

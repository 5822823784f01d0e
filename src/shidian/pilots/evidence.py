"""Evidence files (佐证材料) of supervision findings: checked by content, stored by hash.

A file is accepted when its first bytes say PDF, PNG, JPEG, or (a zip container named .xlsx or
.docx) an Office file, up to 10 MB; it is stored once per content under
``<var_dir>/pilots/evidence/<sha256[:2]>/<sha256>``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from shidian.problems import Problem, Source

#: Evidence files (佐证材料): at most this size, of these types (checked by content, not name).
MAX_EVIDENCE_BYTES = 10 * 1024 * 1024
EVIDENCE_TYPES = {
    b"%PDF-": "application/pdf",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"PK\x03\x04": "application/zip",  # .xlsx / .docx are zip containers
}
OFFICE_SUFFIXES = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def evidence_type(data: bytes, filename: str) -> str | None:
    """The content type of an evidence file from its first bytes (PDF, PNG, JPEG, xlsx, docx), or None."""
    for magic, kind in EVIDENCE_TYPES.items():
        if data.startswith(magic):
            if kind == "application/zip":
                return OFFICE_SUFFIXES.get(Path(filename).suffix.lower())
            return kind
    return None


def check_evidence(data: bytes, filename: str) -> tuple[str | None, list[Problem]]:
    """The file's content type, or the problems that refuse it (empty, too large, wrong type)."""
    kind = evidence_type(data, filename)
    if not data:
        return None, [Problem("pilots.evidence.empty", "没有上传文件 (no file)", Source(filename))]
    if len(data) > MAX_EVIDENCE_BYTES:
        return None, [
            Problem("pilots.evidence.too_large", "佐证材料不能超过 10 MB (file too large)", Source(filename))
        ]
    if kind is None:
        return None, [
            Problem(
                "pilots.evidence.type",
                "只接受 PDF、PNG、JPEG、xlsx、docx 文件 (按内容识别) (file type not allowed)",
                Source(filename),
            )
        ]
    return kind, []


def evidence_path(var_dir: Path, sha256: str) -> Path:
    return var_dir / "pilots" / "evidence" / sha256[:2] / sha256


def save_evidence(var_dir: Path, data: bytes) -> str:
    """Store ``data`` (content-addressed: the same file stored once); returns its SHA-256."""
    sha = hashlib.sha256(data).hexdigest()
    path = evidence_path(var_dir, sha)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(path)
    return sha

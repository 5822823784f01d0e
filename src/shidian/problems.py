"""Problems (问题): errors and warnings as values, each naming where it comes from.

A core function returns ``(result, problems)`` instead of raising at the first bad row, so a
user fixes everything in one pass. Any error-severity Problem means nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]

#: How many problems a report prints before summarising the rest.
DEFAULT_REPORT_LIMIT = 200


@dataclass(frozen=True, order=True)
class Source:
    """Where a problem is: a file with row and column, or a policy file with key and line.

    ``row`` is the 1-based row number as a spreadsheet shows it (the header is row 1, so the
    first data row of a CSV is row 2). A record made by code uses a pseudo-file like ``<run>``.
    """

    file: str
    row: int | None = None
    column: str | None = None
    key: str | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.row is not None:
            parts.append(str(self.row))
        if self.column is not None:
            parts.append(self.column)
        if self.key is not None:
            parts.append(self.key)
        return ":".join(parts)


@dataclass(frozen=True)
class Problem:
    """One problem: a stable ``code`` (``domain.subject.reason``), where, a zh-CN message."""

    code: str
    message: str
    where: Source
    severity: Severity = "error"
    details: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def __str__(self) -> str:
        return f"{self.where}: {self.code} {self.message}"

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["where"] = {k: v for k, v in asdict(self.where).items() if v is not None}
        return data


class ProblemsError(Exception):
    """Raised by adapters when a batch of problems stops an operation (imports, runs)."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(format_problems(problems))


Reason = Literal["invalid", "forbidden", "not_found", "conflict"]


class Refused(ProblemsError):
    """A workflow (a domain service) refuses: the input is ``invalid``, the actor is
    ``forbidden``, the object is ``not_found`` (also what a user outside its scope is told), or
    the request ``conflict``s with what is stored. Each door maps the reason once: the web to
    422/403/404/409 in the one error shape, the CLI to exit code 1 with the problems listed."""

    def __init__(self, reason: Reason, problems: list[Problem]):
        super().__init__(problems)
        self.reason = reason


#: The pseudo-file of problems about the request itself (a field of a form or a JSON body).
REQUEST = "<request>"


def request_problem(code: str, message: str, *, column: str | None = None, key: str | None = None) -> Problem:
    """A problem about the request itself (``where.file`` is ``<request>``)."""
    return Problem(code, message, Source(REQUEST, column=column, key=key))


def refusal(reason: Reason, code: str, message: str, *, column: str | None = None) -> Refused:
    """A ``Refused`` with one problem about the request (for a service to raise)."""
    return Refused(reason, [request_problem(code, message, column=column)])


def errors(problems: Iterable[Problem]) -> list[Problem]:
    """The error-severity problems, in order."""
    return [p for p in problems if p.severity == "error"]


def has_errors(problems: Iterable[Problem]) -> bool:
    return any(p.severity == "error" for p in problems)


def format_problems(problems: list[Problem], limit: int = DEFAULT_REPORT_LIMIT) -> str:
    """One line per problem, ``file:row:column: code message``; at most ``limit`` lines."""
    lines = [str(p) for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"…另有 {len(problems) - limit} 个问题未列出 ({len(problems)} problems in all)")
    return "\n".join(lines)


def problems_json(problems: list[Problem]) -> str:
    return json.dumps([p.to_dict() for p in problems], ensure_ascii=False, indent=2)


def problems_from_rows(
    names: list[str],
    rows: Iterable[tuple[object, ...]],
    code: str,
    template: str,
    file: str,
    column: str,
    severity: Severity = "error",
) -> list[Problem]:
    """One Problem per offending row of a check query: ``template`` is formatted with the row's
    values (a blank shown as ``(空)``) and the row's ``_row`` column names the line."""
    found = []
    for values in rows:
        row = dict(zip(names, values, strict=True))
        shown = {k: ("(空)" if v is None else v) for k, v in row.items()}
        found.append(
            Problem(code, template.format(**shown), Source(file, int(str(row["_row"])), column), severity)
        )
    return found

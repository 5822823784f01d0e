"""Paging, filtering and sorting a long list on a page (分页、筛选与排序).

Every list a page shows in full is cut into pages of ``per_page`` rows, with the total; the
``_pager.html`` partial draws "page 2 of 12" and the links, keeping the other query
parameters (the filters). Rows are dicts of text as read from a run's files; sorting a column
of numbers sorts by value, not by text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

PER_PAGE = 50


@dataclass(frozen=True)
class Paged:
    """One page of a list: its rows, the page number (from 1), the page count and the total;
    ``name`` prefixes the query parameters when a page has several lists (``hc_page``)."""

    rows: list[Any]
    page: int
    pages: int
    total: int
    name: str = ""
    params: dict[str, str] = field(default_factory=dict)
    per_page: int = PER_PAGE

    def link(self, page: int) -> str:
        """The query string of another page, keeping the other parameters."""
        return "?" + urlencode({**self.params, self.key("page"): str(page)})

    def key(self, suffix: str) -> str:
        return f"{self.name}_{suffix}" if self.name else suffix

    @property
    def first(self) -> int:
        """The 1-based position of the page's first row (0 when the list is empty)."""
        return 0 if self.total == 0 else (self.page - 1) * self.per_page + 1


Predicate = Callable[[Any], bool]


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, int | Decimal):
        return (0, value)
    try:
        return (0, Decimal(str(value).replace(",", "")))
    except (InvalidOperation, ValueError):
        return (1, str(value))


def paginate(
    request: Request,
    rows: Iterable[Any],
    *,
    name: str = "",
    keep: Predicate | None = None,
    sortable: Sequence[str] = (),
    per_page: int = PER_PAGE,
) -> Paged:
    """The page of ``rows`` the request asks for (``page``; ``sort`` = a column of
    ``sortable``, ``-column`` descending), after the filter ``keep``."""
    params = {k: v for k, v in request.query_params.items()}
    prefix = f"{name}_" if name else ""
    kept = [r for r in rows if keep is None or keep(r)]
    sort = params.get(prefix + "sort", "")
    column = sort.lstrip("-")
    if column in sortable:
        kept.sort(key=lambda r: _sort_key(r.get(column) if isinstance(r, Mapping) else getattr(r, column)))
        if sort.startswith("-"):
            kept.reverse()
    pages = max(1, -(-len(kept) // per_page))
    try:
        page = min(max(1, int(params.get(prefix + "page", "1"))), pages)
    except ValueError:
        page = 1
    start = (page - 1) * per_page
    return Paged(kept[start : start + per_page], page, pages, len(kept), name, params, per_page)


def matches(request: Request, name: str, columns: Mapping[str, str]) -> Predicate:
    """A filter from the query: for each ``{name}_{param}`` given, the row's ``columns[param]``
    equals it (``q`` searches every column as text)."""
    prefix = f"{name}_" if name else ""
    wanted = {
        p: request.query_params.get(prefix + p, "").strip()
        for p in (*columns, "q")
        if request.query_params.get(prefix + p, "").strip()
    }

    def keep(row: Any) -> bool:
        for param, value in wanted.items():
            if param == "q":
                if not any(value in str(v) for v in (row.values() if isinstance(row, Mapping) else ())):
                    return False
            elif str(row.get(columns[param], "")) != value:
                return False
        return True

    return keep

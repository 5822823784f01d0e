"""What the pilot services share: refusing, and the unit tree as the user sees it."""

from __future__ import annotations

from typing import NoReturn

from shidian.pilots.workflow import Refusal
from shidian.problems import Problem, Reason, Refused, Source

#: The problem code of each refusal (the codes the web's HTTP errors carry).
CODES: dict[Reason, str] = {
    "invalid": "request.invalid",
    "forbidden": "auth.forbidden",
    "not_found": "not_found",
    "conflict": "conflict",
}


def refuse(reason: Reason, message: str) -> NoReturn:
    """Raise ``Refused`` with one problem about the request."""
    raise Refused(reason, [Problem(CODES[reason], message, Source("<request>"))])


def allowed(result: str | Refusal) -> str:
    """The workflow's new status, or raise its Refusal (403 forbidden, 409 conflict)."""
    if isinstance(result, Refusal):
        refuse("forbidden" if result.status == 403 else "conflict", result.reason)
    return result


def form_problem(code: str, message: str, column: str | None = None) -> Problem:
    """A problem of a field of the form."""
    return Problem(code, message, Source("<form>", column=column))

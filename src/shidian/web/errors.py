"""The one error path (错误处理): Problems travel as values to the edge and become one shape.

Every JSON error, from every route, is ``{"ok": false, "status": …, "problems": [...]}``, each
problem ``{"code", "message", "where", "severity"}`` with ``where`` always an object with the
keys of ``shidian.problems.Source`` that are set (``file``, ``row``, ``column``, ``key``); a
problem about the request itself names the pseudo-file ``<request>``. Pages show the same
problems as a list. ``tests/web/test_error_shape.py`` pins the shape for every API route.

A service refuses with ``raise Refused(reason, problems)`` (``shidian.problems``), a route with
``raise ProblemsHTTPError(status, problems)``; the handler
installed by ``install`` renders it (JSON for ``/api/`` and ``Accept: application/json``,
the error page otherwise). Login, HTTP and validation errors take the same path.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from shidian.platform.jobs import Busy, Cancelled
from shidian.problems import Problem, Reason, Refused, request_problem

#: Pydantic's error types → the Chinese reason (the English gist follows in parentheses).
VALIDATION_REASONS = {
    "int_parsing": "须为整数",
    "int_type": "须为整数",
    "float_parsing": "须为数字",
    "decimal_parsing": "须为数字",
    "bool_parsing": "须为是/否 (true/false)",
    "date_parsing": "须为日期 (YYYY-MM-DD)",
    "date_from_datetime_parsing": "须为日期 (YYYY-MM-DD)",
    "missing": "缺少必填项",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "greater_than": "数值过小",
    "less_than": "数值过大",
    "string_too_long": "过长",
    "string_too_short": "过短",
    "string_pattern_mismatch": "格式不正确",
    "literal_error": "不是允许的取值",
    "enum": "不是允许的取值",
    "json_invalid": "不是有效的 JSON",
    "model_attributes_type": "格式不正确",
    "dict_type": "格式不正确",
}
#: Where a request's value came from, in Chinese.
LOCATIONS = {
    "query": "查询参数",
    "path": "路径参数",
    "body": "请求内容",
    "header": "请求头",
    "cookie": "Cookie",
}


def validation_message(error: Any) -> str:
    """A request validation error in Chinese with the English gist: ``查询参数 page 须为整数
    (Input should be a valid integer, …)``."""
    loc = [str(part) for part in error.get("loc", ())]
    where = LOCATIONS.get(loc[0], loc[0]) if loc else "请求"
    name = ".".join(loc[1:])
    reason = VALIDATION_REASONS.get(str(error.get("type")), "不正确")
    return f"{where} {name} {reason} ({error.get('msg')})".replace("  ", " ")


#: Stable codes of HTTP errors without problems of their own.
HTTP_CODES = {
    400: "request.invalid",
    422: "request.invalid",
    401: "auth.required",
    403: "auth.forbidden",
    404: "not_found",
    405: "http.method_not_allowed",
    409: "conflict",
    413: "upload.too_large",
    429: "auth.throttled",
}


class WhereOut(BaseModel):
    """Where a problem is: a file with row and column, or a key (``<request>`` for the request)."""

    file: str
    row: int | None = None
    column: str | None = None
    key: str | None = None


class ProblemOut(BaseModel):
    """One problem: a stable code, a message in Chinese and where it is."""

    code: str
    message: str
    where: WhereOut
    severity: Literal["error", "warning"] = "error"


class ErrorOut(BaseModel):
    """The app's one error shape: ``{"ok": false, "status": …, "problems": [...]}``."""

    ok: Literal[False]
    status: int
    problems: list[ProblemOut]


#: HTTP status of each reason a service refuses for (``shidian.problems.Refused``).
STATUS_OF: dict[Reason, int] = {"invalid": 422, "forbidden": 403, "not_found": 404, "conflict": 409}


class ProblemsHTTPError(Exception):
    """Refuse a request with ``status`` and the Problems that say why (the one error path)."""

    def __init__(self, status: int, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.status = status
        self.problems = problems


def problem_out(problem: Problem) -> dict[str, Any]:
    where = {k: v for k, v in vars(problem.where).items() if v is not None}
    return {"code": problem.code, "message": problem.message, "where": where, "severity": problem.severity}


def error_body(status: int, problems: Iterable[Problem]) -> dict[str, Any]:
    """The one JSON error shape."""
    return {"ok": False, "status": status, "problems": [problem_out(p) for p in problems]}


def http_problem(status: int, message: str) -> Problem:
    return request_problem(HTTP_CODES.get(status, "http.error"), message)


def error_response(status: int, problems: list[Problem]) -> JSONResponse:
    return JSONResponse(error_body(status, problems), status_code=status)


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting the error shape for ``codes``."""
    return {code: {"model": ErrorOut} for code in codes}


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def install(app: FastAPI, login_required: type[Exception]) -> None:
    """Install the handlers: every error leaves through ``error_body`` or the error page."""
    from shidian.web.templating import render  # templating reads the app's settings lazily

    def answer(request: Request, status: int, problems: list[Problem]) -> Response:
        if wants_json(request):
            return error_response(status, problems)
        message = "；".join(p.message for p in problems)
        context = {"status": status, "message": message, "problems": problems}
        return render(request, "error.html", context, status)

    @app.exception_handler(login_required)
    async def _login_required(request: Request, _exc: Exception) -> Response:
        if wants_json(request):
            return error_response(401, [http_problem(401, "请先登录 (login required)")])
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> Response:
        return answer(request, STATUS_OF[exc.reason], exc.problems)

    @app.exception_handler(Busy)
    async def _busy(request: Request, exc: Busy) -> Response:  # a lane of long work is taken
        return answer(request, 409, [request_problem("job.busy", str(exc))])

    @app.exception_handler(Cancelled)
    async def _cancelled(request: Request, exc: Cancelled) -> Response:  # stopped as asked
        return answer(request, 409, [request_problem("job.cancelled", str(exc))])

    @app.exception_handler(ProblemsHTTPError)
    async def _problems(request: Request, exc: ProblemsHTTPError) -> Response:
        return answer(request, exc.status, exc.problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        response = answer(request, exc.status_code, [http_problem(exc.status_code, str(exc.detail))])
        response.headers.update(exc.headers or {})  # Retry-After of a 429, WWW-Authenticate …
        return response

    @app.exception_handler(sa.exc.DataError)
    async def _data_error(request: Request, exc: sa.exc.DataError) -> Response:
        # a value the database cannot hold (a NUL in text on PostgreSQL, text longer than its
        # column) that no check caught: the request is invalid, nothing was stored (the
        # request's transaction rolls back); the value itself is not echoed
        nul = "NUL" in str(exc.orig)
        message = (
            "请求中含有空字符 (NUL), 无法保存 (NUL byte in the request)"
            if nul
            else "请求中的某个值过长或格式无效, 无法保存 (a value is too long or invalid)"
        )
        return answer(request, 422, [request_problem("request.invalid", message)])

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            request_problem(
                "request.invalid", validation_message(e), key=".".join(map(str, e.get("loc", ())))
            )
            for e in exc.errors()
        ]
        return error_response(422, problems)  # forms and API alike: a field the page did not send

"""No route runs a settlement on the event loop.

An ``async def`` route runs on the server's event loop: while it computes, every other request of
that worker waits. A workflow that reads uploaded files and settles them (``service.*_uploads``,
``import_dataset``) takes seconds, so an async route must hand it to a thread
(``run_in_threadpool`` / ``anyio.to_thread.run_sync``) rather than call it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import shidian.web

WEB = Path(shidian.web.__file__).parent
HEAVY = ("_uploads", "import_dataset")


def _name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def direct_heavy_calls(source: str) -> list[str]:
    """``function: call`` for each heavy workflow called directly in the body of an ``async def``
    (a call inside a nested ``def`` runs where that function is sent: a thread; an awaited call
    is a coroutine, such as ``read_uploads``)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.AsyncFunctionDef):
            continue
        pending: list[ast.AST] = list(node.body)
        while pending:
            child = pending.pop()
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                continue
            if isinstance(child, ast.Await) and isinstance(child.value, ast.Call):  # a coroutine: awaited
                pending.extend([*child.value.args, *child.value.keywords])
                continue
            if isinstance(child, ast.Call) and _name(child).endswith(HEAVY):
                found.append(f"{node.name}: {_name(child)}")
            pending.extend(ast.iter_child_nodes(child))
    return found


def test_async_routes_send_settlements_to_a_thread() -> None:
    offenders = [
        f"{path.relative_to(WEB)}: {call}"
        for path in sorted(WEB.rglob("*.py"))
        for call in direct_heavy_calls(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_check_sees_a_direct_call() -> None:
    blocking = "async def settle(request):\n    run_id = service.settle_uploads(engine, user)\n"
    threaded = (
        "async def settle(request):\n"
        "    run_id = await run_in_threadpool(service.settle_uploads, engine, user)\n"
        "    def land():\n        return import_dataset(engine)\n"
        "    await anyio.to_thread.run_sync(land)\n"
    )
    assert direct_heavy_calls(blocking) == ["settle: settle_uploads"]
    assert direct_heavy_calls(threaded) == []

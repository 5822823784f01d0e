"""No route runs a settlement, a query or a commit on the event loop.

An ``async def`` route runs on the server's event loop: while it computes or waits on the
database, every other request of that worker waits. A workflow that reads uploaded files and
settles them (``service.*_uploads``, ``import_dataset``) takes seconds, so an async route must
hand it to a thread (``run_in_threadpool`` / ``anyio.to_thread.run_sync``) rather than call it.
Nor may an async function take the request's connection (``Conn``: its queries would run on the
loop) or open one itself (``engine.begin()``/``.connect()``): a route that only needs ``await``
to read its form takes it as ``FormBody`` (``shidian.web.deps``) and is a plain ``def``, which
FastAPI runs in the thread pool; one that must stay async sends its database work to a thread
(``deps.signed_in_work``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import shidian.web

WEB = Path(shidian.web.__file__).parent
HEAVY = ("_uploads", "import_dataset")
#: Opening a connection or a transaction (a pool checkout, ``BEGIN``): blocking calls.
DATABASE = ("begin", "connect")


def _ident(node: ast.expr) -> str:
    """``x`` of ``x`` or of ``module.x``."""
    return node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""


def _name(call: ast.Call) -> str:
    return _ident(call.func)


def _on_the_loop(function: ast.AsyncFunctionDef) -> Iterator[ast.Call]:
    """Each call in the body of ``function`` that runs on the event loop: not one inside a
    nested ``def`` or lambda (it runs where that function is sent: a thread), nor the awaited
    call itself or the context manager of ``async with`` (coroutines; their arguments are)."""
    pending: list[ast.AST] = list(function.body)
    while pending:
        child = pending.pop()
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        if isinstance(child, ast.Await) and isinstance(child.value, ast.Call):  # a coroutine: awaited
            pending.extend([*child.value.args, *child.value.keywords])
            continue
        if isinstance(child, ast.AsyncWith):
            for item in child.items:
                call = item.context_expr
                pending.extend([*call.args, *call.keywords] if isinstance(call, ast.Call) else [call])
            pending.extend(child.body)
            continue
        if isinstance(child, ast.Call):
            yield child
        pending.extend(ast.iter_child_nodes(child))


def _async_functions(source: str) -> Iterator[ast.AsyncFunctionDef]:
    return (node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.AsyncFunctionDef))


def direct_heavy_calls(source: str) -> list[str]:
    """``function: call`` for each heavy workflow called directly in the body of an ``async def``
    (a call inside a nested ``def`` runs where that function is sent: a thread; an awaited call
    is a coroutine)."""
    return [
        f"{node.name}: {_name(call)}"
        for node in _async_functions(source)
        for call in _on_the_loop(node)
        if _name(call).endswith(HEAVY)
    ]


def _is_conn(annotation: ast.expr | None) -> bool:
    """``Conn`` (the request's connection, ``shidian.web.deps``) or a parameter depending on
    ``connection`` itself."""
    if annotation is None:
        return False
    if _ident(annotation) == "Conn":
        return True
    return any(
        isinstance(node, ast.Call)
        and _name(node) == "Depends"
        and any(_ident(arg) == "connection" for arg in node.args)
        for node in ast.walk(annotation)
    )


def database_on_the_loop(source: str) -> list[str]:
    """``function: what`` for each ``async def`` that takes the request's connection (``Conn``)
    or calls ``.begin()``/``.connect()`` in its own body (not in a nested def or lambda sent to a
    thread)."""
    found = []
    for node in _async_functions(source):
        arguments = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
        found += [f"{node.name}: {a.arg}: Conn" for a in arguments if _is_conn(a.annotation)]
        found += [
            f"{node.name}: .{_name(call)}()"
            for call in _on_the_loop(node)
            if isinstance(call.func, ast.Attribute) and call.func.attr in DATABASE
        ]
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


def test_async_functions_keep_the_database_off_the_loop() -> None:
    offenders = [
        f"{path.relative_to(WEB)}: {found}"
        for path in sorted(WEB.rglob("*.py"))
        for found in database_on_the_loop(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_check_sees_a_connection_on_the_loop() -> None:
    blocking = (
        "async def save(request: Request, conn: Conn, user: Editor):\n"
        "    form = await request.form()\n"
        "async def page(request, c: Annotated[sa.Connection, Depends(deps.connection, scope='function')]):\n"
        "    pass\n"
        "async def land(request):\n"
        "    run_id = await run_in_threadpool(service.settle_uploads, engine)\n"
        "    if run_id is None:\n"
        "        with engine.begin() as conn:\n"
        "            return render(request, conn)\n"
        "    return summary(request.app.state.engine.connect())\n"
    )
    threaded = (
        "def save(request: Request, form: FormBody, conn: Conn, user: Editor):\n"
        "    with engine.begin() as other:\n"
        "        pass\n"
        "async def page(request: Request, work: Callable[[sa.Connection, User], T]):\n"
        "    def run():\n"
        "        with get_engine(request).begin() as conn:\n"
        "            return work(conn)\n"
        "    await anyio.to_thread.run_sync(run)\n"
        "    await anyio.to_thread.run_sync(lambda: engine.connect().close())\n"
        "    async with async_engine.begin() as conn:\n"
        "        await conn.execute(query)\n"
    )
    assert database_on_the_loop(blocking) == [
        "save: conn: Conn",
        "page: c: Conn",
        "land: .connect()",
        "land: .begin()",
    ]
    assert database_on_the_loop(threaded) == []

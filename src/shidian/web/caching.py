"""Pages of a published run (已发布结算的页面): rendered once, then served from a cache with
validators (ETag / If-None-Match → 304).

A published run's files never change, so a page of it changes only with who asks (the user
and the user's role, unit and session, which the navigation, the scope and the CSRF token in the
page depend on), the language, the URL (filters, page number), the run's status and the code.
The ETag is a hash of exactly these plus what else the page shows (the runs a user may pick);
the body is kept in a small LRU keyed by it. The route still calls its service first (permission,
scope and the audit event of a personal-data view happen on every request, also on a 304); only
the rendering and the transfer are saved. ``Cache-Control: private, no-cache`` keeps shared
caches out and has the browser revalidate every time.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

from fastapi import Request
from fastapi.responses import Response

from shidian import __version__
from shidian.web.templating import language

CACHE_CONTROL = "private, no-cache"
_MAX_PAGES = 512
_pages: OrderedDict[str, tuple[bytes, str]] = OrderedDict()
_lock = threading.Lock()


def page_etag(request: Request, parts: Sequence[object]) -> str:
    """The strong validator of a page: user, session, language, URL, code version and ``parts``."""
    user = getattr(request.state, "user", None)
    session = request.session.get("csrf", "") if "session" in request.scope else ""
    fields = [__version__, repr(user), session, language.get(), request.url.path, request.url.query]
    fields += [repr(p) for p in parts]
    return '"' + hashlib.sha256("\x00".join(fields).encode()).hexdigest()[:40] + '"'


def cached_page(request: Request, parts: Sequence[object], build: Callable[[], Response]) -> Response:
    """The page ``build`` renders, from the cache when its ETag is known; 304 when the client has it."""
    etag = page_etag(request, parts)
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": "Cookie"}
    if etag in _if_none_match(request):
        return Response(status_code=304, headers=headers)
    with _lock:
        hit = _pages.get(etag)
        if hit is not None:
            _pages.move_to_end(etag)
    if hit is None:
        response = build()
        if response.status_code != 200:
            return response
        hit = (bytes(response.body), response.headers.get("content-type", "text/html; charset=utf-8"))
        with _lock:
            _pages[etag] = hit
            while len(_pages) > _MAX_PAGES:
                _pages.popitem(last=False)
    body, media_type = hit
    return Response(body, media_type=media_type, headers=headers)


def _if_none_match(request: Request) -> set[str]:
    header = request.headers.get("if-none-match", "")
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}

"""Notifications (站内通知): the list, and the unread count the navigation shows.

Each domain's service gives its notices for the user (``pilots``, ``registry``, ``drg``
``service.notifications``, ``capitation.service.notices``); ``platform.notifications`` orders them and tells which are unread.
Opening the list marks everything read. The navigation's count is fetched after the page has
loaded (``hx-trigger="load"``), so no page waits for it.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from shidian.capitation.service import notices as capitation_notices
from shidian.drg.service.notifications import published_notices
from shidian.pilots.service.notifications import pilot_notices
from shidian.platform import notifications
from shidian.platform.accounts import User
from shidian.platform.clock import today
from shidian.registry.service.notifications import followup_notices
from shidian.web.deps import Conn, CurrentUser, client_of
from shidian.web.templating import render

router = APIRouter()


def _notices(conn: sa.Connection, user: User, var_dir: Path) -> list[notifications.Notice]:
    day = today()
    return notifications.newest_first(
        [
            *pilot_notices(conn, user, day),
            *followup_notices(conn, user, day),
            *published_notices(conn, user),
            *capitation_notices(conn, user, var_dir, day),
        ]
    )


@router.get("/notifications", include_in_schema=False)
def notifications_page(request: Request, conn: Conn, user: CurrentUser) -> Response:
    notices = _notices(conn, user, request.app.state.settings.var_dir)
    seen = notifications.seen_at(conn, user.id)
    fresh = set(map(id, notifications.unread(notices, seen)))
    rows = [{"n": n, "unread": id(n) in fresh} for n in notices]
    notifications.mark_viewed(conn, user, len(fresh), client_of(request))
    return render(request, "notifications.html", {"rows": rows, "unread": len(fresh)})


@router.get("/notifications/count", include_in_schema=False)
def notifications_count(request: Request, conn: Conn, user: CurrentUser) -> Response:
    """The unread count as the navigation's badge (empty when nothing is unread)."""
    notices = _notices(conn, user, request.app.state.settings.var_dir)
    count = len(notifications.unread(notices, notifications.seen_at(conn, user.id)))
    badge = (
        f'<span class="badge unread" id="unread-count">{count}</span>'
        if count
        else '<span id="unread-count"></span>'
    )
    return HTMLResponse(badge)

"""Rendering pages: Jinja2 with per-request language, the user, the CSRF token and the nav."""

from __future__ import annotations

import contextvars
import datetime as dt
import functools
from collections.abc import Callable
from importlib import resources
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from shidian import display
from shidian.platform.access import can
from shidian.platform.clock import TIME_ZONE
from shidian.web.i18n import DEFAULT_LANGUAGE, LANGUAGES, translations

language: contextvars.ContextVar[str] = contextvars.ContextVar("language", default=DEFAULT_LANGUAGE)


def _gettext(message: str, **variables: Any) -> str:
    text = translations(language.get()).gettext(message)
    return text % variables if variables else text


def _ngettext(singular: str, plural: str, n: int, **variables: Any) -> str:
    text = translations(language.get()).ngettext(singular, plural, n)
    return text % {"num": n, **variables}


templates = Jinja2Templates(directory=str(resources.files("shidian.web") / "templates"))
#: The templates ship with the code and never change while it runs: compiled once, not checked
#: against their files (a stat of each template and its includes) on every page.
templates.env.auto_reload = False
templates.env.add_extension("jinja2.ext.i18n")
templates.env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
templates.env.globals["LANGUAGES"] = LANGUAGES


def local_time(value: dt.datetime | dt.date | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored time in the bureau's time zone (``shidian.platform.clock.TIME_ZONE``)."""
    return display.date_time(value, TIME_ZONE, fmt)


def _missing_as_none(function: Callable[..., str]) -> Callable[..., str]:
    """A formatter that reads a value the page does not have (Jinja's ``Undefined``, e.g. a key a
    stored record lacks) as None: a dash, never a 500."""

    @functools.wraps(function)
    def formatted(value: object = None, *args: Any, **kwargs: Any) -> str:
        return function(None if isinstance(value, jinja2.Undefined) else value, *args, **kwargs)

    return formatted


templates.env.globals.update({name: _missing_as_none(f) for name, f in display.TEMPLATE_FUNCTIONS.items()})
templates.env.filters["local_time"] = local_time


def gettext(message: str, **variables: Any) -> str:
    """Translate a message for the current request's language (Python side)."""
    return _gettext(message, **variables)


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    user = getattr(request.state, "user", None)
    base = {
        "request": request,
        "user": user,
        "can": (lambda action: user is not None and can(user, action)),
        "csrf_token": request.session.get("csrf", ""),
        "lang": language.get(),
    }
    return templates.TemplateResponse(request, template, {**base, **(context or {})}, status_code=status_code)

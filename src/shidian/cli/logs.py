"""The logging of ``shidian serve``: the application log (``shidian.web.applog``, logger
``shidian.app``) as bare JSON lines to standard error or ``SHIDIAN_LOG_FILE``; uvicorn's own
messages as before, without its access log (query strings) and its tracebacks of failed
requests (exception messages)."""

from __future__ import annotations

import logging
from typing import Any


class _NoTraceback(logging.Filter):
    """Drops uvicorn's record of a failed request (its traceback quotes the exception's message);
    the application log has the request's line with the error's type and frames."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.exc_info is None


def log_config(log_file: str | None) -> dict[str, Any]:
    """The logging configuration of ``shidian serve``: the application log as bare JSON lines to
    standard error (or ``log_file``), uvicorn's own messages (start, stop) as before, its access
    log off and its tracebacks of failed requests dropped."""
    handler: dict[str, Any] = (
        {"class": "logging.FileHandler", "filename": log_file, "encoding": "utf-8", "formatter": "bare"}
        if log_file
        else {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "bare"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"no_traceback": {"()": _NoTraceback}},
        "formatters": {
            "bare": {"format": "%(message)s"},
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        },
        "handlers": {
            "app": handler,
            "server": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "plain",
                "filters": ["no_traceback"],
            },
        },
        "loggers": {
            "shidian.app": {"handlers": ["app"], "level": "INFO", "propagate": False},
            "uvicorn": {"handlers": ["server"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"handlers": ["server"], "level": "INFO", "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }

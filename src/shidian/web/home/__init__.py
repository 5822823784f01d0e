"""The landing page (``pages``)."""

from fastapi import APIRouter

from shidian.web.home import imports, notifications, pages, search

ROUTERS: list[APIRouter] = [pages.router, notifications.router, search.router, imports.router]

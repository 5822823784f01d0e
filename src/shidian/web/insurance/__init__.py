"""The insurance section of the web app: the discharge desk's JSON API and the pages.

``ROUTERS``: the desk's API first (a clerk waits for every answer; see ``web.routers``), then
the pages.
"""

from fastapi import APIRouter

from shidian.web.insurance import api, desk, pages

ROUTERS: list[APIRouter] = [api.router, pages.router, desk.router]

"""The app's routers (路由), one package per domain; ``ROUTERS`` is the order they are included in.

A request is matched against the routes in this order, one by one (≈ 4 µs a route with
FastAPI's included routers): the discharge desk's API, where a clerk waits for every answer,
comes first, then the pages the bench measures (docs/performance.md). No two modules share a
path, so the order changes nothing else.
"""

from fastapi import APIRouter

from shidian.web import admin, auth, capitation, drg, home, pilots, policies, registry, rewards
from shidian.web.insurance import api as insurance_api
from shidian.web.insurance import pages as insurance_pages

ROUTERS: list[APIRouter] = [
    insurance_api.router,
    *drg.ROUTERS,
    *auth.ROUTERS,
    *home.ROUTERS,
    *pilots.ROUTERS,
    *policies.ROUTERS,
    *registry.ROUTERS,
    *admin.ROUTERS,
    insurance_pages.router,
    *rewards.ROUTERS,
    *capitation.ROUTERS,
]

"""Route modules, one per page family; ``ROUTERS`` is the order they are included in.

A request is matched against the routes in this order, one by one (≈ 4 µs a route with
FastAPI's included routers): the discharge desk's API, where a clerk waits for every answer,
comes first, then the pages the bench measures (docs/performance.md). No two modules share a
path, so the order changes nothing else.
"""

from shidian.web import drg
from shidian.web.routes import (
    admin,
    auth,
    home,
    insurance_desk,
    insurance_pages,
    pilots_monitoring,
    pilots_plans,
    pilots_reports,
    pilots_supervision,
    policies,
    registry,
    registry_api,
    rewards,
)

ROUTERS = [
    insurance_desk.router,
    *drg.ROUTERS,
    auth.router,
    home.router,
    pilots_plans.router,
    pilots_monitoring.router,
    pilots_reports.router,
    pilots_supervision.router,
    policies.router,
    registry.router,
    registry_api.router,
    admin.router,
    insurance_pages.router,
    rewards.router,
]

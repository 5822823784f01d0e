"""Route modules, one per page family; ``ROUTERS`` is the order they are included in.

A request is matched against the routes in this order, one by one (≈ 4 µs a route with
FastAPI's included routers): the discharge desk's API, where a clerk waits for every answer,
comes first, then the pages the bench measures (docs/performance.md). No two modules share a
path, so the order changes nothing else.
"""

from shidian.web.admin import ROUTERS as ADMIN
from shidian.web.auth import ROUTERS as AUTH
from shidian.web.home import ROUTERS as HOME
from shidian.web.insurance import api as insurance_api
from shidian.web.insurance import pages as insurance_pages
from shidian.web.pilots import ROUTERS as PILOTS_ROUTERS
from shidian.web.policies import ROUTERS as POLICIES
from shidian.web.registry import ROUTERS as REGISTRY_ROUTERS
from shidian.web.rewards import ROUTERS as REWARDS
from shidian.web.routes import (
    drg_hospitals,
    drg_imports,
    drg_overview,
    drg_runs_pages,
)

ROUTERS = [
    insurance_api.router,
    drg_overview.router,
    drg_runs_pages.router,
    drg_hospitals.router,
    *AUTH,
    *HOME,
    drg_imports.router,
    *PILOTS_ROUTERS,
    *POLICIES,
    *REGISTRY_ROUTERS,
    *ADMIN,
    insurance_pages.router,
    *REWARDS,
]

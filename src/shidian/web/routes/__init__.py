"""Route modules, one per page family; ``ROUTERS`` is the order they are included in."""

from shidian.web.routes import (
    admin,
    auth,
    drg_hospitals,
    drg_imports,
    drg_overview,
    drg_runs_pages,
    home,
    policies,
)

ROUTERS = [
    auth.router,
    home.router,
    drg_overview.router,
    drg_runs_pages.router,
    drg_imports.router,
    drg_hospitals.router,
    policies.router,
    admin.router,
]

"""Route modules, one per page family; ``ROUTERS`` is the order they are included in."""

from shidian.web.routes import admin, auth, home

ROUTERS = [auth.router, home.router, admin.router]

"""The pilot plans' pages and API (试点方案): plans, monitoring and score cards, reports,
supervision. Thin routes over ``shidian.pilots.service``; ``ROUTERS`` in inclusion order."""

from fastapi import APIRouter

from shidian.web.pilots import api, monitoring, plans, reports, supervision

ROUTERS: list[APIRouter] = [plans.router, monitoring.router, api.router, reports.router, supervision.router]

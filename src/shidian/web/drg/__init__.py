"""The DRG pages and API (DRG点数法付费): results, runs, imports; ``ROUTERS`` in matching order."""

from fastapi import APIRouter

from shidian.web.drg import api, pages_imports, pages_results, pages_runs

ROUTERS: list[APIRouter] = [pages_results.router, pages_runs.router, api.router, pages_imports.router]

"""The registry's web door (严重精神障碍患者管理): ``pages`` under ``/registry``, ``api`` under
``/api/registry``; both call ``shidian.registry.service`` and nothing else of the domain's."""

from fastapi import APIRouter

from shidian.web.registry import api, pages

ROUTERS: list[APIRouter] = [pages.router, api.router]

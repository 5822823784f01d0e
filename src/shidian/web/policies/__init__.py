"""政策文件 on the web: the policy pages (``pages``) and API (``api``)."""

from fastapi import APIRouter

from shidian.web.policies import api, pages

ROUTERS: list[APIRouter] = [pages.router, api.router]

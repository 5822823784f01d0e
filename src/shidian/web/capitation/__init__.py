"""医共体按人头总额预付 on the web: the run pages (``pages``) and the JSON API (``api``)."""

from fastapi import APIRouter

from shidian.web.capitation import api, pages

ROUTERS: list[APIRouter] = [api.router, pages.router]

"""系统管理 on the web: users and the audit log (``pages``)."""

from fastapi import APIRouter

from shidian.web.admin import pages

ROUTERS: list[APIRouter] = [pages.router]

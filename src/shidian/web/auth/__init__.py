"""登录/退出 on the web (``pages``)."""

from fastapi import APIRouter

from shidian.web.auth import pages

ROUTERS: list[APIRouter] = [pages.router]

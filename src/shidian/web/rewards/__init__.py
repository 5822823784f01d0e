"""以奖代补 on the web: the allocation pages (``pages``)."""

from fastapi import APIRouter

from shidian.web.rewards import pages

ROUTERS: list[APIRouter] = [pages.router]

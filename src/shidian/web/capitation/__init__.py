"""医共体按人头总额预付 on the web: the run pages (``pages``)."""

from fastapi import APIRouter

from shidian.web.capitation import pages

ROUTERS: list[APIRouter] = [pages.router]

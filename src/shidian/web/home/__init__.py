"""The landing page (``pages``)."""

from fastapi import APIRouter

from shidian.web.home import pages

ROUTERS: list[APIRouter] = [pages.router]

"""The ASGI entry point for servers: ``uvicorn shidian.web.main:app``."""

from shidian.web.app import create_app

app = create_app()

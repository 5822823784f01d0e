"""The web application (网页端): accounts, data import, settlement runs, dashboards.

FastAPI with server-rendered Jinja2 pages, HTMX for interaction and ECharts for charts, every
asset shipped in the package. ``create_app(settings)`` builds the app; ``shidian serve`` runs it.
"""

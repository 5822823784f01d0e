"""Shidian (试点): the software a city or county runs its health-reform pilots on."""

__version__ = "0.1.0"

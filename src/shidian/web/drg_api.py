"""TRANSITIONAL: ``TEXT`` and ``Timestamp`` for the pilots and insurance routes, until they are
rehomed (issue #15). The DRG API's shapes live in ``shidian.web.drg.models``.
"""

from shidian.web.drg.models import TEXT, Timestamp

__all__ = ["TEXT", "Timestamp"]

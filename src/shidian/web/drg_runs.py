"""TRANSITIONAL: ``new_id`` for the insurance web modules, until they are rehomed (issue #15).

DRG runs and datasets live in ``shidian.drg.store`` and ``shidian.drg.service`` now.
"""

from shidian.drg.store import new_id

__all__ = ["new_id"]

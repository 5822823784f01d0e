"""TRANSITIONAL (issue #15): the pilot plans still read the registry's indicators here
(``web/pilots_reports.plan_values``, ``tests/web/pilots/test_registry_feed.py``). The registry's
reports moved to ``shidian.registry.service``; the pilots' service should import
``shidian.registry.service.indicator_values`` and this module be deleted when the two meet."""

from shidian.registry.service import indicator_values

__all__ = ["indicator_values"]

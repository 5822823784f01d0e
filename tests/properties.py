"""How hard the property tests (hypothesis) try: in full on CI, fewer examples locally.

``make test`` is one command everywhere. CI (``CI=true``, as ``.ci/run`` runs) loads the ``ci``
profile: every property runs the examples its test asks for. Elsewhere the ``dev`` profile runs a
fifth of them (at least 3), so a developer's run stays quick; ``HYPOTHESIS_PROFILE=ci make test``
runs the full set locally. The profiles are registered in ``tests/conftest.py``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

PROFILE = (
    "ci" if os.environ.get("CI", "").lower() in ("1", "true") else os.environ.get("HYPOTHESIS_PROFILE", "dev")
)


def examples(full: int) -> int:
    """The examples a property runs: ``full`` in the ci profile, a fifth (at least 3) in dev."""
    return full if PROFILE == "ci" else max(3, full // 5)


def property_settings(full: int, **kwargs: object) -> settings:
    """``settings`` for a slow property: ``examples(full)``, no deadline, no too_slow check."""
    return settings(
        max_examples=examples(full), deadline=None, suppress_health_check=[HealthCheck.too_slow], **kwargs
    )

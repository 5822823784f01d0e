"""Generated documentation pages: ``python -m shidian.docs`` rewrites them (``make docs``)."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path

from shidian.capitation import events as _capitation_events  # noqa: F401
from shidian.capitation.policy import POLICIES as CAPITATION_POLICIES
from shidian.capitation.policy import PRIMARY_CARE_POLICIES
from shidian.drg import events as _drg_events  # noqa: F401  (each module declares its events)
from shidian.drg.policy import PARAMS as DRG_PARAMS
from shidian.insurance import events as _insurance_events  # noqa: F401
from shidian.insurance.policy import GUIDE as INSURANCE_GUIDE
from shidian.insurance.policy import PARAMS as INSURANCE_PARAMS
from shidian.pilots import events as _pilots_events  # noqa: F401
from shidian.platform.audit import EVENTS
from shidian.policy import params_markdown
from shidian.registry import events as _registry_events  # noqa: F401
from shidian.registry.policy import PARAMS as REGISTRY_PARAMS
from shidian.rewards import events as _rewards_events  # noqa: F401
from shidian.rewards.io import reference_markdown as rewards_markdown


def audit_events_markdown() -> str:
    """docs/audit-events.md: every typed audit event, its action code, meaning and details."""
    lines = [
        "# Audit events (审计事件)",
        "",
        "Generated from the event classes (`shidian.platform.audit.EVENTS`) by `make docs`;",
        "`tests/test_docs.py` checks it is current. Each is one row of the audit log: who (user,",
        "role, unit), when, from where (IP, user agent), the action, its target and these details.",
        "",
        "| action | meaning | details | class |",
        "| --- | --- | --- | --- |",
    ]
    for action in sorted(EVENTS):
        event = EVENTS[action]
        details = ", ".join(f"`{f.name}`" for f in dataclasses.fields(event) if f.name != "target") or "—"
        lines.append(f"| `{action}` | {event.summary} | {details} | `{event.__module__}.{event.__name__}` |")
    return "\n".join(lines) + "\n"


PAGES: dict[str, Callable[[], str]] = {
    "docs/audit-events.md": audit_events_markdown,
    "docs/policies/capitation.md": lambda: params_markdown(
        CAPITATION_POLICIES.title, CAPITATION_POLICIES.params
    ),
    "docs/policies/primary-care.md": lambda: params_markdown(
        PRIMARY_CARE_POLICIES.title, PRIMARY_CARE_POLICIES.params
    ),
    "docs/policies/drg.md": lambda: params_markdown("DRG policy parameters (DRG付费政策参数)", DRG_PARAMS),
    "docs/policies/insurance.md": lambda: params_markdown(
        "Resident insurance policy parameters (新农合/城乡居民医保政策参数)",
        INSURANCE_PARAMS,
        INSURANCE_GUIDE,
    ),
    "docs/policies/registry.md": lambda: params_markdown(
        "Registry policy parameters (严重精神障碍患者管理政策参数)", REGISTRY_PARAMS
    ),
    "docs/policies/rewards.md": rewards_markdown,
}


def main(root: Path) -> None:
    for relative, render in PAGES.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "."))

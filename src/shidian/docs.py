"""Generated documentation pages: ``python -m shidian.docs`` rewrites them (``make docs``)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from shidian.drg.policy import PARAMS as DRG_PARAMS
from shidian.insurance.policy import PARAMS as INSURANCE_PARAMS
from shidian.policy import params_markdown
from shidian.registry.policy import PARAMS as REGISTRY_PARAMS
from shidian.rewards.io import reference_markdown as rewards_markdown

PAGES: dict[str, Callable[[], str]] = {
    "docs/policies/drg.md": lambda: params_markdown("DRG policy parameters (DRG付费政策参数)", DRG_PARAMS),
    "docs/policies/insurance.md": lambda: params_markdown(
        "Resident insurance policy parameters (新农合/城乡居民医保政策参数)", INSURANCE_PARAMS
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

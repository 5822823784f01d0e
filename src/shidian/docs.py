"""Generated documentation pages: ``python -m shidian.docs`` rewrites them (``make docs``)."""

from __future__ import annotations

import sys
from pathlib import Path

from shidian.drg.policy import PARAMS as DRG_PARAMS
from shidian.policy import params_markdown

PAGES = {
    "docs/policies/drg.md": lambda: params_markdown("DRG policy parameters (DRG付费政策参数)", DRG_PARAMS),
}


def main(root: Path) -> None:
    for relative, render in PAGES.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "."))

"""DRG point-method payment under a global budget (总额预算下DRG点数法付费).

000 篇6 (贵港市 DRG 付费实施细则) and 篇5 (汕尾 work plan). ``settle`` runs one pooling
region's year; ``read_inputs``/``write_outputs`` are the file adapter; ``explain_case`` tells
the arithmetic of one case. See docs/drg.md.
"""

from shidian.drg.explain import Explanation, explain_case
from shidian.drg.model import DrgInputs, SettlementParams, SettlementResult
from shidian.drg.policy import PARAMS, DrgPolicy, parse_drg_policy
from shidian.drg.settlement import settle

__all__ = [
    "PARAMS",
    "DrgInputs",
    "DrgPolicy",
    "Explanation",
    "SettlementParams",
    "SettlementResult",
    "explain_case",
    "parse_drg_policy",
    "settle",
]

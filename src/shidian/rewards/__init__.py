"""Reward in lieu of subsidy (以奖代补): allocating a fund by verified results, rules as data.

A rule file (``policies/rewards/<name>.toml``, see ``rules``) describes a fund, the facts it
reads and its stages of named steps; ``allocate`` applies it to fact tables keyed by
``unit_code`` in DuckDB SQL, exact to the fen, conserving every pot, and writes each unit's
arithmetic in Chinese (``trail``); ``checks`` verifies the invariants; ``whatif.compare``
shows what a changed parameter would change. Adapters: ``io`` (files), ``store`` (stored
allocations), ``service`` (the workflows the web pages and ``shidian.cli.rewards`` call).
"""

from shidian.rewards.allocation import Allocation, allocate
from shidian.rewards.facts import Facts, FactTable, check_facts
from shidian.rewards.model import StageResult
from shidian.rewards.rules import RewardRules, parse_rules
from shidian.rewards.whatif import compare

__all__ = [
    "Allocation",
    "FactTable",
    "Facts",
    "RewardRules",
    "StageResult",
    "allocate",
    "check_facts",
    "compare",
    "parse_rules",
]

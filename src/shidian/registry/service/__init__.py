"""The registry's workflows (严重精神障碍患者管理业务): one function per workflow, used by every
door (pages, API, CLI). Each takes an open connection (the door owns the transaction), the
acting user and, for the audit log, the client; checks the permission and the user's area;
writes the typed audit event; and returns ``(result, problems)`` for bad input or raises
``shidian.problems.Refused`` (``forbidden``; ``not_found`` also for a patient outside the area).
The import is long work: it takes the engine and runs as a job (``shidian.platform.jobs``, lane
``imports``: one import at a time across the server's processes and the CLI, else 409 ``job.busy``).

=================================  ===============================  ==========================
workflow                           function                         doors
=================================  ===============================  ==========================
register a patient                 ``register_patient``             form, API (import: below)
list / view patients               ``list_patients``,               pages, API
                                   ``patient_detail``
record a follow-up                 ``record_followup``              form, API
team member / team action          ``add_team_member``,             form, API
                                   ``add_team_action``
assign doctor areas                ``assign``, ``unassign``,        form, API
                                   ``list_assignments``
import a registry                  ``import_registry``,             upload (page, API), CLI
                                   ``import_running``
work list / warnings               ``work_list``, ``warnings``      pages, API
indicators                         ``indicators``;                  pages, API; CLI, pilots
                                   ``indicator_values``,
                                   ``unit_indicator_values`` (system)
guardian rewards                   ``reward_list``,                 pages, API; Excel
                                   ``export_rewards``
levels below the checklist         ``lowered_levels``               page, API (township review)
export the patient list            ``export_patients``              Excel
=================================  ===============================  ==========================
"""

from shidian.registry.service.assignments import assign, list_assignments, unassign
from shidian.registry.service.common import policy
from shidian.registry.service.followups import (
    add_team_action,
    add_team_member,
    record_followup,
    save_followup,
)
from shidian.registry.service.imports import acting_user, import_registry, import_running
from shidian.registry.service.patients import (
    check_patient,
    list_patients,
    may_unmask,
    patient_detail,
    register_patient,
    save_patient,
)
from shidian.registry.service.reports import (
    REWARD_CATEGORIES,
    export_patients,
    export_rewards,
    indicator_values,
    indicators,
    lowered_levels,
    reward_list,
    unit_indicator_values,
    warnings,
    work_list,
)

__all__ = [
    "REWARD_CATEGORIES",
    "acting_user",
    "add_team_action",
    "add_team_member",
    "assign",
    "check_patient",
    "export_patients",
    "export_rewards",
    "import_registry",
    "import_running",
    "indicator_values",
    "indicators",
    "list_assignments",
    "list_patients",
    "lowered_levels",
    "may_unmask",
    "patient_detail",
    "policy",
    "record_followup",
    "register_patient",
    "reward_list",
    "save_followup",
    "save_patient",
    "unassign",
    "unit_indicator_values",
    "warnings",
    "work_list",
]

"""The DRG workflows (DRG业务流程), one function each, for every door (CLI, web, demo).

* ``settle_folder`` (settle.py): settle a folder of inputs and write the outputs, all or nothing;
* ``start_run`` / ``execute_run`` / ``cancel_run`` / ``publish_run`` (runs.py): a run of a dataset
  in the background (``shidian.platform.jobs``), cancelling it, a correction of a published run,
  publishing a draft;
* ``check_upload`` / ``import_dataset`` / ``import_uploads`` / ``import_folder`` (datasets.py): the
  first three take the engine and run as an import job (``shidian.platform.jobs``, lane
  ``imports``: one at a time across the server's processes, 409 ``job.busy`` otherwise, with
  their stages); ``import_running`` shows the running import, ``recover_imports`` cleans up
  after a stopped server;
* ``explain_case`` (explain.py) and ``explain_run_case`` (results.py): one case, explained;
* results.py: which run a user sees, a hospital's cases, downloads, two runs compared.

A function that writes takes the caller's open connection (the door owns the transaction) —
long work (imports, runs) takes the engine instead and owns its short transactions —
the acting user and the client for the audit log; it returns ``(result, problems)`` for input
problems and raises ``shidian.problems.Refused`` for forbidden, not found and conflicts.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shidian.drg.service.datasets import (
        check_upload,
        import_dataset,
        import_folder,
        import_running,
        import_uploads,
        recover_imports,
    )
    from shidian.drg.service.explain import explain_case
    from shidian.drg.service.results import explain_run_case
    from shidian.drg.service.runs import cancel_run, execute_run, executor, publish_run, start_run
    from shidian.drg.service.settle import settle_folder

#: Each workflow's module, imported when first asked for: ``shidian drg settle`` needs only
#: settle.py, not the database layer the web's workflows bring (a second of start-up).
_MODULES = {
    "check_upload": "datasets",
    "import_dataset": "datasets",
    "import_folder": "datasets",
    "import_running": "datasets",
    "import_uploads": "datasets",
    "recover_imports": "datasets",
    "explain_case": "explain",
    "explain_run_case": "results",
    "cancel_run": "runs",
    "execute_run": "runs",
    "executor": "runs",
    "publish_run": "runs",
    "start_run": "runs",
    "settle_folder": "settle",
}


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)


__all__ = [
    "cancel_run",
    "check_upload",
    "execute_run",
    "executor",
    "explain_case",
    "explain_run_case",
    "import_dataset",
    "import_folder",
    "import_running",
    "import_uploads",
    "publish_run",
    "recover_imports",
    "settle_folder",
    "start_run",
]

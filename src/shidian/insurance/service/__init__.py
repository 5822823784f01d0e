"""The insurance domain's workflows (services): one function per workflow.

Each takes an open ``sa.Connection`` (the door owns the transaction; a batch run and an import,
which take seconds, take the engine and run as jobs of ``shidian.platform.jobs``), the acting ``User`` and an optional audit ``Client``;
checks permission and scope, logs its typed audit event (``insurance.events``), and returns its
result (with the input problems where there can be some) or raises ``Refused``.

* ``datasets.import_dataset``: import persons, institutions, claims (web upload; an import job of
  the lane ``imports``; the demo and test fixtures call its unaudited body ``import_insurance_dataset``);
* ``runs.run_dataset``: the annual batch of a dataset (web; the demo: ``run_insurance_batch``); ``runs.view_run``,
  ``runs.run_download``: a run's page and files; the CLI runs files with
  ``batch_files.reimburse_files``, the same read → reimburse → write course;
* ``desk.post_claim``, ``desk.reverse_claim``, ``desk.read_claim``, ``desk.desk_overview``:
  the discharge desk (price and record, 冲正, read back, summary and recent claims);
* ``overview.overview``: the insurance page.
"""

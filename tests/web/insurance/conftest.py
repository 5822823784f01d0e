"""An insurance county on top of ``web_app``: persons and institutions of 2010 (county-2010).

Institutions H1 and H3 are the hospitals of the hospital users ``h1`` and ``h3``. Each test
uses its own persons, so that the session's one database serves every test independently.
"""

from __future__ import annotations

import csv
import io
import socket
import threading
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi import FastAPI

from shidian.insurance.service.datasets import import_insurance_dataset
from tests.insurance.helpers import id_number
from tests.waiting import PATIENCE, wait_until

#: person id → (category, insured). One or a few persons per test.
PERSONS = {
    "P01": ("general", 1),  # idempotency
    "P02": ("wubao", 1),  # reversal frees the cap
    "P03": ("general", 1),  # access
    "P04": ("general", 0),  # not insured this year
    "P05": ("general", 1),  # bad input
    "P06": ("general", 1),  # desk and batch agree
    "P07": ("wubao", 1),  # concurrency
    "P08": ("general", 1),  # concurrency, several persons at once
    "P09": ("general", 1),
    "P10": ("general", 1),
}
#: (id, name, level, designated, in county)
INSTITUTIONS = (
    ("H1", "平南县第一卫生院", 1, 1, 1),
    ("H3", "贵港市人民医院", 3, 1, 1),
    ("C2", "县人民医院", 2, 1, 1),
    ("S3", "市中心医院 (县外)", 3, 1, 0),
    ("N1", "民营诊所", 1, 0, 1),
)


def _csv(header: list[str], rows: list[list[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def county_files() -> list[tuple[str, bytes]]:
    persons = [
        [pid, id_number(n), f"张小{n}", f"HH{n}", category, "152922001001", insured]
        for n, (pid, (category, insured)) in enumerate(PERSONS.items(), start=1)
    ]
    return [
        (
            "persons.csv",
            _csv(
                ["person_id", "id_number", "name", "household_id", "category", "village_code", "insured"],
                persons,
            ),
        ),
        (
            "institutions.csv",
            _csv(
                ["institution_id", "name", "level", "designated", "in_county"],
                [list(r) for r in INSTITUTIONS],
            ),
        ),
    ]


@pytest.fixture(scope="session")
def insurance_app(web_app: FastAPI) -> FastAPI:
    """``web_app`` with the 2010 insurance county imported (once per database)."""
    if not getattr(web_app.state, "insurance_dataset_id", None):
        with web_app.state.engine.begin() as conn:
            dataset_id, problems = import_insurance_dataset(
                conn, web_app.state.settings.var_dir, county_files(), "county-2010", "测试县 2010", None
            )
        assert dataset_id is not None, problems
        web_app.state.insurance_dataset_id = dataset_id
    return web_app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def insurance_server(insurance_app: FastAPI) -> Iterator[tuple[str, int]]:
    """The app served by uvicorn on a free loopback port: (host, port)."""
    port = _free_port()
    config = uvicorn.Config(insurance_app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, "uvicorn did not start")
    yield "127.0.0.1", port
    server.should_exit = True
    thread.join(timeout=PATIENCE)

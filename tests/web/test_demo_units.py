"""Demo users belong to fitting units (issue 19 item 5): the doctor to the township whose villages
the registry demo assigns to the doctor (平南镇)."""

from __future__ import annotations

from shidian.demo import pilots_web, registry_web
from shidian.demo.web import DEMO_USERS


def test_the_doctor_belongs_to_the_township_of_its_patients():
    units = {username: unit for username, _, _, unit, _ in DEMO_USERS}
    first_township = registry_web.TOWNSHIPS[0]
    assert units["doctor"] == first_township[0] == pilots_web.TOWNSHIPS[0][0]
    assert first_township[1] == "平南镇"

"""In-app notifications (issue 19 item 10): a report returned reaches its unit with the reason and
an unread count; opening the list reads them; a hospital hears of a published settlement and is
sent to its own statement; a rectification overdue reaches the visited unit."""

from __future__ import annotations

import re

from tests.web.pilots.conftest import TOWN_B


def _count(client) -> int:  # type: ignore[no-untyped-def]
    badge = client.get("/notifications/count").text
    found = re.search(r">(\d+)<", badge)
    return int(found.group(1)) if found else 0


def test_a_returned_report_is_notified_until_read(pilots_app, plan_id, pilot_client):
    path = f"/pilots/reports/{plan_id}/{TOWN_B}/2021-01-01"
    town, office = pilot_client("town_b"), pilot_client("pilot_office")
    town.get("/notifications")  # read whatever came before
    assert _count(town) == 0
    values = {"num|TOWNSHIP_WORKGROUP|": "1", "num|TOWNSHIP_HC_PSY_STAFF|": "1", "action": "submit"}
    assert town.post(path, data=values, follow_redirects=False).status_code == 303
    returned = office.post(f"{path}/return", data={"comment": "人员数需核实"}, follow_redirects=False)
    assert returned.status_code == 303
    assert _count(town) == 1
    assert 'id="notifications-link"' in town.get("/policies").text  # the navigation asks for the count
    page = town.get("/notifications")
    row = page.text.split('data-kind="report_returned"')[1].split("</tr>")[0]
    assert "人员数需核实" in row and path in row and "unread" in page.text
    assert _count(town) == 0  # opening the list read it
    assert "人员数需核实" in town.get("/notifications").text  # still listed, no longer new


def test_a_hospital_hears_of_a_published_settlement(client_for, run_id):
    h1 = client_for("h1")
    page = h1.get("/notifications")
    assert page.status_code == 200
    assert f"/drg/hospitals/H1?run={run_id}" in page.text and 'data-kind="run_published"' in page.text
    assert client_for("reporter").get("/notifications").status_code == 200

"""The one formatter (issue 19 item 6): money with separators at the fen, points to 2 places,
point values to 4, ratios as %, targets as the plan writes them; exact digits, no float."""

from __future__ import annotations

from decimal import Decimal

from shidian import display


def test_points_on_a_page_have_separators_and_two_places_half_up():
    assert display.points(Decimal("19055897.00838765")) == "19,055,897.01"
    assert display.points(Decimal("1477657.20430005")) == "1,477,657.20"
    assert display.points(Decimal("0.00500000")) == "0.01"  # half up, never to even
    assert display.points(None) == display.DASH


def test_a_point_value_shows_four_places():
    assert display.point_value(Decimal("142.75214120")) == "142.7521"
    assert display.point_value("0.0088287334616784") == "0.0088"


def test_money_has_separators_and_reads_text_cells_exactly():
    assert display.yuan("2686474.69") == "2,686,474.69"
    assert display.yuan(Decimal("-7356.205")) == "-7,356.21"  # half away from zero
    assert display.yuan("") == display.DASH and display.number("") == display.DASH
    assert display.number("2910") == "2,910"


def test_targets_read_as_the_plan_writes_them():
    assert display.target(Decimal("86.00000000")) == "86"
    assert display.target(Decimal("100.00000000"), ">=") == ">= 100"
    assert display.target(Decimal("2.80000000")) == "2.8"


def test_ratios_are_percentages():
    assert display.percent(Decimal("0.9193")) == "91.93%"
    assert display.percent(Decimal("0.919349"), 2) == "91.93%"
    assert display.percent(Decimal("0.919350"), 2) == "91.94%"


def test_a_result_column_is_formatted_by_its_name():
    assert display.cell("year_points", Decimal("1477657.20430005")) == "1,477,657.20"
    assert display.cell("point_value", Decimal("1.71759238")) == "1.7176"
    assert display.cell("entitlement", Decimal("16634.4")) == "16,634.40"
    assert display.cell("assessment_coefficient", Decimal("1.00000000")) == "1.00000000"
    assert display.cell("cases", 12345) == "12,345"
    assert display.cell("month", 3) == "3"
    assert display.cell("name", "港城街道") == "港城街道"


def test_a_measured_value_shows_two_places_without_trailing_zeros():
    assert display.measured(Decimal("86.00000000")) == "86"
    assert display.measured(Decimal("83.33333333")) == "83.33"
    assert display.measured(Decimal("2.67857143")) == "2.68"
    assert display.measured(None) == display.DASH

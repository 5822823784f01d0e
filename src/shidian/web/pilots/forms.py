"""The report form on the page (填报表): its rows, and the values typed into it."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from shidian.pilots.entry import Entry, IndicatorSpec, population_label
from shidian.problems import Problem, Source


def form_rows(
    specs: list[IndicatorSpec], values: dict[tuple[str, str], tuple[Any, Any]]
) -> list[dict[str, Any]]:
    rows = []
    for spec in specs:
        for population in spec.populations:
            num, den = values.get((spec.code, population), (None, None))
            rows.append(
                {
                    "code": spec.code,
                    "name": spec.name,
                    "kind": spec.kind,
                    "unit": spec.unit,
                    "population": population,
                    "population_label": population_label(population) if population else "",
                    "num": shown_value(num),
                    "den": shown_value(den),
                }
            )
    return rows


def shown_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    number = Decimal(str(value))
    return str(int(number)) if number == number.to_integral_value() else format(number.normalize(), "f")


def parse_form_values(
    form: Any, specs: list[IndicatorSpec]
) -> tuple[list[Entry], dict[tuple[str, str], tuple[str, str]], list[Problem]]:
    """The entries typed into the form (blank rows skipped) and number-format problems."""
    entries: list[Entry] = []
    raw: dict[tuple[str, str], tuple[str, str]] = {}
    problems: list[Problem] = []
    for spec in specs:
        for population in spec.populations:
            key = f"{spec.code}|{population}"
            num_text = str(form.get(f"num|{key}", "") or "").strip()
            den_text = str(form.get(f"den|{key}", "") or "").strip()
            raw[(spec.code, population)] = (num_text, den_text)
            if not num_text and not den_text:
                continue
            numbers: list[Decimal | None] = []
            for text, field in ((num_text, "分子/数值"), (den_text, "分母")):
                number = parse_number(text)
                if text and number is None:
                    group = f" ({population_label(population)})" if population else ""
                    problems.append(
                        Problem(
                            "pilots.entry.not_number",
                            f"指标 {spec.code} {spec.name}{group}: {field} “{text[:40]}” 不是数字 (not a number)",
                            Source("<form>", column=field),
                        )
                    )
                numbers.append(number)
            entries.append(Entry(spec.code, population, numbers[0], numbers[1]))
    return entries, raw, problems


def parse_number(text: str) -> Decimal | None:
    if not text:
        return None
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None
    return value if value.is_finite() and abs(value) < Decimal("1e20") else None

"""How KPI values read: money, percentages, hours, days and scores in the reader's locale."""

from __future__ import annotations

from typing import Protocol

from babel.numbers import format_decimal, format_percent

from touchline import i18n


class Shown(Protocol):
    unit: str
    decimals: int


def format_kpi_value(value: float | None, kpi: Shown) -> str:
    """Return ``value`` formatted for ``kpi``'s unit and decimals; a dash for no value."""
    if value is None:
        return "–"
    decimals = "." + "0" * kpi.decimals if kpi.decimals else ""
    locale = i18n.babel_locale()
    if kpi.unit == "ratio":
        return format_percent(value, format=f"#,##0{decimals} %", locale=locale)
    text = format_decimal(value, format=f"#,##0{decimals}", locale=locale)
    if kpi.unit == "hours":
        return f"{text} h"
    return text

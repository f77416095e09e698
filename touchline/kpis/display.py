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


def sparkline(history: list[tuple[str, float | None]], *, width: int = 90, height: int = 22) -> str:
    """Return an inline SVG line of the values in ``history`` (gaps where no value).

    The numbers themselves stand next to it in the page, for screen readers and for trust;
    the line only shows the direction.
    """
    values = [value for _label, value in history if value is not None]
    if len(values) < 2:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = width / max(len(history) - 1, 1)
    segments: list[list[str]] = [[]]
    for index, (_label, value) in enumerate(history):
        if value is None:
            if segments[-1]:
                segments.append([])
            continue
        x = index * step
        y = height - 2 - (value - low) / span * (height - 4)
        segments[-1].append(f"{x:.1f},{y:.1f}")
    lines = "".join(
        f'<polyline points="{" ".join(points)}" fill="none" stroke="currentColor" '
        f'stroke-width="1.5"/>'
        for points in segments
        if len(points) > 1
    )
    return (
        f'<svg class="sparkline" width="{width}" height="{height}" viewBox="0 0 {width} '
        f'{height}" aria-hidden="true" focusable="false">{lines}</svg>'
    )

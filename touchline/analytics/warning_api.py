"""JSON routes of the early warnings, the recognition of progress and the funnel.

The same services as the pages, so the same reach: a manager gets their units and their
sellers, a seller only themself, leaders everyone. A period not yet analysed answers
``computed: false``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from touchline.analytics import funnel_views, recognition, warning_views
from touchline.deps import Db, SignedIn
from touchline.kpis.service import chosen_period
from touchline.org.service import get_seller

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])


def _kpi(row: warning_views.WarningRow) -> str | None:
    return row.kpi.code if row.kpi is not None else None


@router.get("/warnings")
def warnings(
    db: Db, actor: SignedIn, period: str | None = None, seller: str | None = None
) -> dict[str, Any]:
    """The early warnings of the period (the running quarter by default) the viewer may
    see, optionally of one seller (external id), with each warning's decision rule."""
    chosen = chosen_period(period)
    focus = get_seller(db, actor=actor, external_id=seller) if seller else None
    view = warning_views.warnings_view(db, actor=actor, period=chosen)
    rows = [
        row
        for row in view.rows
        if focus is None or (row.seller is not None and row.seller["id"] == focus.id)
    ]
    return {
        "period": chosen.label,
        "computed": view.computed,
        "as_of": view.as_of,
        "elapsed_share": view.fraction,
        "status": view.status,
        "trend_confidence": view.confidence,
        "warnings": [
            {
                "kind": row.kind,
                "severity": row.severity,
                "subject": row.subject,
                "seller": row.seller["external_id"] if row.seller else None,
                "seller_name": row.seller["name"] if row.seller else None,
                "unit": row.unit["external_id"],
                "unit_name": row.unit["name"],
                "kpi": _kpi(row),
                "decision_rule": row.rule,
                "facts": {key: value for key, value in row.line.items() if key != "rule"},
            }
            for row in rows
        ],
        "teams": [] if focus else view.teams,
    }


@router.get("/recognition")
def recognition_list(
    db: Db, actor: SignedIn, period: str | None = None, seller: str | None = None
) -> dict[str, Any]:
    """Each visible seller's progress against their own baseline, and per managed unit
    the recognised sellers (most improved first) next to its top results."""
    chosen = chosen_period(period)
    focus = get_seller(db, actor=actor, external_id=seller) if seller else None
    view = recognition.recognition_view(db, actor=actor, period=chosen)
    sellers = [item for item in view.sellers if focus is None or item.seller["id"] == focus.id]
    return {
        "period": chosen.label,
        "computed": view.computed,
        "periods": view.periods,
        "confidence": view.confidence,
        "min_change": view.min_change,
        "units": [
            {
                "unit": unit.unit["external_id"],
                "name": unit.unit["name"],
                "improving": [item.seller["external_id"] for item in unit.improving],
                "top": [
                    {"seller": person["external_id"], "value": value} for person, value in unit.top
                ],
            }
            for unit in ([] if focus else view.units)
        ],
        "sellers": [
            {
                "seller": item.seller["external_id"],
                "name": item.seller["name"],
                "recognised": [progress.kpi.code for progress in item.recognised],
                "kpis": [{**progress.facts} for progress in item.progress],
            }
            for item in sellers
        ],
    }


@router.get("/funnel")
def funnel_list(
    db: Db,
    actor: SignedIn,
    period: str | None = None,
    seller: str | None = None,
    unit: str | None = None,
) -> dict[str, Any]:
    """Conversion and time in stage of each visible seller against their unit, the
    managed units, and the company for leaders; ``seller`` or ``unit`` narrow it."""
    chosen = chosen_period(period)
    view = funnel_views.funnel_view(db, actor=actor, period=chosen, seller=seller, unit=unit)
    payload = view.payload
    return {
        "period": chosen.label,
        "computed": view.computed,
        "as_of": payload.get("as_of"),
        "window": payload.get("window"),
        "mode": payload.get("mode"),
        "stages": payload.get("stages", []),
        "steps": payload.get("steps", []),
        "confidence": payload.get("confidence"),
        "company": view.company,
        "units": view.units,
        "sellers": view.sellers,
    }

"""The stored funnel as a viewer may see it: for the page, its chart and download, and
the API. A manager sees their units and their sellers, a seller themself (each against
their unit), leaders the company too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from touchline.analytics.funnel import KEY, OPEN_STAGE, WON
from touchline.analytics.warning_cache import read_payload
from touchline.auth.policy import Actor
from touchline.errors import InvalidInput
from touchline.i18n import gettext as _
from touchline.org.models import Seller
from touchline.org.periods import Period
from touchline.org.service import get_seller
from touchline.web.exports import Table


@dataclass
class FunnelView:
    """The funnel of a period as far as the viewer reaches: the units they manage, the
    sellers they may see (each against their unit), the company for leaders."""

    period: Period
    computed: bool
    payload: dict[str, Any] = field(default_factory=dict)
    units: list[dict[str, Any]] = field(default_factory=list)
    sellers: list[dict[str, Any]] = field(default_factory=list)
    company: dict[str, Any] | None = None

    @property
    def steps(self) -> list[dict[str, str]]:
        return list(self.payload.get("steps", []))

    @property
    def stages(self) -> list[str]:
        return list(self.payload.get("stages", []))


def funnel_view(
    session: Session,
    *,
    actor: Actor,
    period: Period,
    seller: str | None = None,
    unit: str | None = None,
) -> FunnelView:
    """Return the stored funnel of ``period`` that ``actor`` may see, optionally for one
    seller or one unit (by external id); refuses a seller the actor may not see and a
    unit they do not manage, naming the field."""
    focus = get_seller(session, actor=actor, external_id=seller) if seller else None
    payload = read_payload(session, period, KEY)
    if payload is None:
        return FunnelView(period, computed=False)
    team: int | None = focus.unit_id if focus is not None else None
    if unit:
        team = next(
            (
                int(unit_id)
                for unit_id, entry in payload.get("units", {}).items()
                if entry["external_id"] == unit and actor.can_manage_unit(int(unit_id))
            ),
            None,
        )
        if team is None:
            raise InvalidInput(
                _("No unit %(id)s in the funnel that you may see.", id=repr(unit)), field="unit"
            )
    visible = set(session.scalars(select(Seller.id).where(actor.sellers_clause())))
    sellers = [
        {"id": int(seller_id), **entry}
        for seller_id, entry in payload.get("sellers", {}).items()
        if int(seller_id) in visible
        and (focus is None or int(seller_id) == focus.id)
        and (team is None or entry["unit_id"] == team)
    ]
    units = [
        {"id": int(unit_id), **entry}
        for unit_id, entry in payload.get("units", {}).items()
        if actor.can_manage_unit(int(unit_id)) and (team is None or int(unit_id) == team)
    ]
    whole = actor.sees_all and focus is None and team is None
    return FunnelView(
        period,
        computed=True,
        payload=payload,
        units=sorted(units, key=lambda unit: str(unit["name"])),
        sellers=sorted(sellers, key=lambda row: str(row["name"])),
        company=payload.get("company") if whole else None,
    )


def flagged(row: dict[str, Any]) -> bool:
    """True when a seller loses deals at a step or is slow in a stage."""
    return any(step["loses"] for step in row["steps"]) or any(t["slow"] for t in row["times"])


def stage_label(stage: str) -> str:
    """Return a stage's name as shown: the outcome stages translated, imported ones as is."""
    return {
        OPEN_STAGE: _("open"),
        WON: _("won"),
        "created": _("created"),
        "closed": _("closed"),
    }.get(stage, stage)


def funnel_table(view: FunnelView) -> Table:
    """Return one row per visible seller and step, next to the unit's figures."""
    rows = []
    for row in view.sellers:
        for step, mine in zip(view.steps, row["steps"], strict=True):
            time: dict[str, Any] = next((t for t in row["times"] if t["stage"] == step["from"]), {})
            rows.append(
                [
                    row["external_id"],
                    row["name"],
                    step["from"],
                    step["to"],
                    mine["entered"],
                    mine["advanced"],
                    mine["lost"],
                    mine["open"],
                    mine["rate"],
                    mine["low"],
                    mine["high"],
                    mine["unit_rate"],
                    mine["loses"],
                    time.get("median"),
                    time.get("low"),
                    time.get("high"),
                    time.get("unit_median"),
                    time.get("slow"),
                ]
            )
    return Table(
        _("Funnel"),
        [
            "seller",
            "name",
            "from_stage",
            "to_stage",
            "entered",
            "advanced",
            "lost",
            "still_open",
            "conversion",
            "conversion_low",
            "conversion_high",
            "unit_conversion",
            "loses_deals_here",
            "median_days_in_stage",
            "median_low",
            "median_high",
            "unit_median_days",
            "slow_here",
        ],
        rows,
    )


@dataclass(frozen=True)
class FunnelChart:
    """The funnel chart of the page's headline group, with the numbers behind it."""

    who: str
    option: dict[str, Any]
    table: Table


def funnel_chart(view: FunnelView) -> FunnelChart | None:
    """Return the chart of the one visible seller, else the one unit, else the company;
    None when the viewer sees none of them."""
    if len(view.sellers) == 1:
        who, reached = view.sellers[0]["name"], view.sellers[0]["reached"]
    elif len(view.units) == 1:
        who, reached = view.units[0]["name"], view.units[0]["reached"]
    elif view.company is not None:
        who, reached = _("The company"), view.company["reached"]
    else:
        return None
    labels = [stage_label(stage) for stage in view.payload.get("funnel", [])]
    data = [{"name": label, "value": value} for label, value in zip(labels, reached, strict=True)]
    option = {
        "tooltip": {"trigger": "item"},
        "series": [
            {
                "type": "funnel",
                "left": "10%",
                "width": "80%",
                "sort": "none",
                "label": {"show": True, "position": "inside", "formatter": "{b}: {c}"},
                "data": data,
            }
        ],
    }
    table = Table(_("Funnel"), [_("Stage"), _("Deals")], [[d["name"], d["value"]] for d in data])
    return FunnelChart(str(who), option, table)

"""The team heatmap: every seller of a unit against the KPIs on their cards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from touchline.auth.policy import Actor, UnitTree
from touchline.errors import NotFound
from touchline.i18n import gettext as _
from touchline.kpis.catalogue import display_name
from touchline.kpis.metrics import Level
from touchline.kpis.models import Kpi
from touchline.kpis.scorecards import LEVELS, CardLine, Scorecard, build_cards
from touchline.org.models import Seller, Unit
from touchline.org.periods import Period


@dataclass
class Heatmap:
    """Sellers x KPIs of a unit for a period, coloured by attainment."""

    unit: Unit
    period: Period
    columns: list[Kpi]
    column_names: list[str]
    cards: list[Scorecard]
    sort: str
    descending: bool

    def cell(self, card: Scorecard, kpi: Kpi) -> CardLine | None:
        for line in card.lines:
            if line.kpi.id == kpi.id:
                return line
        return None


def unit_heatmap(
    session: Session,
    *,
    actor: Actor,
    unit: Unit,
    period: Period,
    sort: str = "name",
    descending: bool = False,
    today: date | None = None,
) -> Heatmap:
    """Return the heatmap of the sellers in ``unit`` and below that the actor may see.

    ``sort`` is ``name``, ``index`` (the balanced index) or a KPI code (its attainment);
    sellers without a value sort last either way. Refuses a unit the actor may not see.
    """
    if not actor.can_see_unit(unit.id):
        raise NotFound(_("There is no unit %(id)s that you may see.", id=unit.external_id))
    units = UnitTree.load(session).subtree(unit.id)
    sellers = list(
        session.scalars(
            select(Seller)
            .where(Seller.unit_id.in_(units), Seller.active, actor.sellers_clause())
            .order_by(Seller.name)
        )
    )
    cards = build_cards(session, sellers, period, today=today)
    columns: dict[int, tuple[tuple[int, int], Kpi]] = {}
    for card in cards:
        for position, line in enumerate(card.lines):
            key = (LEVELS.index(Level(line.kpi.level)), position)
            if line.kpi.id not in columns or key < columns[line.kpi.id][0]:
                columns[line.kpi.id] = (key, line.kpi)
    ordered = [kpi for _key, kpi in sorted(columns.values(), key=lambda item: item[0])]

    def sort_key(card: Scorecard) -> tuple[bool, float | str]:
        if sort == "name":
            return (False, card.seller.name.casefold())
        if sort == "index":
            value = card.balanced_index
        else:
            line = next((ln for ln in card.lines if ln.kpi.code == sort), None)
            value = line.attainment if line else None
        if value is None:
            return (True, 0.0)
        return (False, -value if descending else value)

    cards.sort(key=sort_key)
    if sort == "name" and descending:
        cards.reverse()
    return Heatmap(
        unit, period, ordered, [display_name(k) for k in ordered], cards, sort, descending
    )

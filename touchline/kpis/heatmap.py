"""The team heatmap: every seller of a unit against the KPIs on their cards, raw (by
attainment) or fair (the result KPIs by their fair ratio, where the analytics computed one).

The fair ratios come from the analytics, which sit above the KPIs: they register where
the heatmap reads them (``register_fair_ratios``), so this module imports none of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from touchline.auth.policy import Actor, UnitTree
from touchline.errors import InvalidInput, NotFound
from touchline.i18n import gettext as _
from touchline.kpis.catalogue import display_name
from touchline.kpis.metrics import Level
from touchline.kpis.models import Kpi
from touchline.kpis.scorecards import LEVELS, CardLine, Scorecard, build_cards
from touchline.org.models import Seller, Unit
from touchline.org.periods import Period

VIEWS = ("raw", "fair")
# A fair ratio from 100 % is green (at or above what the seller's factors predict), from
# 90 % amber, below that red.
FAIR_GREEN_FROM = 1.0
FAIR_AMBER_FROM = 0.9
# (session, period, seller ids) -> fair ratio per (seller id, KPI code); empty before a run.
FairRatios = Callable[[Session, Period, list[int]], dict[tuple[int, str], float]]
_FAIR_RATIOS: list[FairRatios] = []


def register_fair_ratios(source: FairRatios) -> None:
    """Make ``source`` the provider of the fair view's ratios (replacing any before)."""
    _FAIR_RATIOS[:] = [source]


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
    view: str = "raw"
    fair: dict[tuple[int, str], float] = field(default_factory=dict)

    @property
    def fair_missing(self) -> bool:
        """True in the fair view when no fair ratio of this period is stored."""
        return self.view == "fair" and not self.fair

    def fair_cell(self, card: Scorecard, kpi: Kpi) -> tuple[float, str] | None:
        """Return the fair ratio and its light of a result KPI in the fair view, else None."""
        if self.view != "fair" or kpi.level != Level.RESULT:
            return None
        ratio = self.fair.get((card.seller.id, kpi.code))
        if ratio is None:
            return None
        if ratio >= FAIR_GREEN_FROM:
            return ratio, "green"
        return ratio, "amber" if ratio >= FAIR_AMBER_FROM else "red"

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
    view: str = "raw",
) -> Heatmap:
    """Return the heatmap of the sellers in ``unit`` and below that the actor may see.

    ``sort`` is ``name``, ``index`` (the balanced index) or a KPI code (its attainment);
    sellers without a value sort last either way. ``view`` fair shows and sorts the result
    KPIs by their fair ratio. Refuses a unit the actor may not see and an unknown view.
    """
    if view not in VIEWS:
        raise InvalidInput(_("The view is raw or fair, not %(view)s.", view=view), field="view")
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
    fair: dict[tuple[int, str], float] = {}
    if view == "fair" and _FAIR_RATIOS:
        fair = _FAIR_RATIOS[0](session, period, [seller.id for seller in sellers])
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
        elif view == "fair" and (card.seller.id, sort) in fair:
            value = fair[(card.seller.id, sort)]
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
        unit,
        period,
        ordered,
        [display_name(k) for k in ordered],
        cards,
        sort,
        descending,
        view,
        fair,
    )

"""What the fair comparison adds to the shared pages: on the seller page the main result
against what the seller's territory, account base and tenure predict, said in words; on
a leader's dashboard the units compared raw and fair, with the fairness model's fit."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from touchline.analytics.fair_service import (
    SellerSentence,
    fair_view,
    measure_label,
    seller_fair_result,
)
from touchline.auth.models import Role
from touchline.auth.policy import Actor
from touchline.i18n import gettext as _
from touchline.kpis.display import format_kpi_value
from touchline.kpis.service import current_quarter
from touchline.org.models import Seller
from touchline.web.parts import Part

# Units shown on the dashboard; the page has them all.
DASHBOARD_UNITS = 8


@dataclass
class _Percent:
    unit: str = "ratio"
    decimals: int = 0


def fair_sentence(found: SellerSentence, *, own: bool, name: str) -> str:
    """Return the sentence of the seller page, money and percent as the KPI shows them."""
    expected = format_kpi_value(found.expected, found.kpi)
    actual = format_kpi_value(found.actual, found.kpi)
    ratio = format_kpi_value(found.ratio, _Percent())
    if own:
        return _(
            "Given your territory, the expected revenue was %(expected)s; you reached "
            "%(actual)s (%(ratio)s).",
            expected=expected,
            actual=actual,
            ratio=ratio,
        )
    return _(
        "Given %(name)s's territory, the expected revenue was %(expected)s; %(name)s "
        "reached %(actual)s (%(ratio)s).",
        name=name,
        expected=expected,
        actual=actual,
        ratio=ratio,
    )


def seller_page_parts(session: Session, actor: Actor, seller: Seller) -> list[Part]:
    """Return the fair result of the running quarter, or of the quarter before while the
    running one is not analysed yet; nothing before any analysis."""
    quarter = current_quarter()
    found = seller_fair_result(
        session,
        actor=actor,
        seller_id=seller.id,
        unit_id=seller.unit_id,
        periods=[quarter, quarter.previous()],
    )
    if found is None:
        return []
    context = {
        "fair": found,
        "sentence": fair_sentence(found, own=seller.id == actor.own_seller_id, name=seller.name),
        "may_compare": actor.at_least(Role.MANAGER),
    }
    return [Part("main", "analytics/_seller_fair.html", context, 15)]


def dashboard_parts(session: Session, actor: Actor) -> list[Part]:
    """Return, for leaders and admins, the units compared raw and fair in the running
    quarter or the one before while it is not analysed; nothing before any analysis."""
    if not actor.sees_all or not actor.at_least(Role.LEADER):
        return []
    quarter = current_quarter()
    for period in (quarter, quarter.previous()):
        found = fair_view(session, actor=actor, period=period)
        if found.fitted and found.units:
            context = {
                "fair": found,
                "units": found.units[:DASHBOARD_UNITS],
                "measure": measure_label(found.model["measure"]),
            }
            return [Part("leader", "analytics/_dashboard_fair_units.html", context, 20)]
    return []

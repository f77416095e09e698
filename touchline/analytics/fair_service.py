"""What the fair comparison and the KPI effectiveness show a viewer: the stored payloads
read once and filtered by the visibility policy, for the pages, the API and the parts.

Leaders and admins see every field seller and team. A manager sees the sellers and the
teams of the units they manage. A seller sees the models and their own figures only. The
KPI effectiveness holds no seller's figures (correlations across all field sellers) and is
shown to managers and leaders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from touchline.analytics.effectiveness import KEY as EFFECTIVENESS
from touchline.analytics.effectiveness import ONLY_STATISTICS, SMALL_RHO
from touchline.analytics.fairness import KEY as FAIRNESS
from touchline.analytics.fairness import MAIN_RESULT, MODELLED
from touchline.analytics.models import AnalyticsResult
from touchline.analytics.registry import stored
from touchline.auth.models import Role
from touchline.auth.policy import Actor
from touchline.errors import InvalidInput, NotFound
from touchline.i18n import gettext as _
from touchline.kpis.catalogue import display_name
from touchline.kpis.governance import OnlyStatistics, register_only_statistics
from touchline.kpis.heatmap import register_fair_ratios
from touchline.kpis.models import Kpi
from touchline.org.periods import Period

VIEWS = ("fair", "raw")


def measure_label(measure: str) -> str:
    """Return the name of a fit measure in the reader's language."""
    if measure == "r2":
        return _("R² (log scale)")
    return _("Pseudo-R² (share of deviance explained)")


def family_label(family: str) -> str:
    """Return how a model is fitted, in the reader's language."""
    return {
        "loglinear": _("Log-linear least squares (OLS on the log, smearing back)"),
        "poisson": _("Poisson GLM, log link, dispersion estimated"),
        "gamma": _("Gamma GLM, log link"),
        "fractional_logit": _("Fractional logit (binomial GLM on the share)"),
    }.get(family, family)


def term_label(term: str) -> str:
    """Return a model term in words."""
    return {
        "constant": _("Constant"),
        "log_potential": _("Log of the territory's market potential"),
        "log1p_accounts": _("Log of 1 + the inherited customer accounts"),
        "tenure_1_3": _("Tenure 1 to 3 years (against under 1)"),
        "tenure_3_up": _("Tenure 3 years and more (against under 1)"),
    }.get(term, term)


@dataclass(frozen=True)
class SellerRow:
    id: int
    external_id: str
    name: str
    unit_id: int
    unit: str
    expected: float | None
    actual: float | None
    ratio: float | None
    raw_rank: int | None = None
    fair_rank: int | None = None


@dataclass(frozen=True)
class UnitRow:
    id: int
    external_id: str
    name: str
    sellers: int
    actual_mean: float
    expected_mean: float
    raw_ratio: float
    fair_ratio: float
    weight: float
    raw_rank: int
    fair_rank: int


@dataclass(frozen=True)
class FrontierRow:
    """A seller's efficiency on the frontier and their peers' names (None for a peer the
    viewer may not see)."""

    external_id: str
    name: str
    unit: str
    score: float
    peers: list[str | None]


@dataclass
class FairView:
    """The fair comparison of one KPI in one period as the viewer may see it."""

    period: Period
    code: str
    kpi: Kpi
    computed: bool
    view: str = "fair"
    model: dict[str, Any] = field(default_factory=dict)
    coefficients: list[dict[str, Any]] = field(default_factory=list)
    sellers: list[SellerRow] = field(default_factory=list)
    units: list[UnitRow] = field(default_factory=list)
    kpis: list[Kpi] = field(default_factory=list)
    sees_units: bool = False
    frontier: list[FrontierRow] = field(default_factory=list)
    frontier_fit: dict[str, Any] = field(default_factory=dict)

    @property
    def fitted(self) -> bool:
        return self.computed and self.model.get("r2") is not None

    @property
    def message(self) -> str | None:
        """Why there is no model, in words; None when there is one."""
        if not self.computed:
            return _(
                "The fair comparison of %(period)s is not computed yet: a leader runs it "
                "from the analytics hub or with touchline analytics run --period %(period)s.",
                period=self.period.label,
            )
        if self.model.get("message") == "degenerate":
            return _(
                "The sellers' results do not vary enough to fit a fair model: the figures "
                "below are raw."
            )
        if self.model.get("r2") is None:
            return _(
                "Too few sellers to fit a fair model: %(count)s have a value and every "
                "factor, %(needed)s are needed. The figures below are raw.",
                count=self.model.get("sellers", 0),
                needed=self.model.get("needed", 0),
            )
        return None


def _kpis_by_code(session: Session, codes: list[str]) -> dict[str, Kpi]:
    return {k.code: k for k in session.scalars(select(Kpi).where(Kpi.code.in_(codes)))}


def _ranks(values: list[float | None]) -> list[int | None]:
    """Return rank 1 for the highest value, equal values the same rank (1, 2, 2, 4);
    None for no value."""
    known = sorted((v for v in values if v is not None), reverse=True)
    first: dict[float, int] = {}
    for position, value in enumerate(known, start=1):
        first.setdefault(round(value, 9), position)
    return [first[round(v, 9)] if v is not None else None for v in values]


def visible_seller(actor: Actor, seller_id: int, unit_id: int) -> bool:
    """True when ``actor`` may see this field seller's figures (the visibility policy)."""
    return actor.sees_all or seller_id == actor.own_seller_id or unit_id in actor.managed_unit_ids


def fair_view(
    session: Session,
    *,
    actor: Actor,
    period: Period,
    code: str = MAIN_RESULT,
    view: str = "fair",
) -> FairView:
    """Return the stored fair comparison of ``code`` in ``period`` filtered to the actor.

    Sellers are ordered by fair ratio (``view`` fair) or by the raw result (raw), both
    ranks shown. Refuses a KPI that is not modelled (field ``kpi``) and an unknown view
    (field ``view``).
    """
    if code not in MODELLED:
        raise InvalidInput(
            _(
                "%(code)s has no fairness model: choose one of %(codes)s.",
                code=code,
                codes=", ".join(MODELLED),
            ),
            field="kpi",
        )
    if view not in VIEWS:
        raise InvalidInput(_("The view is fair or raw, not %(view)s.", view=view), field="view")
    kpis = _kpis_by_code(session, list(MODELLED))
    if code not in kpis:
        raise NotFound(_("There is no KPI %(code)s.", code=code), field="kpi")
    row = stored(session, period, FAIRNESS)
    payload = row.payload if row else {}
    model = payload.get("kpis", {}).get(code)
    if model is not None and "family" not in model:
        model = None  # stored by an earlier release: shown as not computed until a new run
    found = FairView(
        period,
        code,
        kpis[code],
        computed=model is not None,
        view=view,
        kpis=[kpis[c] for c in MODELLED if c in kpis and c in payload.get("kpis", {})],
        sees_units=actor.at_least(Role.MANAGER),
    )
    if model is None:
        return found
    found.model = {k: v for k, v in model.items() if k not in ("values", "units")}
    found.coefficients = model.get("coefficients", [])
    sellers = payload.get("sellers", {})
    units = payload.get("units", {})
    rows: list[SellerRow] = []
    for seller_id, item in model.get("values", {}).items():
        facts = sellers.get(seller_id)
        if facts is None or not visible_seller(actor, int(seller_id), facts["unit_id"]):
            continue
        unit = units.get(str(facts["unit_id"]), {})
        rows.append(
            SellerRow(
                int(seller_id),
                facts["external_id"],
                facts["name"],
                facts["unit_id"],
                unit.get("name", ""),
                item["expected"],
                item["actual"],
                item["ratio"],
            )
        )
    frontier = payload.get("frontier", {})
    found.frontier_fit = {k: v for k, v in frontier.items() if k != "values"}
    shown: list[FrontierRow] = []
    for seller_id, item in frontier.get("values", {}).items():
        facts = sellers.get(seller_id)
        if facts is None or not visible_seller(actor, int(seller_id), facts["unit_id"]):
            continue
        names: list[str | None] = []
        for peer in item["peers"]:
            other = sellers.get(str(peer))
            visible = other is not None and visible_seller(actor, peer, other["unit_id"])
            names.append(other["name"] if other and visible else None)
        shown.append(
            FrontierRow(
                facts["external_id"],
                facts["name"],
                units.get(str(facts["unit_id"]), {}).get("name", ""),
                item["score"],
                names,
            )
        )
    found.frontier = sorted(shown, key=lambda r: (-r.score, r.name))
    raw = _ranks([r.actual for r in rows])
    fair = _ranks([r.ratio for r in rows])
    rows = [
        SellerRow(**{**vars(r), "raw_rank": raw[i], "fair_rank": fair[i]})
        for i, r in enumerate(rows)
    ]
    key = "fair_rank" if view == "fair" else "raw_rank"
    rows.sort(key=lambda r: (getattr(r, key) is None, getattr(r, key) or 0, r.name))
    found.sellers = rows
    if found.sees_units:
        teams = [
            u
            for u in model.get("units", [])
            if actor.sees_all or u["unit_id"] in actor.managed_unit_ids
        ]
        raw_units = _ranks([u["actual_mean"] for u in teams])
        fair_units = _ranks([u["fair_ratio"] for u in teams])
        found.units = sorted(
            (
                UnitRow(
                    u["unit_id"],
                    units.get(str(u["unit_id"]), {}).get("external_id", ""),
                    units.get(str(u["unit_id"]), {}).get("name", ""),
                    u["sellers"],
                    u["actual_mean"],
                    u["expected_mean"],
                    u["raw_ratio"],
                    u["fair_ratio"],
                    u["weight"],
                    raw_units[i] or 0,
                    fair_units[i] or 0,
                )
                for i, u in enumerate(teams)
            ),
            key=lambda u: u.fair_rank if view == "fair" else u.raw_rank,
        )
    return found


@dataclass(frozen=True)
class SellerSentence:
    """What the seller page says of a seller's main result against the fair expectation."""

    period: Period
    kpi: Kpi
    expected: float
    actual: float
    ratio: float
    r2: float
    measure: str


def seller_fair_result(
    session: Session, *, actor: Actor, seller_id: int, unit_id: int, periods: list[Period]
) -> SellerSentence | None:
    """Return the main result's expected and actual value of a seller in the first of
    ``periods`` with a stored fair comparison; None when none has one or the actor may
    not see the seller."""
    if not visible_seller(actor, seller_id, unit_id):
        return None
    kpi = _kpis_by_code(session, [MAIN_RESULT]).get(MAIN_RESULT)
    if kpi is None:
        return None
    for period in periods:
        row = stored(session, period, FAIRNESS)
        model = (row.payload if row else {}).get("kpis", {}).get(MAIN_RESULT)
        if not model or model.get("r2") is None or "measure" not in model:
            continue
        item = model.get("values", {}).get(str(seller_id))
        if item and item["expected"] and item["actual"] is not None:
            return SellerSentence(
                period,
                kpi,
                item["expected"],
                item["actual"],
                item["ratio"],
                model["r2"],
                model["measure"],
            )
    return None


def fair_ratios_of(
    session: Session, *, period: Period, seller_ids: list[int]
) -> dict[tuple[int, str], float]:
    """Return the stored fair ratio per (seller id, KPI code) of the given sellers in
    ``period``, for the KPIs with a fitted model (empty before a run)."""
    row = stored(session, period, FAIRNESS)
    if row is None:
        return {}
    wanted = {str(s) for s in seller_ids}
    found: dict[tuple[int, str], float] = {}
    for code, model in row.payload.get("kpis", {}).items():
        if model.get("r2") is None:
            continue
        for seller, item in model.get("values", {}).items():
            if seller in wanted and item["ratio"] is not None:
                found[(int(seller), code)] = item["ratio"]
    return found


@dataclass
class EffectivenessView:
    period: Period
    computed: bool
    threshold: float = SMALL_RHO
    outcome: str = MAIN_RESULT
    periods: list[str] = field(default_factory=list)
    kpis: list[dict[str, Any]] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)

    @property
    def only_statistics(self) -> list[dict[str, Any]]:
        return [k for k in self.kpis if k["verdict"] == ONLY_STATISTICS]


def effectiveness_view(session: Session, *, actor: Actor, period: Period) -> EffectivenessView:
    """Return the stored KPI effectiveness of ``period``; managers and leaders only."""
    actor.require(Role.MANAGER)
    row = stored(session, period, EFFECTIVENESS)
    if row is None:
        return EffectivenessView(period, computed=False)
    payload = row.payload
    kpis = _kpis_by_code(session, [k["code"] for k in payload["kpis"]])
    return EffectivenessView(
        period,
        computed=True,
        threshold=payload["threshold"],
        outcome=payload["outcome"],
        periods=payload["periods"],
        kpis=payload["kpis"],
        names={code: display_name(kpi) for code, kpi in kpis.items()},
    )


def only_statistics(session: Session) -> list[OnlyStatistics]:
    """Return the KPIs marked only statistics by the latest computed KPI effectiveness,
    with the evidence in words and a link to it (the governance report's finding)."""
    row = session.scalars(
        select(AnalyticsResult)
        .where(AnalyticsResult.analysis == EFFECTIVENESS)
        .order_by(AnalyticsResult.computed_at.desc(), AnalyticsResult.period.desc())
        .limit(1)
    ).first()
    if row is None:
        return []
    return [
        OnlyStatistics(
            item["code"],
            _(
                "rank correlation with the next period's fair revenue %(rho)s "
                "(95 %% interval %(low)s to %(high)s), %(period)s",
                rho=f"{item['rho']:+.2f}",
                low=f"{item['low']:+.2f}",
                high=f"{item['high']:+.2f}",
                period=row.period,
            ),
            f"/analytics/effectiveness?period={row.period}#kpi-{item['code']}",
        )
        for item in row.payload.get("kpis", [])
        if item["verdict"] == ONLY_STATISTICS
    ]


register_only_statistics(only_statistics)
register_fair_ratios(
    lambda session, period, ids: fair_ratios_of(session, period=period, seller_ids=ids)
)

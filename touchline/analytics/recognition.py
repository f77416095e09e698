"""Recognition of progress: the sellers improving most against their own baseline, per
unit, next to the top results (docs/analytics.md, "Recognition of progress").

Each field seller is compared with themself on every KPI of their card, over the last
``WINDOW`` complete periods of the analysed kind (the analysed period counts once it
has ended):

- the **baseline** is the mean of the ``BASELINE`` periods before the latest one;
- the **improvement** is the latest period against that baseline, in the KPI's better
  direction, in the KPI's unit and relative to the baseline;
- a KPI is **recognised** when the progress is sustained: on the values divided by the
  company's mean of each period (so a rise every seller shares is no one's), the
  Theil–Sen slope over the window (at least ``MIN_PERIODS`` periods with a value, the
  latest among them) has its whole ``CONFIDENCE`` interval on the better side of zero,
  the fitted change over the window is at least ``MIN_CHANGE`` of the seller's median
  level, and the latest period is above the baseline; and in the seller's own terms the
  latest period is above the baseline too.

Regression to the mean: a seller's weakest period is followed by a better one by chance
alone, so one jump is never recognised. The slope is the median of the slopes between
all pairs of periods: one lucky period moves it little, and its interval must exclude
zero. A seller is ranked by their largest relative improvement among recognised KPIs.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from touchline.analytics.registry import Payload, RunContext, analysis
from touchline.analytics.warning_cache import read_payload
from touchline.analytics.warning_pace import pace_day
from touchline.analytics.warning_trend import stored_history, theil_sen, trend_periods
from touchline.auth.policy import Actor
from touchline.coaching.progress import MIN_CHANGE
from touchline.errors import NotFound
from touchline.i18n import gettext as _
from touchline.kpis.compute import company_today, data_span
from touchline.kpis.metrics import Direction
from touchline.kpis.models import Kpi, SubjectKind
from touchline.kpis.scorecards import CardBook
from touchline.org.models import Seller, Unit
from touchline.org.periods import Period
from touchline.web.exports import Table

KEY = "recognition"
WINDOW = 8
BASELINE = 3
MIN_PERIODS = 6
CONFIDENCE = 0.95
# The result KPI whose latest period names the top results next to the progress.
TOP_RESULT = "revenue_won"
TOP_SHOWN = 3


def _number(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def judge_progress(values: np.ndarray, direction: str) -> dict[str, np.ndarray]:
    """Return per row of ``values`` (periods as columns, oldest first, NaN: none) the
    baseline, latest, improvement, relative improvement, slope with interval, and
    whether the progress is recognised (see the module)."""
    values = np.atleast_2d(np.asarray(values, dtype=float))
    sign = -1.0 if direction == Direction.LOWER else 1.0
    latest = values[:, -1]
    window = values[:, -1 - BASELINE : -1] if values.shape[1] > 1 else values[:, :0]
    counts = np.isfinite(window).sum(axis=1)
    baseline = np.where(counts > 0, np.nansum(window, axis=1) / np.maximum(counts, 1), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an empty row's median is NaN
        level = np.nanmedian(np.abs(values), axis=1)
    better = sign * values
    slopes = theil_sen(better, confidence=CONFIDENCE, minimum=MIN_PERIODS)
    present = np.isfinite(values)
    first = np.argmax(present, axis=1)
    span = values.shape[1] - 1 - first
    improvement = sign * (latest - baseline)
    with np.errstate(invalid="ignore", divide="ignore"):
        relative = np.where(np.abs(baseline) > 0, improvement / np.abs(baseline), np.nan)
        fitted_change = slopes.slope * span
        recognised = (
            np.isfinite(latest)
            & (slopes.points >= MIN_PERIODS)
            & (slopes.low > 0)
            & (fitted_change >= MIN_CHANGE * level)
            & (improvement > 0)
        )
    return {
        "baseline": baseline,
        "latest": latest,
        "improvement": improvement,
        "relative": relative,
        # The slope in the KPI's own terms (per period), its interval likewise.
        "slope": sign * slopes.slope,
        "low": np.where(sign > 0, slopes.low, -slopes.high),
        "high": np.where(sign > 0, slopes.high, -slopes.low),
        "points": slopes.points,
        "recognised": recognised,
    }


def company_index(values: np.ndarray) -> np.ndarray:
    """Return ``values`` divided, period by period, by the mean of the sellers with a value
    (NaN where that mean is not positive): a movement every seller shares is no one's."""
    counts = np.isfinite(values).sum(axis=0)
    sums = np.nansum(values, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        return np.where(means > 0, values / means, np.nan)


def progress_of(session: Session, period: Period, *, today: Any) -> Payload:
    """Return every field seller's progress against their own baseline on their card's
    KPIs, the recognised ones per unit, and the unit's top results."""
    day = pace_day(session, period, today) or period.start
    periods = trend_periods(period, day, WINDOW)
    labels = [p.label for p in periods]
    units = {unit.id: unit for unit in session.scalars(select(Unit))}
    managers = {unit.manager_id for unit in units.values() if unit.manager_id is not None}
    sellers = [
        seller
        for seller in session.scalars(
            select(Seller).where(Seller.active.is_(True)).order_by(Seller.external_id)
        )
        if seller.id not in managers
    ]
    book = CardBook(session, sellers)
    card: dict[int, list[int]] = {
        seller.id: [line.kpi_id for line in book.lines_of(seller, periods[-1].start)]
        for seller in sellers
    }
    kpi_ids = sorted({kpi_id for ids in card.values() for kpi_id in ids})
    kpis = {kpi.id: kpi for kpi in session.scalars(select(Kpi).where(Kpi.id.in_(kpi_ids)))}
    top_kpi = session.scalar(select(Kpi).where(Kpi.code == TOP_RESULT))
    wanted = sorted(set(kpi_ids) | ({top_kpi.id} if top_kpi else set()))
    histories = stored_history(
        session, SubjectKind.SELLER, [s.id for s in sellers], wanted, periods
    )
    span = data_span(session)
    payload_sellers: dict[str, Any] = {}
    for kpi_id in kpi_ids:
        kpi = kpis[kpi_id]
        holders = [seller for seller in sellers if kpi_id in card[seller.id]]
        if not holders:
            continue
        matrix = histories.rows([(seller.id, kpi_id) for seller in holders])
        judged = judge_progress(company_index(matrix), kpi.direction)
        raw = judge_progress(matrix, kpi.direction)
        for row, seller in enumerate(holders):
            entry = payload_sellers.setdefault(
                str(seller.id),
                {
                    "external_id": seller.external_id,
                    "name": seller.name,
                    "unit_id": seller.unit_id,
                    "kpis": [],
                },
            )
            entry["kpis"].append(
                {
                    "kpi": kpi.code,
                    "values": [_number(v) for v in matrix[row]],
                    **{
                        key: _number(float(raw[key][row]))
                        for key in ("baseline", "latest", "improvement", "relative")
                    },
                    # Judged on the company index: shares of the period's company mean.
                    "index_relative": _number(float(judged["relative"][row])),
                    **{key: _number(float(judged[key][row])) for key in ("slope", "low", "high")},
                    "points": int(judged["points"][row]),
                    # Sustained against the company, and a rise in the seller's own terms.
                    "recognised": bool(judged["recognised"][row] and raw["improvement"][row] > 0),
                }
            )
    by_unit: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for seller_id, entry in payload_sellers.items():
        recognised = [item for item in entry["kpis"] if item["recognised"]]
        entry["recognised"] = bool(recognised)
        if recognised:
            best = max(recognised, key=lambda item: item["index_relative"] or 0.0)
            entry["best"] = best["kpi"]
            entry["best_relative"] = best["index_relative"]
            entry["recognised_kpis"] = len(recognised)
            by_unit[entry["unit_id"]].append({"seller_id": int(seller_id), "kpi": best["kpi"]})
    unit_entries: dict[str, Any] = {}
    teams: dict[int, list[Seller]] = defaultdict(list)
    for seller in sellers:
        teams[seller.unit_id].append(seller)
    for unit_id, members in sorted(teams.items()):
        latest = [
            (seller, histories.latest(seller.id, top_kpi.id) if top_kpi else None)
            for seller in members
        ]
        top = sorted(
            [(s, v) for s, v in latest if v is not None], key=lambda item: -float(item[1])
        )[:TOP_SHOWN]
        improving = sorted(
            by_unit.get(unit_id, []),
            key=lambda item: (
                -payload_sellers[str(item["seller_id"])]["recognised_kpis"],
                -(payload_sellers[str(item["seller_id"])]["best_relative"] or 0.0),
            ),
        )
        unit_entries[str(unit_id)] = {
            "external_id": units[unit_id].external_id,
            "name": units[unit_id].name,
            "sellers": len(members),
            "improving": [item["seller_id"] for item in improving],
            "top": [{"seller_id": s.id, "value": float(v)} for s, v in top],
        }
    return {
        "period": period.label,
        "periods": labels,
        "covered": [p.label for p in periods if span is not None and p.start >= span[0]],
        "window": WINDOW,
        "baseline_periods": BASELINE,
        "confidence": CONFIDENCE,
        "min_change": MIN_CHANGE,
        "top_kpi": TOP_RESULT if top_kpi else None,
        "kpis": {kpi.code: {"id": kpi.id, "direction": kpi.direction} for kpi in kpis.values()},
        "sellers": payload_sellers,
        "units": unit_entries,
    }


@analysis(KEY, order=45)
def recognition(context: RunContext) -> Payload:
    """Progress against the seller's own baseline, recognised when sustained."""
    return progress_of(context.session, context.period, today=company_today())


# --- what a viewer sees ------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """One seller's progress on one KPI, as shown."""

    kpi: Kpi
    facts: dict[str, Any]


@dataclass
class SellerProgress:
    """A seller's progress against their own baseline on their card's KPIs."""

    seller: dict[str, Any]
    progress: list[Progress]

    @property
    def recognised(self) -> list[Progress]:
        return [item for item in self.progress if item.facts["recognised"]]


@dataclass
class UnitRecognition:
    """A unit's recognised sellers (most improved first) next to its top results."""

    unit: dict[str, Any]
    improving: list[SellerProgress]
    top: list[tuple[dict[str, Any], float]]


@dataclass
class RecognitionView:
    """The recognition of a period as far as the viewer reaches."""

    period: Period
    computed: bool
    periods: list[str] = field(default_factory=list)
    confidence: float = CONFIDENCE
    min_change: float = MIN_CHANGE
    top_kpi: Kpi | None = None
    units: list[UnitRecognition] = field(default_factory=list)
    sellers: list[SellerProgress] = field(default_factory=list)


def _progress(entry: dict[str, Any], seller_id: str, kpis: dict[str, Kpi]) -> SellerProgress:
    person = {"id": int(seller_id), "external_id": entry["external_id"], "name": entry["name"]}
    return SellerProgress(
        person,
        [Progress(kpis[item["kpi"]], item) for item in entry["kpis"] if item["kpi"] in kpis],
    )


def recognition_view(session: Session, *, actor: Actor, period: Period) -> RecognitionView:
    """Return the stored recognition of ``period`` that ``actor`` may see: the units they
    manage with their recognised sellers and top results, and every visible seller's
    progress (a seller: their own)."""
    payload = read_payload(session, period, KEY)
    if payload is None:
        return RecognitionView(period, computed=False)
    visible = set(session.scalars(select(Seller.id).where(actor.sellers_clause())))
    codes = set(payload.get("kpis", {})) | {payload.get("top_kpi") or ""}
    kpis = {kpi.code: kpi for kpi in session.scalars(select(Kpi).where(Kpi.code.in_(codes)))}
    sellers = payload.get("sellers", {})
    shown = {
        seller_id: _progress(entry, seller_id, kpis)
        for seller_id, entry in sellers.items()
        if int(seller_id) in visible
    }
    units = []
    for unit_id, unit in sorted(payload.get("units", {}).items(), key=lambda u: u[1]["name"]):
        if not actor.can_manage_unit(int(unit_id)):
            continue
        person = {"id": int(unit_id), "external_id": unit["external_id"], "name": unit["name"]}
        improving = [shown[str(s)] for s in unit["improving"] if str(s) in shown]
        top = [
            (
                {
                    "id": item["seller_id"],
                    "external_id": sellers[str(item["seller_id"])]["external_id"],
                    "name": sellers[str(item["seller_id"])]["name"],
                },
                float(item["value"]),
            )
            for item in unit["top"]
            if str(item["seller_id"]) in shown
        ]
        units.append(UnitRecognition(person, improving, top))
    return RecognitionView(
        period,
        computed=True,
        periods=list(payload.get("covered") or payload.get("periods", [])),
        confidence=float(payload.get("confidence", CONFIDENCE)),
        min_change=float(payload.get("min_change", MIN_CHANGE)),
        top_kpi=kpis.get(payload.get("top_kpi") or ""),
        units=units,
        sellers=sorted(shown.values(), key=lambda item: str(item.seller["name"])),
    )


def seller_progress(
    session: Session, *, actor: Actor, seller: Seller, period: Period
) -> SellerProgress | None:
    """Return ``seller``'s progress in the stored recognition of ``period``: None before a
    run, no KPIs for a seller it does not judge (a manager, a seller without a card);
    refuses a seller the actor may not see."""
    if not actor.can_see_seller(seller):
        raise NotFound(_("There is no seller %(id)s that you may see.", id=seller.external_id))
    payload = read_payload(session, period, KEY)
    if payload is None:
        return None
    entry = payload.get("sellers", {}).get(str(seller.id))
    if entry is None:
        person = {"id": seller.id, "external_id": seller.external_id, "name": seller.name}
        return SellerProgress(person, [])
    codes = {item["kpi"] for item in entry["kpis"]}
    kpis = {kpi.code: kpi for kpi in session.scalars(select(Kpi).where(Kpi.code.in_(codes)))}
    return _progress(entry, str(seller.id), kpis)


def recognition_table(view: RecognitionView) -> Table:
    """Return every visible seller's progress per KPI as a download."""
    rows = [
        [
            item.seller["external_id"],
            item.seller["name"],
            progress.kpi.code,
            progress.facts["baseline"],
            progress.facts["latest"],
            progress.facts["improvement"],
            progress.facts["relative"],
            progress.facts["index_relative"],
            progress.facts["slope"],
            progress.facts["low"],
            progress.facts["high"],
            progress.facts["points"],
            progress.facts["recognised"],
        ]
        for item in view.sellers
        for progress in item.progress
    ]
    return Table(
        _("Recognition of progress"),
        [
            "seller",
            "name",
            "kpi",
            "baseline",
            "latest",
            "improvement",
            "relative_improvement",
            "relative_to_company",
            "index_slope",
            "index_slope_low",
            "index_slope_high",
            "periods",
            "recognised",
        ],
        rows,
    )

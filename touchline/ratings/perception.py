"""Perception: the seller's view against the others', the seller's predicted customer
scores against the real ones, and the raters' leniency for calibration meetings.

Differences between the voices are information in themselves: a seller who rates
themself far above what the manager and the customers see needs a different
conversation than one who underrates themself. For calibration, each rater's mean is
set against the company's mean on the same KPIs, and each soft KPI's inter-rater
agreement (ICC(1)) tells whether it is measured reliably enough to act on. Any
normalisation of lenient raters is left to people: nothing is corrected silently.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import false, func, select
from sqlalchemy.orm import Session

from touchline.auth.models import Role
from touchline.auth.policy import Actor
from touchline.crm.models import CustomerSurveyResponse, RatingRecord
from touchline.errors import NotFound
from touchline.i18n import gettext as _
from touchline.kpis.catalogue import display_name
from touchline.kpis.compute import ANONYMITY_MINIMUM
from touchline.kpis.models import Kpi, KpiSource
from touchline.org.models import Seller
from touchline.org.periods import Period, PeriodKind, period_containing
from touchline.ratings.gaps import RatingGap, labels_within, seller_gaps

# A self-rating this far above (or below) everyone else's mean is worth a conversation.
NOTABLE_GAP = 1.0


@dataclass
class Perception:
    """How a seller sees themself and how the others see them, for one period."""

    seller: Seller
    period: Period
    gaps: list[RatingGap]
    # Over the fiscal year of the period: the seller's mean predicted customer score
    # (0-10), and the customers' mean score on the same answers (from three answers).
    predicted: float | None
    actual: float | None
    paired_answers: int
    customer_answers: int

    @property
    def self_above_others(self) -> float | None:
        """The mean of (self - the mean of the other voices) over the KPIs with both."""
        differences = []
        for gap in self.gaps:
            others = [
                value
                for value in (
                    gap.manager_score,
                    gap.peer_score,
                    gap.customer_score,
                    gap.mystery_shopper_score,
                )
                if value is not None
            ]
            if gap.self_score is not None and others:
                differences.append(gap.self_score - sum(others) / len(others))
        return float(np.mean(differences)) if differences else None

    @property
    def over_confident(self) -> bool:
        difference = self.self_above_others
        return difference is not None and difference >= NOTABLE_GAP

    @property
    def under_confident(self) -> bool:
        difference = self.self_above_others
        return difference is not None and difference <= -NOTABLE_GAP

    @property
    def prediction_gap(self) -> float | None:
        if self.predicted is None or self.actual is None:
            return None
        return self.predicted - self.actual


def seller_perception(
    session: Session, *, actor: Actor, seller: Seller, period: Period
) -> Perception:
    """Return the seller's perception gaps for ``period``, and their predicted customer
    scores against the real ones over its fiscal year; refuses a seller the actor may not
    see. Customer and peer means show only from three answers."""
    if not actor.can_see_seller(seller):
        raise NotFound(_("There is no seller %(id)s that you may see.", id=seller.external_id))
    gaps = seller_gaps(session, seller_id=seller.id, period=period)
    # Predictions are compared over the fiscal year: a quarter holds too few answers.
    year = period_containing(
        period.start, PeriodKind.YEAR, fiscal_start_month=period.fiscal_start_month
    )
    in_period = (
        CustomerSurveyResponse.seller_id == seller.id,
        CustomerSurveyResponse.answered_date.between(year.start, year.end),
    )
    answers = int(
        session.scalar(select(func.count()).select_from(CustomerSurveyResponse).where(*in_period))
        or 0
    )
    paired = session.execute(
        select(
            func.avg(CustomerSurveyResponse.seller_predicted_score),
            func.avg(CustomerSurveyResponse.score),
            func.count(),
        ).where(*in_period, CustomerSurveyResponse.seller_predicted_score.is_not(None))
    ).one()
    count = int(paired[2] or 0)
    shown = count >= ANONYMITY_MINIMUM
    return Perception(
        seller=seller,
        period=period,
        gaps=gaps,
        predicted=float(paired[0]) if count else None,
        actual=float(paired[1]) if shown else None,
        paired_answers=count,
        customer_answers=answers,
    )


@dataclass
class RaterLeniency:
    """One rater's mean against the company's mean on the same KPIs and period."""

    rater: str
    name: str
    role: str
    ratings: int
    sellers: int
    mean: float
    company_mean: float

    @property
    def difference(self) -> float:
        return self.mean - self.company_mean


@dataclass
class KpiAgreement:
    """How far the raters of a soft KPI agree on the same sellers: ICC(1)."""

    kpi: Kpi
    name: str
    icc: float | None
    sellers: int
    ratings: int

    @property
    def reading(self) -> str:
        """The usual reading of an ICC (Koo and Li, 2016)."""
        if self.icc is None:
            return _("not enough ratings")
        if self.icc < 0.5:
            return _("poor: too unreliable to act on alone")
        if self.icc < 0.75:
            return _("moderate")
        if self.icc < 0.9:
            return _("good")
        return _("excellent")


@dataclass
class Calibration:
    period: Period
    raters: list[RaterLeniency]
    agreement: list[KpiAgreement]


def icc1(groups: list[np.ndarray]) -> float | None:
    """Return the one-way random-effects ICC(1) of ratings grouped by the rated seller,
    for unequal group sizes (k0 of Donner, 1986); None without two groups of two."""
    groups = [group for group in groups if len(group) >= 2]
    if len(groups) < 2:
        return None
    sizes = np.array([len(group) for group in groups], dtype=float)
    total = sizes.sum()
    grand = np.concatenate(groups).mean()
    between = sum(len(g) * (g.mean() - grand) ** 2 for g in groups) / (len(groups) - 1)
    within = sum(((g - g.mean()) ** 2).sum() for g in groups) / (total - len(groups))
    k0 = (total - (sizes**2).sum() / total) / (len(groups) - 1)
    denominator = between + (k0 - 1) * within
    if denominator <= 0:
        return None
    return float((between - within) / denominator)


def calibration(session: Session, *, actor: Actor, period: Period) -> Calibration:
    """Return each rater's leniency and each soft KPI's inter-rater agreement for the
    ratings of ``period`` about the sellers the actor manages (everyone for leaders).

    Raters are managers, and sellers rating themselves; anonymous voices (customers,
    peers) are left out of the leniency view. Managers and up only.
    """
    actor.require(Role.MANAGER)
    labels = labels_within(session.scalars(select(RatingRecord.period).distinct()), period)
    visible = select(Seller.id).where(actor.sellers_clause())
    base = (
        RatingRecord.period.in_(labels),
        RatingRecord.hidden == false(),
        RatingRecord.seller_id.in_(visible),
    )
    rows = (
        session.execute(
            select(
                RatingRecord.kpi,
                RatingRecord.rater_role,
                RatingRecord.rater_id,
                RatingRecord.seller_id,
                RatingRecord.score,
            ).where(*base)
        ).all()
        if labels
        else []
    )
    kpis = {
        kpi.code: kpi for kpi in session.scalars(select(Kpi).where(Kpi.source == KpiSource.RATING))
    }
    company_means: dict[str, float] = {}
    by_kpi: dict[str, list[float]] = {}
    for code, _role, _rater, _seller, score in rows:
        by_kpi.setdefault(code, []).append(score)
    company_means = {code: float(np.mean(scores)) for code, scores in by_kpi.items()}
    per_rater: dict[tuple[str, str], list[tuple[str, int, float]]] = {}
    for code, role, rater, seller_id, score in rows:
        if role in ("manager", "self") and rater:
            per_rater.setdefault((rater, role), []).append((code, seller_id, score))
    names = dict(session.execute(select(Seller.external_id, Seller.name)).all())
    raters = []
    for (rater, role), given in per_rater.items():
        scores = np.array([score for _code, _seller, score in given])
        expected = np.array([company_means[code] for code, _seller, _score in given])
        raters.append(
            RaterLeniency(
                rater=rater,
                name=names.get(rater, rater),
                role=role,
                ratings=len(given),
                sellers=len({seller for _code, seller, _score in given}),
                mean=float(scores.mean()),
                company_mean=float(expected.mean()),
            )
        )
    raters.sort(key=lambda item: -abs(item.difference))
    agreement = []
    for code in sorted(by_kpi, key=lambda c: kpis[c].id if c in kpis else 0):
        if code not in kpis:
            continue
        by_seller: dict[int, list[float]] = {}
        for rated, role, _rater, seller_id, score in rows:
            if rated == code and role != "self":
                by_seller.setdefault(seller_id, []).append(score)
        groups = [np.array(scores) for scores in by_seller.values()]
        agreement.append(
            KpiAgreement(
                kpi=kpis[code],
                name=display_name(kpis[code]),
                icc=icc1(groups),
                sellers=len(groups),
                ratings=sum(len(g) for g in groups),
            )
        )
    return Calibration(period, raters, agreement)

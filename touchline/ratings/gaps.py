"""Perception gaps: how the seller sees themself against how others see them.

A seller's self-rating next to the manager's, the peers', the customers' and the mystery
shoppers' means per soft KPI and period. Peer and customer means are shown only from
``ANONYMITY_MINIMUM`` answers up, so no single colleague or customer can be picked out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import false, func, select
from sqlalchemy.orm import Session

from touchline.crm.models import RatingRecord
from touchline.kpis.catalogue import display_name
from touchline.kpis.compute import ANONYMITY_MINIMUM, ANONYMOUS_ROLES
from touchline.kpis.models import Kpi, KpiSource
from touchline.org.periods import Period, PeriodError, parse_period


@dataclass(frozen=True)
class RatingGap:
    """One soft KPI of one seller and period as each voice rates it (None: no rating)."""

    kpi_code: str
    kpi_name: str
    self_score: float | None
    manager_score: float | None
    peer_score: float | None
    customer_score: float | None
    mystery_shopper_score: float | None
    # How many peer and customer answers there are, shown or not.
    peer_answers: int = 0
    customer_answers: int = 0

    @property
    def self_minus_manager(self) -> float | None:
        """The self-rating above (positive) or below the manager's; None without both."""
        if self.self_score is None or self.manager_score is None:
            return None
        return self.self_score - self.manager_score


def labels_within(labels: Iterable[str], period: Period) -> list[str]:
    """Return the period labels among ``labels`` whose whole span lies inside ``period``."""
    inside = []
    for label in labels:
        try:
            other = parse_period(label, fiscal_start_month=period.fiscal_start_month)
        except PeriodError:
            continue
        if period.start <= other.start and other.end <= period.end:
            inside.append(label)
    return inside


def seller_gaps(session: Session, *, seller_id: int, period: Period) -> list[RatingGap]:
    """Return each rated KPI of the seller in ``period`` with every voice's mean.

    Ratings count for a period when the period they name lies inside it; ratings of a
    rating round not yet revealed count for nothing. The caller
    checks that the viewer may see the seller; peer and customer means below the
    anonymity minimum are withheld here, whoever asks.
    """
    labels = labels_within(
        session.scalars(
            select(RatingRecord.period).where(RatingRecord.seller_id == seller_id).distinct()
        ),
        period,
    )
    if not labels:
        return []
    rows = session.execute(
        select(
            RatingRecord.kpi,
            RatingRecord.rater_role,
            func.avg(RatingRecord.score),
            func.count(),
        )
        .where(
            RatingRecord.seller_id == seller_id,
            RatingRecord.period.in_(labels),
            RatingRecord.hidden == false(),
        )
        .group_by(RatingRecord.kpi, RatingRecord.rater_role)
    ).all()
    means: dict[str, dict[str, tuple[float, int]]] = {}
    for code, role, mean, count in rows:
        means.setdefault(code, {})[role] = (float(mean), int(count))
    kpis = session.scalars(
        select(Kpi)
        .where(Kpi.code.in_(sorted(means)), Kpi.source == KpiSource.RATING)
        .order_by(Kpi.id)
    )
    found = []
    for kpi in kpis:
        code = kpi.code
        voices = means[code]

        def mean_of(role: str, voices: dict[str, tuple[float, int]] = voices) -> float | None:
            if role not in voices:
                return None
            mean, count = voices[role]
            if role in ANONYMOUS_ROLES and count < ANONYMITY_MINIMUM:
                return None
            return mean

        found.append(
            RatingGap(
                kpi_code=code,
                kpi_name=display_name(kpi),
                self_score=mean_of("self"),
                manager_score=mean_of("manager"),
                peer_score=mean_of("peer"),
                customer_score=mean_of("customer"),
                mystery_shopper_score=mean_of("mystery_shopper"),
                peer_answers=voices.get("peer", (0.0, 0))[1],
                customer_answers=voices.get("customer", (0.0, 0))[1],
            )
        )
    return found


def self_manager_gaps(session: Session, *, seller_id: int, period: Period) -> list[RatingGap]:
    """Return the KPIs rated by both the seller and the manager, largest gap first."""
    both = [
        gap
        for gap in seller_gaps(session, seller_id=seller_id, period=period)
        if gap.self_minus_manager is not None
    ]
    return sorted(both, key=lambda gap: -abs(gap.self_minus_manager or 0.0))

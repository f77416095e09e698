"""What the ratings domain lends the domains below it: customer satisfaction for the KPI
engine, and the scales imported ratings are checked against for the importer.

Registered when this module is imported (every entry point imports it through
``touchline.models``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, func, select

from touchline.crm.models import CustomerSurveyResponse
from touchline.crm.service import SCORE_RANGES
from touchline.kpis.compute import ANONYMITY_MINIMUM
from touchline.kpis.engine import Organisation
from touchline.kpis.providers import register
from touchline.org.periods import Period
from touchline.ratings.scales import score_ranges

CUSTOMER_SATISFACTION = "customer_satisfaction"


def customer_values(
    connection: Connection, organisation: Organisation, period: Period, codes: list[str]
) -> dict[str, NDArray[np.float64]]:
    """Return the mean customer score (0-10) per subject over the answers given in the
    period; no value below ``ANONYMITY_MINIMUM`` answers, so no customer stands out."""
    rows = connection.execute(
        select(
            CustomerSurveyResponse.seller_id,
            func.sum(CustomerSurveyResponse.score),
            func.count(),
        )
        .where(CustomerSurveyResponse.answered_date.between(period.start, period.end))
        .group_by(CustomerSurveyResponse.seller_id)
    ).all()
    n = len(organisation.seller_ids)
    sums, counts = np.zeros(n), np.zeros(n)
    if rows:
        index = organisation.seller_index(np.array([row[0] for row in rows], dtype=np.int64))
        sums[index] = [float(row[1]) for row in rows]
        counts[index] = [float(row[2]) for row in rows]
    total_sums = np.concatenate((sums, organisation.membership @ sums, [sums.sum()]))
    total_counts = np.concatenate((counts, organisation.membership @ counts, [counts.sum()]))
    values = np.full(organisation.n_subjects, np.nan)
    enough = total_counts >= ANONYMITY_MINIMUM
    values[enough] = total_sums[enough] / total_counts[enough]
    return {code: values for code in codes if code == CUSTOMER_SATISFACTION}


register([CUSTOMER_SATISFACTION], customer_values)
if score_ranges not in SCORE_RANGES:
    SCORE_RANGES.append(score_ranges)

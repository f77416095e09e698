"""KPIs whose values another part of Touchline computes: the source "provided".

Coaching knows how many of a manager's sellers were coached on cadence; the KPI engine
does not. Such a domain registers a provider for the KPI codes it computes, and
``compute_period`` asks it for their values along with every other KPI of the period, so
the values are stored, versioned and shown like any other. A domain sits above the KPIs
and may import this module; this module never imports it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection

from touchline.kpis.engine import Organisation
from touchline.org.periods import Period

# Returns, per KPI code it was asked for, a value per subject in the organisation's order
# (sellers, units, the company); NaN is "no value".
Provider = Callable[[Connection, Organisation, Period, list[str]], dict[str, NDArray[np.float64]]]

PROVIDERS: dict[str, Provider] = {}


def register(codes: list[str], provider: Provider) -> None:
    """Make ``provider`` the source of the values of the KPIs ``codes``."""
    for code in codes:
        PROVIDERS[code] = provider


def provided_values(
    connection: Connection, organisation: Organisation, period: Period, codes: list[str]
) -> dict[str, NDArray[np.float64]]:
    """Return the values of the provided KPIs ``codes``; no value where no provider answers."""
    found: dict[str, NDArray[np.float64]] = {}
    by_provider: dict[Provider, list[str]] = {}
    for code in codes:
        provider = PROVIDERS.get(code)
        if provider is None:
            found[code] = np.full(organisation.n_subjects, np.nan)
        else:
            by_provider.setdefault(provider, []).append(code)
    for provider, asked in by_provider.items():
        answered = provider(connection, organisation, period, asked)
        for code in asked:
            found[code] = answered.get(code, np.full(organisation.n_subjects, np.nan))
    return found

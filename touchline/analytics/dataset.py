"""What every analysis starts from: the field sellers, the factors outside their
control, and their stored KPI values over recent periods, as NumPy arrays.

A *field seller* is an active seller who manages no unit: managers and leaders sit above
the teams and are judged on other cards. The *factors* are what a seller cannot
control (docs/analytics.md): the yearly market potential of their territory, the
inherited account base (accounts of their territory that were already customers when
the period began: a won deal closed before its first day) and the tenure band (years
since the hire date at the period's start). KPI values are the materialised ones
(``kpi_values``, computed by touchline/kpis/compute.py); a value never computed is NaN,
as is "no value".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from touchline.crm.models import Account, Deal
from touchline.kpis.catalogue import Versions
from touchline.kpis.models import Kpi, KpiStatus, KpiValue, SubjectKind
from touchline.org.models import Seller, Territory, Unit
from touchline.org.periods import Period

# Periods of the same kind loaded with the analysed one (it is the last of them).
HISTORY_PERIODS = 8
# Tenure bands in years at the period's start: [0, 1), [1, 3), [3, ∞).
TENURE_BANDS = (1.0, 3.0)


@dataclass(frozen=True)
class SellerFacts:
    """A field seller and the factors outside their control in the analysed period."""

    id: int
    external_id: str
    name: str
    unit_id: int
    potential: float | None
    hire_date: date | None
    tenure_years: float | None
    accounts_at_start: int

    @property
    def tenure_band(self) -> int | None:
        """0, 1 or 2 for the bands of ``TENURE_BANDS``; None without a hire date."""
        if self.tenure_years is None:
            return None
        return sum(self.tenure_years >= edge for edge in TENURE_BANDS)


@dataclass(frozen=True)
class KpiFacts:
    """What the analyses need of a KPI: its identity, meaning and decision rule."""

    id: int
    code: str
    name: str
    level: str
    kind: str
    source: str
    direction: str
    unit: str
    decimals: int
    builtin: bool
    decision_rule: str
    decision_threshold: float | None


@dataclass(frozen=True)
class UnitFacts:
    id: int
    external_id: str
    name: str
    parent_id: int | None
    manager_id: int | None


@dataclass
class Dataset:
    """The analysed period, its history and the field sellers' values in it.

    ``values[code]`` has one row per seller (in ``sellers`` order) and one column per
    period of ``history`` (oldest first; the last column is ``period``).
    """

    period: Period
    history: list[Period]
    sellers: list[SellerFacts]
    kpis: dict[str, KpiFacts]
    units: dict[int, UnitFacts]
    values: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.sellers)

    def row_of(self) -> dict[int, int]:
        """Return each seller id's row in the arrays."""
        return {seller.id: row for row, seller in enumerate(self.sellers)}

    def current(self, code: str) -> np.ndarray:
        """Return the KPI's values in the analysed period (NaN where none)."""
        return self.column(code, 0)

    def column(self, code: str, back: int) -> np.ndarray:
        """Return the KPI's values ``back`` periods before the analysed one."""
        found = self.values.get(code)
        if found is None or back >= found.shape[1]:
            return np.full(self.size, np.nan)
        return found[:, found.shape[1] - 1 - back]

    def ancestors(self, unit_id: int) -> list[int]:
        """Return the unit and every unit above it, nearest first."""
        chain: list[int] = []
        current: int | None = unit_id
        while current is not None and current not in chain:
            chain.append(current)
            current = self.units[current].parent_id if current in self.units else None
        return chain

    def units_of(self, seller: SellerFacts) -> list[int]:
        return self.ancestors(seller.unit_id)


def history_of(period: Period, count: int = HISTORY_PERIODS) -> list[Period]:
    """Return ``count`` periods of ``period``'s kind ending with it, oldest first."""
    found = [period]
    while len(found) < count:
        try:
            found.append(found[-1].previous())
        except ValueError:
            break
    return list(reversed(found))


def load_kpis(session: Session, day: date) -> dict[str, KpiFacts]:
    """Return the active KPIs with the decision rule of the version in force on ``day``."""
    versions = Versions.load(session)
    found: dict[str, KpiFacts] = {}
    for kpi in session.scalars(select(Kpi).where(Kpi.status == KpiStatus.ACTIVE).order_by(Kpi.id)):
        try:
            version = versions.in_force(kpi.id, day)
        except LookupError:
            continue
        found[kpi.code] = KpiFacts(
            id=kpi.id,
            code=kpi.code,
            name=kpi.name,
            level=kpi.level,
            kind=kpi.kind,
            source=kpi.source,
            direction=kpi.direction,
            unit=kpi.unit,
            decimals=kpi.decimals,
            builtin=kpi.builtin,
            decision_rule=version.decision_rule,
            decision_threshold=version.decision_threshold,
        )
    return found


def _accounts_at_start(session: Session, day: date) -> dict[int, int]:
    """Return per territory the accounts that had a won deal closed before ``day``."""
    customers = (
        select(Deal.account_id)
        .where(Deal.status == "won", Deal.close_date < day)
        .group_by(Deal.account_id)
        .subquery()
    )
    rows = session.execute(
        select(Account.territory_id, func.count())
        .join(customers, customers.c.account_id == Account.id)
        .where(Account.territory_id.is_not(None))
        .group_by(Account.territory_id)
    )
    return {int(territory): int(count) for territory, count in rows if territory is not None}


def load_dataset(
    session: Session,
    period: Period,
    *,
    history: int = HISTORY_PERIODS,
    codes: set[str] | None = None,
) -> Dataset:
    """Load the field sellers, their factors and KPI values for ``period`` and its history.

    ``codes`` limits the KPIs whose values are loaded (all active ones by default).
    """
    periods = history_of(period, history)
    managers = select(Unit.manager_id).where(Unit.manager_id.is_not(None))
    territories = select(Territory.id, Territory.market_potential)
    potentials: dict[int, Decimal] = dict(session.execute(territories).all())
    accounts = _accounts_at_start(session, period.start)
    sellers: list[SellerFacts] = []
    query = (
        select(Seller)
        .where(Seller.active.is_(True), Seller.id.not_in(managers))
        .order_by(Seller.external_id)
    )
    for seller in session.scalars(query):
        tenure = (period.start - seller.hire_date).days / 365.25 if seller.hire_date else None
        potential = potentials.get(seller.territory_id) if seller.territory_id else None
        sellers.append(
            SellerFacts(
                id=seller.id,
                external_id=seller.external_id,
                name=seller.name,
                unit_id=seller.unit_id,
                potential=float(potential) if potential is not None else None,
                hire_date=seller.hire_date,
                tenure_years=max(tenure, 0.0) if tenure is not None else None,
                accounts_at_start=accounts.get(seller.territory_id or -1, 0),
            )
        )
    units = {
        unit.id: UnitFacts(unit.id, unit.external_id, unit.name, unit.parent_id, unit.manager_id)
        for unit in session.scalars(select(Unit))
    }
    kpis = load_kpis(session, period.end)
    dataset = Dataset(period=period, history=periods, sellers=sellers, kpis=kpis, units=units)
    wanted = {code: facts for code, facts in kpis.items() if codes is None or code in codes}
    if not wanted or not sellers:
        return dataset
    rows = dataset.row_of()
    columns = {p.label: column for column, p in enumerate(periods)}
    codes_in_order = list(wanted)
    layer = {wanted[code].id: index for index, code in enumerate(codes_in_order)}
    # The core layer, not the ORM: half a million values at 2,000 sellers load in one pass.
    stored = (
        session.connection()
        .execute(
            select(KpiValue.kpi_id, KpiValue.subject_id, KpiValue.period, KpiValue.value).where(
                KpiValue.subject_kind == SubjectKind.SELLER,
                KpiValue.period.in_(list(columns)),
                KpiValue.kpi_id.in_(list(layer)),
                KpiValue.value.is_not(None),
            )
        )
        .all()
    )
    cube = np.full((len(codes_in_order), len(sellers), len(periods)), np.nan)
    if stored:
        kpi_ids, seller_ids, labels, numbers = zip(*stored, strict=True)
        seller_rows = np.array([rows.get(seller, -1) for seller in seller_ids], dtype=np.int64)
        kept = seller_rows >= 0
        layers = np.array([layer[kpi] for kpi in kpi_ids], dtype=np.int64)
        periods_at = np.array([columns[label] for label in labels], dtype=np.int64)
        cube[layers[kept], seller_rows[kept], periods_at[kept]] = np.array(numbers, float)[kept]
    for index, code in enumerate(codes_in_order):
        dataset.values[code] = cube[index]
    return dataset

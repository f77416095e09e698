"""Stored KPI values: expression KPIs, versions, refresh after an import, bad formulas."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tests.crm.conftest import VALID, write_folder
from touchline.auth.policy import SYSTEM
from touchline.crm.service import run_import
from touchline.errors import InvalidInput
from touchline.kpis import catalogue
from touchline.kpis.compute import compute_period
from touchline.kpis.models import ComputedPeriod, KpiValue, SubjectKind
from touchline.kpis.schemas import KpiCreate, KpiDefinition, KpiUpdate
from touchline.org.periods import parse_period

Q1 = parse_period("2026-Q1", fiscal_start_month=1)
Q2 = parse_period("2026-Q2", fiscal_start_month=1)


def _company_value(db, code, period):
    kpi = catalogue.get_kpi(db, code)
    return db.scalar(
        select(KpiValue.value).where(
            KpiValue.kpi_id == kpi.id,
            KpiValue.period == period.label,
            KpiValue.subject_kind == SubjectKind.COMPANY,
        )
    )


@pytest.fixture
def crm(db, tmp_path):
    report = run_import(db, actor=SYSTEM, path=write_folder(tmp_path / "crm", VALID))
    assert report.ok
    return tmp_path


def test_an_expression_kpi_is_stored_and_division_by_zero_is_no_value(db, crm):
    catalogue.create_kpi(
        db,
        actor=SYSTEM,
        kpi_in=KpiCreate(
            code="revenue_per_meeting",
            name="Revenue per meeting",
            level="result",
            formula="revenue_won / meetings",
        ),
    )
    catalogue.create_kpi(
        db,
        actor=SYSTEM,
        kpi_in=KpiCreate(
            code="lost_per_call", name="Lost per call", level="activity", formula="calls / demos"
        ),
    )
    compute_period(db, Q1)
    # D1 won 100.50 in February; one meeting (X1, 2 March) in the quarter.
    assert _company_value(db, "revenue_per_meeting", Q1) == pytest.approx(100.50)
    assert _company_value(db, "lost_per_call", Q1) is None  # no demos: no value, not 0
    assert _company_value(db, "revenue_won", Q1) == pytest.approx(100.50)


def test_a_new_version_applies_from_its_period_and_history_recomputes_the_same(db, crm):
    compute_period(db, Q1)
    compute_period(db, Q2)
    # Creating a KPI fills the periods computed before, without a `touchline compute`.
    kpi = catalogue.create_kpi(
        db,
        actor=SYSTEM,
        kpi_in=KpiCreate(code="focus", name="Focus", level="activity", formula="meetings * 2 + 1"),
    )
    before = _company_value(db, "focus", Q1)
    assert before == 3.0  # one meeting in Q1
    assert _company_value(db, "focus", Q2) == 1.0  # none in Q2
    catalogue.update_kpi(
        db,
        actor=SYSTEM,
        kpi=kpi,
        kpi_in=KpiUpdate(
            definition=KpiDefinition(formula="meetings * 10 + 5"), effective_from="2026-Q2"
        ),
    )
    # The new version recomputed Q2 on saving; Q1 keeps the old definition.
    assert _company_value(db, "focus", Q2) == 5.0
    assert _company_value(db, "focus", Q1) == before
    compute_period(db, Q1)
    assert _company_value(db, "focus", Q1) == before
    versions = catalogue.read_kpi(db, kpi).versions
    assert [v.formula for v in versions] == ["meetings * 2 + 1", "meetings * 10 + 5"]


def test_retiring_and_reactivating_a_kpi(db, crm):
    compute_period(db, Q1)
    kpi = catalogue.create_kpi(
        db,
        actor=SYSTEM,
        kpi_in=KpiCreate(code="twice", name="Twice", level="activity", formula="calls * 2"),
    )
    assert _company_value(db, "twice", Q1) == 2.0
    catalogue.update_kpi(db, actor=SYSTEM, kpi=kpi, kpi_in=KpiUpdate(status="retired"))
    compute_period(db, Q1)
    compute_period(db, Q2)
    assert _company_value(db, "twice", Q1) == 2.0  # its history stays
    assert _company_value(db, "twice", Q2) is None  # a retired KPI is no longer computed
    catalogue.update_kpi(db, actor=SYSTEM, kpi=kpi, kpi_in=KpiUpdate(status="active"))
    assert _company_value(db, "twice", Q2) == 0.0  # back on saving


@pytest.mark.parametrize(
    ("formula", "reason"),
    [
        ("revnue_won / meetings", "revenue_won"),
        ("__import__('os')", "formula"),
        ("meetings ** 2", "**"),
        ("", "formula"),
    ],
)
def test_bad_formulas_are_refused_with_the_reason(db, formula, reason):
    with pytest.raises(InvalidInput) as refused:
        catalogue.create_kpi(
            db,
            actor=SYSTEM,
            kpi_in=KpiCreate(code="bad", name="Bad", level="result", formula=formula),
        )
    assert refused.value.field == "formula"
    assert reason in refused.value.message
    assert db.scalar(select(KpiValue.kpi_id)) is None


def test_an_import_refreshes_the_periods_it_changed(db, crm):
    import touchline.kpis.compute  # noqa: F401 (registers the refresh)

    compute_period(db, Q1)
    assert _company_value(db, "deals_won", Q1) == 1
    more = {
        "deals.csv": (
            "deal_id,account_id,seller_id,created_date,close_date,status,amount,stage\n"
            "D9,A2,S3,2026-01-10,2026-03-31,won,20,\n"
        )
    }
    report = run_import(db, actor=SYSTEM, path=write_folder(crm / "more", more))
    assert report.ok
    # A deal reaches from its earliest date to the last day with data.
    assert report.changed_spans == [(date(2026, 1, 10), date(2026, 3, 31))]
    assert _company_value(db, "deals_won", Q1) == 2
    assert _company_value(db, "revenue_won", Q1) == pytest.approx(120.50)
    assert db.get(ComputedPeriod, "2026-Q1").trigger == "import"


def test_new_activities_refresh_their_days_and_their_deals_creation_only(db, crm):
    import touchline.kpis.compute  # noqa: F401 (registers the refresh)

    for label in ("2026-01", "2026-02", "2026-03", "2026-Q1"):
        compute_period(db, parse_period(label, fiscal_start_month=1))
    more = {
        "activities.csv": (
            "activity_id,seller_id,type,occurred_at,account_id,deal_id,duration_min,outcome\n"
            "X9,S3,call,2026-03-20T09:00:00Z,A2,D3,5,\n"
        )
    }
    report = run_import(db, actor=SYSTEM, path=write_folder(crm / "more", more))
    assert report.ok
    # The call's own day, and the day D3 was created (its speed to first touch).
    assert report.changed_spans == [
        (date(2026, 1, 5), date(2026, 1, 5)),
        (date(2026, 3, 20), date(2026, 3, 20)),
    ]
    triggers = {p.period: p.trigger for p in db.scalars(select(ComputedPeriod))}
    assert triggers["2026-01"] == "import"
    assert triggers["2026-03"] == "import"
    assert triggers["2026-02"] != "import"
    assert _company_value(db, "calls", Q1) == 2


def test_statistics_are_refreshed_after_a_bulk_load(engine):
    from sqlalchemy import text

    from touchline.crm.cli import tidy_after_bulk_load

    tidy_after_bulk_load(engine, ["activities", "deals", "no_such_target"])
    if engine.dialect.name != "postgresql":
        return  # SQLite's KPI plans are pinned to their indexes: nothing to refresh
    with engine.connect() as connection:
        vacuumed = connection.execute(
            text(
                "SELECT relname FROM pg_stat_user_tables "
                "WHERE last_vacuum IS NOT NULL AND relname IN ('activities', 'deals')"
            )
        ).scalars()
        assert sorted(vacuumed) == ["activities", "deals"]


def test_a_kpi_name_in_an_unknown_language_is_refused(db):
    from touchline.kpis.schemas import KpiText

    with pytest.raises(InvalidInput) as refused:
        catalogue.create_kpi(
            db,
            actor=SYSTEM,
            kpi_in=KpiCreate(
                code="focus",
                name="Focus",
                level="activity",
                formula="meetings",
                translations={"sv": KpiText(name="Fokus")},
            ),
        )
    assert refused.value.field == "translations"
    assert "sv" in refused.value.message


def test_recomputing_writes_only_what_changed(db, crm):
    first = compute_period(db, Q1)
    assert first.written == first.values > 0
    again = compute_period(db, Q1)
    assert again.written == 0
    assert again.values == first.values
    from datetime import UTC, datetime

    from touchline.crm.models import Activity
    from touchline.org.models import Seller

    bo = db.scalar(select(Seller).where(Seller.external_id == "S3"))
    db.add(
        Activity(
            external_id="X9",
            seller_id=bo.id,
            type="call",
            occurred_at=datetime(2026, 3, 20, 9, tzinfo=UTC),
            occurred_on=date(2026, 3, 20),
        )
    )
    db.flush()
    after = compute_period(db, Q1)
    # One more call: the calls of S3, of T1, R1 and C above them, and of the company.
    assert after.written == 5
    assert _company_value(db, "calls", Q1) == 2


def test_periods_are_computed_in_order_with_progress(db, crm):
    from touchline.kpis.compute import compute_periods

    said: list[str] = []
    months = [parse_period(label, fiscal_start_month=1) for label in ("2026-01", "2026-02")]
    results = compute_periods(db, [*months, Q1], trigger="test", progress=said.append)
    assert said == ["2026-01", "2026-02", "2026-Q1"]
    assert [r.period for r in results] == said
    assert all(r.written == r.values for r in results)
    assert _company_value(db, "deals_won", months[1]) == 1  # D1, won on 1 February

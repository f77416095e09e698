"""The manager's coaching KPIs: on cadence or not, and the values on the manager's card."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from tests.factories import make_org
from touchline.coaching.kpis import coaching_values, on_cadence, refresh_coaching_kpis
from touchline.coaching.models import ActionItem, Conversation
from touchline.kpis.catalogue import sync_builtin_kpis
from touchline.kpis.engine import load_organisation
from touchline.kpis.models import Kpi, KpiValue
from touchline.org.periods import parse_period

D = date(2026, 3, 1)


def test_a_seller_is_on_cadence_while_no_gap_passes_the_cadence_and_its_grace():
    every_two_weeks = [D - timedelta(days=3), D + timedelta(days=11), D + timedelta(days=25)]
    assert on_cadence(every_two_weeks, 14, D, D + timedelta(days=30))
    # 14 days plus three of grace: 17 is still fine, 18 is not.
    assert on_cadence([D, D + timedelta(days=17)], 14, D, D + timedelta(days=17))
    assert not on_cadence([D, D + timedelta(days=18)], 14, D, D + timedelta(days=18))
    assert not on_cadence([], 14, D, D + timedelta(days=30)), "never coached"
    assert not on_cadence([D + timedelta(days=5)], 14, D, D + timedelta(days=10)), "not before"


def test_the_manager_is_measured_over_their_direct_reports(db):
    org = make_org(db)
    sync_builtin_kpis(db)
    march = parse_period("2026-03", fiscal_start_month=1)
    anne, arne = org.sellers["A1"], org.sellers["A2"]
    for day in (date(2026, 2, 25), date(2026, 3, 10), date(2026, 3, 24)):
        db.add(
            Conversation(
                seller_id=anne.id, status="locked", held_on=day, version=1, field_versions={}
            )
        )
    db.add(
        Conversation(
            seller_id=arne.id,
            status="locked",
            held_on=date(2026, 3, 2),
            version=1,
            field_versions={},
        )
    )
    db.add_all(
        [
            ActionItem(
                seller_id=anne.id,
                title="a",
                owner="seller",
                due_on=date(2026, 3, 5),
                status="done",
                closed_on=date(2026, 3, 4),
                created_on=date(2026, 2, 25),
            ),
            ActionItem(
                seller_id=anne.id,
                title="b",
                owner="seller",
                due_on=date(2026, 3, 6),
                status="done",
                closed_on=date(2026, 3, 9),
                created_on=date(2026, 2, 25),
            ),
        ]
    )
    db.flush()
    organisation = load_organisation(db.connection())
    values = coaching_values(
        db.connection(), organisation, march, ["coaching_coverage", "action_follow_through"]
    )
    position = {int(s): i for i, s in enumerate(organisation.seller_ids)}
    mette = position[org.sellers["M1"].id]
    assert values["coaching_coverage"][mette] == 0.5  # Anne on cadence, Arne not
    assert values["action_follow_through"][mette] == 0.5  # one of two done on time
    assert (
        values["coaching_coverage"][position[anne.id]]
        != values["coaching_coverage"][position[anne.id]]
    )  # NaN: no reports


def test_holding_a_conversation_refreshes_the_stored_coverage_at_once(db):
    org = make_org(db)
    sync_builtin_kpis(db)
    from touchline.kpis.models import ComputedPeriod

    march = parse_period("2026-03", fiscal_start_month=1)
    db.add(ComputedPeriod(period=march.label, period_start=march.start, period_end=march.end))
    db.add(
        Conversation(
            seller_id=org.sellers["A1"].id,
            status="locked",
            held_on=date(2026, 2, 27),
            version=1,
            field_versions={},
        )
    )
    db.add(
        Conversation(
            seller_id=org.sellers["A1"].id,
            status="locked",
            held_on=date(2026, 3, 12),
            version=1,
            field_versions={},
        )
    )
    db.add(
        Conversation(
            seller_id=org.sellers["A1"].id,
            status="locked",
            held_on=date(2026, 3, 26),
            version=1,
            field_versions={},
        )
    )
    db.flush()
    refresh_coaching_kpis(db, days=[date(2026, 3, 12)])
    coverage = db.scalar(select(Kpi.id).where(Kpi.code == "coaching_coverage"))
    stored = db.scalar(
        select(KpiValue.value).where(
            KpiValue.kpi_id == coverage,
            KpiValue.period == "2026-03",
            KpiValue.subject_kind == "seller",
            KpiValue.subject_id == org.sellers["M1"].id,
        )
    )
    assert stored == 0.5

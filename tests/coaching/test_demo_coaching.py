"""The demo company's coaching: every manager has a history, a due list and a card."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from touchline.auth.models import Role, User
from touchline.auth.policy import actor_for
from touchline.coaching.cadence import due_list
from touchline.coaching.models import ActionItem, Conversation, Impediment
from touchline.kpis.models import Kpi, KpiValue
from touchline.kpis.scorecards import build_cards
from touchline.kpis.service import current_quarter
from touchline.org.models import Seller, Unit


def managers(db) -> list[User]:
    return list(db.scalars(select(User).where(User.role == Role.MANAGER).order_by(User.email)))


def test_every_manager_has_months_of_conversations_on_cadence(demo_db):
    for manager in managers(demo_db):
        days = demo_db.scalars(
            select(Conversation.held_on).where(
                Conversation.manager_user_id == manager.id, Conversation.held_on.is_not(None)
            )
        ).all()
        assert len(days) >= 30, manager.email
        assert (max(days) - min(days)).days >= 150, manager.email


def test_the_history_has_action_items_done_open_overdue_and_dropped_with_reasons(demo_db):
    statuses = Counter(demo_db.scalars(select(ActionItem.status)).all())
    assert statuses["done"] > statuses["open"] > 0
    assert statuses["dropped"] > 0
    assert not demo_db.scalar(
        select(func.count())
        .select_from(ActionItem)
        .where(ActionItem.status == "dropped", ActionItem.drop_reason == "")
    )
    overdue = demo_db.scalar(
        select(func.count())
        .select_from(ActionItem)
        .where(ActionItem.status == "open", ActionItem.due_on < func.current_date())
    )
    assert overdue > 0


def test_impediments_of_every_category(demo_db):
    assert set(demo_db.scalars(select(Impediment.category).distinct()).all()) == {
        "work_environment",
        "job_design",
        "policy_practice",
        "personal",
        "external",
    }


def test_every_manager_has_a_due_list_with_someone_to_see_and_why(demo_db):
    waiting = 0
    for manager in managers(demo_db):
        states = due_list(demo_db, actor=actor_for(demo_db, manager))
        assert states, manager.email
        waiting += sum(state.state(state.due_on) != "later" for state in states)
    assert waiting > 0


def test_team_leads_have_a_card_with_their_coaching_coverage(demo_db):
    lead = demo_db.scalar(
        select(Seller).join(Unit, Unit.manager_id == Seller.id).where(Unit.kind == "team").limit(1)
    )
    card = build_cards(demo_db, [lead], current_quarter())[0]
    assert card.template is not None
    assert card.template.name == "Team lead"
    assert {line.kpi.level for line in card.lines} == {"result", "activity", "will", "foundation"}
    assert sum(line.weight for line in card.lines) == 100
    coverage = next(line for line in card.lines if line.kpi.code == "coaching_coverage")
    assert coverage.actual is not None
    assert 0 <= coverage.actual <= 1
    assert not [w for w in card.warnings if "objective" in w]


def test_the_stored_coverage_of_past_months_reflects_the_history(demo_db):
    kpi = demo_db.scalar(select(Kpi.id).where(Kpi.code == "coaching_coverage"))
    values = demo_db.scalars(
        select(KpiValue.value).where(
            KpiValue.kpi_id == kpi,
            KpiValue.subject_kind == "company",
            KpiValue.period.like("____-__"),
        )
    ).all()
    assert max(values) >= 0.5

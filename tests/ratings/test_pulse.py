"""The weekly pulse and the team energy index.

A seller answers three questions from the dashboard; a unit's energy index is its
sellers' mean energy per week, left empty for weeks with fewer than three answers, and
flagged when its trend over the last quarter is clearly falling.
"""

from __future__ import annotations

from html import unescape

import pytest
from sqlalchemy import select

from tests.crm.conftest import dump
from tests.ratings.conftest import actor, count, demo_last_day, demo_marker, kpi_value
from touchline.auth.models import User
from touchline.auth.policy import SYSTEM, actor_for
from touchline.crm.models import PulseAnswer
from touchline.kpis.service import current_quarter
from touchline.org.models import Seller, Unit
from touchline.ratings import pulse

GOOD = {"motivation": "4", "energy": "3", "pride": "5"}


# Answering from the dashboard --------------------------------------------------------


def test_a_seller_answers_this_weeks_pulse_from_the_dashboard(client_as, db, org):
    anne = client_as(org.users["seller"])
    week = pulse.current_week().label
    dashboard = unescape(anne.get("/").text)
    assert f"This week's pulse · {week}" in dashboard
    assert 'action="/pulse"' in dashboard
    sent = anne.post("/pulse", data=GOOD | {"comment": "Busy but fine"})
    assert sent.status_code == 303
    assert sent.headers["location"] == "/?pulse=thanks#pulse"
    stored = db.scalars(select(PulseAnswer)).one()
    assert (stored.seller_id, stored.week, stored.origin) == (org.sellers["A1"].id, week, "app")
    assert (stored.motivation, stored.energy, stored.pride, stored.comment) == (
        4,
        3,
        5,
        "Busy but fine",
    )
    assert (
        "Thank you: you answered this week (motivation 4, energy 3, pride 5)." in anne.get("/").text
    )


def test_a_second_answer_the_same_week_replaces_the_first_and_feeds_the_will_kpis(
    client_as, db, org
):
    anne = client_as(org.users["seller"])
    anne.post("/pulse", data=GOOD)
    assert (
        anne.post("/pulse", data={"motivation": "2", "energy": "1", "pride": "2"}).status_code
        == 303
    )
    stored = db.scalars(select(PulseAnswer)).one()
    assert (stored.motivation, stored.energy, stored.pride) == (2, 1, 2)
    quarter = current_quarter().label
    assert kpi_value(db, "pulse_energy", seller=org.sellers["A1"], period=quarter) == 1.0
    assert kpi_value(db, "pulse_motivation", seller=org.sellers["A1"], period=quarter) == 2.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"motivation": "6"}, "6 is off the scale: answer 1 to 5."),
        ({"pride": "0"}, "0 is off the scale: answer 1 to 5."),
        ({"energy": ""}, "Answer every question of the pulse."),
        ({"energy": "-2"}, "Answer every question of the pulse."),
    ],
)
def test_a_pulse_off_the_scale_or_incomplete_is_refused_and_the_answer_stays(
    client_as, db, org, change, message
):
    anne = client_as(org.users["seller"])
    anne.post("/pulse", data=GOOD)
    before = dump(db)
    refused = anne.post("/pulse", data=GOOD | change)
    assert refused.status_code == 422
    assert message in refused.text
    assert dump(db) == before


def test_the_api_takes_the_pulse_too_and_refuses_the_same(client_as, db, org):
    anne = client_as(org.users["seller"])
    answered = anne.post("/api/v1/pulse", json={"motivation": 5, "energy": 4, "pride": 3})
    assert answered.status_code == 200
    assert answered.json() | {"comment": None} == {
        "week": pulse.current_week().label,
        "motivation": 5,
        "energy": 4,
        "pride": 3,
        "comment": None,
    }
    refused = anne.post("/api/v1/pulse", json={"motivation": 5, "energy": 9, "pride": 3})
    assert refused.status_code == 422
    assert refused.json()["error"] == {
        "message": "9 is off the scale: answer 1 to 5.",
        "field": "energy",
    }
    missing = anne.post("/api/v1/pulse", json={"motivation": 5, "energy": 4})
    assert missing.json()["error"]["field"] == "pride"
    assert db.scalars(select(PulseAnswer.energy)).all() == [4]


def test_only_sellers_answer_the_pulse(client_as, db, org):
    refused = client_as(org.users["admin"]).post(
        "/api/v1/pulse", json={"motivation": 5, "energy": 4, "pride": 3}
    )
    assert refused.status_code == 403
    assert count(db, PulseAnswer) == 0


# The energy index -------------------------------------------------------------------------


def _team(db, org, key: str, extra: int) -> list[Seller]:
    """The team's sellers, with ``extra`` more added so that weeks can have three answers."""
    unit = org.units[key]
    for number in range(extra):
        db.add(
            Seller(
                external_id=f"{key}-X{number}",
                name=f"Extra {number}",
                email=f"{key.lower()}x{number}@example.com",
                unit_id=unit.id,
            )
        )
    db.flush()
    return list(db.scalars(select(Seller).where(Seller.unit_id == unit.id).order_by(Seller.id)))


def _answer_weeks(
    db, sellers: list[Seller], energy, *, skip: dict[int, int] | None = None
) -> list[str]:
    """Store 13 weeks of pulse up to this one; ``energy(week, seller)`` gives each answer.
    ``skip`` lets only so many sellers answer a week. Returns the week labels."""
    weeks = [pulse.current_week()]
    while len(weeks) < 13:
        weeks.insert(0, weeks[0].previous())
    for number, week in enumerate(weeks):
        answering = sellers[: (skip or {}).get(number, len(sellers))]
        for position, seller in enumerate(answering):
            value = energy(number, position)
            db.add(
                PulseAnswer(
                    seller_id=seller.id,
                    week=week.label,
                    motivation=value,
                    energy=value,
                    pride=value,
                )
            )
    db.flush()
    return [week.label for week in weeks]


def test_the_energy_index_leaves_out_weeks_under_three_answers_and_flags_a_falling_team(
    client_as, db, org
):
    sellers = _team(db, org, "T1", extra=2)  # Anne, Arne and two more

    def sinking(week: int, position: int) -> int:
        return max(1, min(5, round(4.8 - 0.25 * week + (position - 1.5) * 0.4)))

    weeks = _answer_weeks(db, sellers, sinking, skip={6: 2})
    db.commit()
    index = pulse.team_energy(db, actor=actor(db, org, "manager"), unit=org.units["T1"])
    by_week = dict(zip(index.weeks, index.energy, strict=True))
    answers = dict(zip(index.weeks, index.answers, strict=True))
    assert answers[weeks[6]] == 2
    assert by_week[weeks[6]] is None  # two answers: no one's answer may stand out
    assert by_week[weeks[0]] == pytest.approx(sum(sinking(0, p) for p in range(4)) / 4)
    assert all(by_week[label] is not None for label in weeks if label != weeks[6])
    assert index.slope is not None
    assert index.slope < -0.15
    assert index.falling
    api = client_as(org.users["manager"]).get("/api/v1/units/T1/energy").json()
    assert api["falling"] is True
    assert api["energy"][api["weeks"].index(weeks[6])] is None
    csv = client_as(org.users["manager"]).get("/units/T1/energy", params={"format": "csv"}).text
    assert f"\n{weeks[6]},,2," in csv
    dashboard = client_as(org.users["manager"]).get("/").text
    assert 'id="team-energy-T1"' in dashboard
    assert "Energy is falling" in dashboard


def test_a_steady_team_is_not_flagged(client_as, db, org):
    sellers = _team(db, org, "T2", extra=3)  # Bente and three more
    _answer_weeks(db, sellers, lambda week, position: 3 + (week + position) % 2)
    db.commit()
    index = pulse.team_energy(db, actor=actor(db, org, "manager2"), unit=org.units["T2"])
    assert all(value is not None for value in index.energy[-13:])
    assert not index.falling
    dashboard = client_as(org.users["manager2"]).get("/").text
    assert 'id="team-energy-T2"' in dashboard
    assert "Energy is falling" not in dashboard


def test_a_seller_sees_no_energy_of_a_team_not_theirs(client_as, org):
    assert client_as(org.users["seller"]).get("/api/v1/units/T2/energy").status_code == 404


# The demo's Bergen team ----------------------------------------------------------------------


@pytest.fixture
def demo_today(demo_db, monkeypatch):
    """The demo's last day as today: its pulse and targets end there."""
    day = demo_last_day(demo_db)
    monkeypatch.setattr(pulse, "company_today", lambda: day)
    return day


def test_the_demos_bergen_team_is_falling_while_its_activity_targets_rise(demo_db, demo_today):
    assert demo_marker(demo_db)["low_energy_team"] == "T-NO-BER"
    teams = list(demo_db.scalars(select(Unit).where(Unit.kind == "team")))
    bergen = next(team for team in teams if team.external_id == "T-NO-BER")
    manager = demo_db.scalars(select(User).where(User.seller_id == bergen.manager_id)).one()
    index = pulse.team_energy(demo_db, actor=actor_for(demo_db, manager), unit=bergen)
    assert index.falling
    assert index.slope_high is not None
    assert index.slope_high < 0
    assert index.demands_rising
    targets = [total for _month, total in index.targets]
    assert targets[-1] > targets[0] * 1.3
    # Bergen is the one team whose energy falls.
    falling = [
        team.external_id
        for team in teams
        if pulse.team_energy(demo_db, actor=SYSTEM, unit=team, today=demo_today).falling
    ]
    assert falling == ["T-NO-BER"]


def test_bergens_manager_sees_the_falling_energy_on_the_dashboard(demo_db, demo_as, demo_today):
    bergen = demo_db.scalars(select(Unit).where(Unit.external_id == "T-NO-BER")).one()
    manager = demo_db.scalars(select(User).where(User.seller_id == bergen.manager_id)).one()
    dashboard = demo_as(manager.email).get("/")
    assert dashboard.status_code == 200
    section = unescape(dashboard.text).split('id="team-energy-T-NO-BER"', 1)[1]
    section = section.split("</section>", 1)[0]
    assert "Energy is falling" in section
    assert "At the same time the activity targets on the team's cards rose." in section
    assert "Check workload and activity demands before raising any target" in section

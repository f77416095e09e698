"""The funnel: conversion from stage to stage and time in stage with open deals censored,
checked by hand on constructed deals, and on the demo (which has no stage history)."""

from __future__ import annotations

from datetime import UTC, date, timedelta

import pytest
from sqlalchemy import func, select
from statsmodels.stats.proportion import proportion_confint

from tests.analytics.conftest import demo_login, demo_marker, seller_of, unit_of
from tests.analytics.demo_today import demo_today  # noqa: F401 (a fixture)
from touchline.analytics.funnel import (
    KEY,
    DealFacts,
    Tally,
    funnel_steps,
    km_median,
    passages_from_outcome,
    passages_with_history,
    stage_order,
    summarise_tally,
)
from touchline.analytics.registry import stored_payload
from touchline.crm.models import Deal

JAN = date(2026, 1, 1)


def day(n: int) -> date:
    return JAN + timedelta(days=n)


def test_created_closed_won_with_open_deals_censored():
    # Five deals created on 1 January, judged on 10 February (day 40):
    # A won after 10 days, B lost after 20, C won after 30, D open since day 0 (40 days
    # so far), E open since day 30 (10 days so far).
    pace_day = day(40)
    deals = [
        DealFacts(1, 7, JAN, day(10), True),
        DealFacts(2, 7, JAN, day(20), False),
        DealFacts(3, 7, JAN, day(30), True),
        DealFacts(4, 7, JAN, None, False),
        DealFacts(5, 7, day(30), None, False),
    ]
    tally = Tally()
    for deal in deals:
        tally.add(passages_from_outcome(deal, pace_day), deal.won)
    summary = summarise_tally(tally, ["open"], funnel_steps(["open"]))
    step = summary["steps"][0]
    # Conversion counts decided deals only: 2 won of 3 decided; 2 still open.
    assert (step["advanced"], step["lost"], step["open"]) == (2, 1, 2)
    assert step["rate"] == pytest.approx(2 / 3)
    low, high = proportion_confint(2, 3, alpha=0.05, method="wilson")
    assert (step["low"], step["high"]) == (pytest.approx(low), pytest.approx(high))
    # Kaplan–Meier by hand: at 10 days 1 of 5 closes (E, censored at 10, is still at
    # risk): S = 4/5; at 20 days 1 of 3: S = 8/15; at 30 days 1 of 2: S = 4/15 < 1/2.
    # The median is 30 days. Treating the open deals as closed today would give 20.
    time = summary["times"][0]
    assert time["median"] == pytest.approx(30.0)
    assert (time["deals"], time["left"]) == (5, 3)
    assert summary["reached"] == [5, 3, 2]  # created, closed, won


def test_stages_from_history_with_an_open_deal_still_in_its_stage():
    # X: qualification day 0, proposal day 10, won day 20.
    # Y: qualification day 0, lost day 5.
    # Z: qualification day 0, proposal day 4, still open on day 30.
    pace_day = day(30)
    histories = {
        1: [(day(0), "qualification"), (day(10), "proposal")],
        2: [(day(0), "qualification")],
        3: [(day(0), "qualification"), (day(4), "proposal")],
    }
    deals = {
        1: DealFacts(1, 7, JAN, day(20), True),
        2: DealFacts(2, 7, JAN, day(5), False),
        3: DealFacts(3, 7, JAN, None, False),
    }
    stages = stage_order(histories)
    assert stages == ["qualification", "proposal"]
    order = {stage: position for position, stage in enumerate(stages)}
    tally = Tally()
    for deal_id, deal in deals.items():
        tally.add(passages_with_history(deal, histories[deal_id], order, pace_day), deal.won)
    summary = summarise_tally(tally, stages, funnel_steps(stages))
    qualification, proposal = summary["steps"]
    assert qualification["key"] == "qualification>proposal"
    assert (qualification["advanced"], qualification["lost"], qualification["open"]) == (2, 1, 0)
    assert qualification["rate"] == pytest.approx(2 / 3)
    assert proposal["key"] == "proposal>won"
    assert (proposal["advanced"], proposal["lost"], proposal["open"]) == (1, 0, 1)
    in_qualification, in_proposal = summary["times"]
    # 10, 5 and 4 days, all left: the median is 5.
    assert in_qualification["median"] == pytest.approx(5.0)
    # X left proposal after 10 days, Z is in it for 26 days so far (censored): S drops
    # to exactly 1/2 at 10 days and never below it. Like SAS, statsmodels takes the
    # median where S falls below one half: not yet, so there is none.
    assert in_proposal["median"] is None
    assert (in_proposal["deals"], in_proposal["left"]) == (2, 1)
    assert summary["reached"] == [3, 2, 1]


def test_a_stage_nobody_left_has_no_median():
    assert km_median([3.0, 5.0], [False, False]) == (None, None, None)
    assert km_median([], []) == (None, None, None)


@pytest.fixture
def funnelled(demo_db, analysed, demo_today):  # noqa: F811
    period = analysed(only={"funnel"})
    payload = stored_payload(demo_db, period, KEY)
    assert payload is not None
    return period, payload


def test_the_demo_funnel_matches_its_deals_counted_directly(demo_db, funnelled):
    _period, payload = funnelled
    # The demo has no stage history: created -> closed -> won.
    assert payload["mode"] == "outcomes"
    start, end = (date.fromisoformat(d) for d in payload["window"])
    counts = dict(
        demo_db.execute(
            select(Deal.status, func.count())
            .where(Deal.created_date.between(start, end))
            .group_by(Deal.status)
        ).all()
    )
    company = payload["company"]["steps"][0]
    # Field sellers only: the counts may fall short of all deals, never exceed them.
    assert company["advanced"] <= counts["won"]
    assert company["lost"] <= counts["lost"]
    assert company["advanced"] >= 0.9 * counts["won"]
    assert company["rate"] == pytest.approx(
        company["advanced"] / (company["advanced"] + company["lost"])
    )
    median = payload["company"]["times"][0]
    assert median["low"] <= median["median"] <= median["high"]
    # Every seller is compared with their own unit's pooled rate; a seller is said to
    # lose deals only on enough decided deals and a whole interval below the unit.
    flagged = 0
    for seller in payload["sellers"].values():
        unit = payload["units"][str(seller["unit_id"])]
        step = seller["steps"][0]
        assert step["unit_rate"] == unit["steps"][0]["rate"]
        if step["loses"]:
            flagged += 1
            assert step["advanced"] + step["lost"] >= payload["min_deals"]
            assert step["high"] < step["unit_rate"]
            assert seller["weakest"] == step["key"]
    assert 0 < flagged < len(payload["sellers"]) / 2


def test_the_funnel_page_and_api_follow_the_visibility_policy(demo_db, demo_as, funnelled):
    period, _payload = funnelled
    manager = demo_as(demo_login(demo_db, "manager"))
    found = manager.get("/api/v1/analytics/funnel", params={"period": period.label}).json()
    assert found["computed"]
    assert [u["external_id"] for u in found["units"]] == ["T-DK-KOB"]
    assert found["company"] is None
    assert all(s["unit_id"] == found["units"][0]["id"] for s in found["sellers"])
    page = manager.get("/analytics/funnel", params={"period": period.label})
    assert page.status_code == 200
    assert "funnel-chart" in page.text
    assert "The numbers behind the chart" in page.text
    planted = demo_marker(demo_db)["improving_seller"]
    hidden = manager.get("/analytics/funnel", params={"period": period.label, "seller": planted})
    assert hidden.status_code == 404
    assert "seller" in hidden.text
    leader = demo_as(demo_login(demo_db, "leader"))
    one = leader.get("/analytics/funnel", params={"period": period.label, "seller": planted})
    assert seller_of(demo_db, planted).name in one.text
    csv = leader.get(
        "/analytics/funnel", params={"period": period.label, "seller": planted, "format": "csv"}
    )
    assert csv.text.splitlines()[0].startswith("seller,name,from_stage,to_stage")
    assert len(csv.text.splitlines()) == 2
    seller = demo_as(demo_login(demo_db, "seller"))
    mine = seller.get("/api/v1/analytics/funnel", params={"period": period.label}).json()
    assert len(mine["sellers"]) == 1
    assert mine["units"] == []
    assert mine["company"] is None


def test_the_seller_page_links_to_the_sellers_funnel(demo_db, demo_as, funnelled):
    leader = demo_as(demo_login(demo_db, "leader"))
    planted = demo_marker(demo_db)["improving_seller"]
    page = leader.get(f"/sellers/{planted}")
    assert page.status_code == 200
    assert f"/analytics/funnel?seller={planted}" in page.text


def test_stage_history_on_both_databases(db):
    from datetime import datetime

    from tests.factories import make_org
    from touchline.analytics.funnel import funnel_of
    from touchline.analytics.warning_pace import EventSource, event_profile
    from touchline.crm.models import Activity, DealStageChange
    from touchline.org.periods import parse_period

    org = make_org(db)
    anne, arne = org.sellers["A1"], org.sellers["A2"]
    # Anne: two deals through qualification -> proposal, one won, one lost in proposal.
    # Arne: one deal lost in qualification, one still in qualification.
    plans = [
        (anne, "D1", day(0), day(30), "won", [(day(0), "qualification"), (day(10), "proposal")]),
        (anne, "D2", day(0), day(40), "lost", [(day(0), "qualification"), (day(20), "proposal")]),
        (arne, "D3", day(0), day(15), "lost", [(day(0), "qualification")]),
        (arne, "D4", day(50), None, "open", [(day(50), "qualification"), (day(60), "Closed")]),
    ]
    for seller, key, created, closed, status, stages in plans:
        deal = Deal(
            external_id=key,
            seller_id=seller.id,
            created_date=created,
            close_date=closed,
            status=status,
            amount_cents=100_000,
        )
        db.add(deal)
        db.flush()
        for entered, stage in stages:
            db.add(DealStageChange(deal_id=deal.id, stage=stage, entered_on=entered))
    for number, offset in enumerate((1, 2, 80)):
        moment = datetime(2026, 1, 1, 10, tzinfo=UTC) + timedelta(days=offset)
        db.add(
            Activity(
                external_id=f"AC{number}",
                seller_id=anne.id,
                type="meeting",
                occurred_at=moment,
                occurred_on=moment.date(),
            )
        )
    db.flush()
    quarter = parse_period("2026-Q1", fiscal_start_month=1)
    found = funnel_of(db, quarter, today=date(2026, 6, 1))
    assert found["mode"] == "stages"
    assert found["stages"] == ["qualification", "proposal"]  # "Closed" is the outcome
    team = found["units"][str(org.units["T1"].id)]
    qualification, proposal = team["steps"]
    # Qualification: D1, D2 advanced, D3 lost, D4 still in it.
    assert (qualification["advanced"], qualification["lost"], qualification["open"]) == (2, 1, 1)
    # Proposal: D1 won, D2 lost.
    assert (proposal["advanced"], proposal["lost"]) == (1, 1)
    assert team["reached"] == [4, 2, 1]
    # Half of a quarter (45 of 90 days): meetings on days 1 and 2 came by then, not 80.
    profile = event_profile(db, EventSource("meeting"), [quarter], 0.5)
    assert profile.reached[anne.id] == 2
    assert profile.total[anne.id] == 3
    won = event_profile(db, EventSource("won", amounts=True), [quarter], 0.5)
    assert won.reached[anne.id] == pytest.approx(1000.0)  # D1 closed on day 30
    assert won.total[anne.id] == pytest.approx(1000.0)


def test_a_leader_sees_who_loses_deals_first_and_narrows_to_a_unit(demo_db, demo_as, funnelled):
    period, payload = funnelled
    leader = demo_as(demo_login(demo_db, "leader"))
    page = leader.get("/analytics/funnel", params={"period": period.label})
    flagged = [
        row
        for row in payload["sellers"].values()
        if any(s["loses"] for s in row["steps"]) or any(t["slow"] for t in row["times"])
    ]
    assert f"{len(flagged)} of {len(payload['sellers'])} sellers lose deals" in page.text
    team = leader.get("/analytics/funnel", params={"period": period.label, "unit": "T-DK-KOB"})
    members = [
        r for r in payload["sellers"].values() if r["unit_id"] == unit_of(demo_db, "T-DK-KOB").id
    ]
    assert team.text.count("deals</small>") == len(members)
    wrong = leader.get("/api/v1/analytics/funnel", params={"period": period.label, "unit": "T-XX"})
    assert wrong.status_code in (400, 422)
    assert "unit" in wrong.text

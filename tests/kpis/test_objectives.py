"""Objectives, alignment, governance and the KPI editor pages."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import csrf_from, sign_in
from tests.factories import PASSWORD, make_user
from tests.kpis.test_scorecards import TODAY, _seller, _unit, _with_card, imported  # noqa: F401
from touchline.auth.models import Role
from touchline.auth.policy import SYSTEM
from touchline.errors import Forbidden, InvalidInput
from touchline.kpis import catalogue
from touchline.kpis.governance import governance_report
from touchline.kpis.models import Kpi, KpiVersion
from touchline.kpis.objectives import alignment, create_objective, link_kpi, objective_tree


def test_progress_rolls_up_from_kpis_and_children_by_weight(db, imported):  # noqa: F811
    _with_card(db)  # revenue_won target 100 (S2: 100.5 %, S3: 0 %), meetings target 1
    top = create_objective(db, actor=SYSTEM, title="Grow")
    revenue = create_objective(db, actor=SYSTEM, title="Revenue", parent_id=top.id, weight=3)
    activity = create_objective(db, actor=SYSTEM, title="Activity", parent_id=top.id, weight=1)
    link_kpi(db, actor=SYSTEM, kpi=catalogue.get_kpi(db, "revenue_won"), objective=revenue)
    link_kpi(db, actor=SYSTEM, kpi=catalogue.get_kpi(db, "meetings"), objective=activity)
    (root,) = objective_tree(db, actor=SYSTEM, period=imported)
    by_title = {child.objective.title: child for child in root.children}
    # Revenue: mean attainment over the sellers with it on their card.
    revenue_progress = by_title["Revenue"].progress
    activity_progress = by_title["Activity"].progress
    assert revenue_progress is not None
    assert activity_progress is not None
    assert root.progress == pytest.approx((3 * revenue_progress + activity_progress) / 4)
    empty, loose = alignment(db, actor=SYSTEM)
    assert empty == []
    assert "revenue_won" not in {kpi.code for kpi in loose}
    assert "calls" in {kpi.code for kpi in loose}


def test_objectives_refuse_bad_input_and_outsiders(db, imported):  # noqa: F811
    from touchline.auth.policy import Actor

    with pytest.raises(InvalidInput):
        create_objective(db, actor=SYSTEM, title="  ")
    with pytest.raises(InvalidInput):
        create_objective(db, actor=SYSTEM, title="Weightless", weight=0)
    with pytest.raises(InvalidInput):
        create_objective(db, actor=SYSTEM, title="Orphan", parent_id=9999)
    seller = Actor(user=None, role=Role.SELLER, own_seller_id=_seller(db, "S3").id)
    with pytest.raises(Forbidden):
        create_objective(db, actor=seller, title="Mine", unit=_unit(db, "T1"))


def test_governance_finds_too_many_kpis_weights_missing_levels_and_rules(db, imported):  # noqa: F811
    from touchline.kpis.assignments import LineSpec, save_template

    codes = [
        "revenue_won",
        "deals_won",
        "win_rate",
        "calls",
        "emails",
        "demos",
        "meetings",
        "social_touches",
    ]
    save_template(db, actor=SYSTEM, name="Crowded", lines=[LineSpec(code, 10) for code in codes])
    kpi = catalogue.get_kpi(db, "calls")
    version = db.scalar(select(KpiVersion).where(KpiVersion.kpi_id == kpi.id))
    version.decision_rule = ""
    report = governance_report(db, actor=SYSTEM)
    (check,) = report.templates
    assert check.too_many
    assert check.weights_off
    assert set(check.missing_levels) == {"will", "foundation"}
    assert "calls" in {kpi.code for kpi, _name in report.without_rule}
    assert "revenue_won" in {kpi.code for kpi, _name in report.without_objective}


def test_a_kpi_set_by_someone_outside_the_line_is_marked(db, imported):  # noqa: F811
    from touchline.auth.policy import actor_for
    from touchline.kpis.assignments import LineSpec, set_seller_line
    from touchline.kpis.scorecards import seller_scorecard

    _with_card(db)
    # Dora manages R1 (above Anne's T1); a leader from elsewhere is never "outside".
    leader = make_user(db, "lea@x.dk", Role.LEADER)
    set_seller_line(
        db,
        actor=actor_for(db, leader),
        seller=_seller(db, "S2"),
        spec=LineSpec("calls", 0, 5),
        effective_from=imported.label,
    )
    card = seller_scorecard(
        db, actor=SYSTEM, seller=_seller(db, "S2"), period=imported, today=TODAY
    )
    assert not any(line.imposed for line in card.lines)
    outsider = make_user(db, "bo@x.dk", Role.MANAGER, _seller(db, "S3"))
    line = set_seller_line(
        db,
        actor=SYSTEM,
        seller=_seller(db, "S2"),
        spec=LineSpec("demos", 0, 2),
        effective_from=imported.label,
    )
    line.assigned_by_id = outsider.id
    card = seller_scorecard(
        db, actor=SYSTEM, seller=_seller(db, "S2"), period=imported, today=TODAY
    )
    assert [line.kpi.code for line in card.lines if line.imposed] == ["demos"]
    assert [item.by for item in governance_report(db, actor=SYSTEM).imposed] == ["bo@x.dk"]


def test_a_leader_adds_a_kpi_and_a_version_through_the_pages(db, imported, client):  # noqa: F811
    make_user(db, "lea@x.dk", Role.LEADER)
    db.commit()
    token = sign_in(client, "lea@x.dk", PASSWORD)
    form = {
        "csrf_token": token,
        "code": "revenue_per_meeting",
        "name": "Revenue per meeting",
        "level": "result",
        "formula": "revenue_won / meetngs",
    }
    refused = client.post("/kpis/new", data=form)
    assert refused.status_code == 422
    assert "meetings" in refused.text  # the nearest known name is suggested
    assert db.scalar(select(Kpi).where(Kpi.code == "revenue_per_meeting")) is None
    created = client.post(
        "/kpis/new",
        data=form
        | {"formula": "revenue_won / meetings", "name_da": "Omsætning pr. møde", "name_it": ""},
    )
    assert created.status_code == 303
    # The Danish name is shown to a Danish reader; Italian falls back to English.
    with_language = client.post(
        "/language", data={"csrf_token": token, "language": "da", "next": "/kpis"}
    )
    assert with_language.status_code == 303
    assert "Omsætning pr. møde" in client.get("/kpis/revenue_per_meeting").text
    api = client.get("/api/v1/kpis/revenue_per_meeting").json()
    assert api["translations"] == {"da": {"name": "Omsætning pr. møde", "description": ""}}
    page = client.get("/kpis/revenue_per_meeting")
    version = client.post(
        "/kpis/revenue_per_meeting",
        data={
            "csrf_token": csrf_from(page.text),
            "effective_from": "2026-Q3",
            "formula": "revenue_won / (meetings + 1)",
            "green_from": "100",
            "amber_from": "80",
        },
    )
    assert version.status_code == 303
    formulas = [
        v["formula"] for v in client.get("/api/v1/kpis/revenue_per_meeting").json()["versions"]
    ]
    assert formulas == ["revenue_won / meetings", "revenue_won / (meetings + 1)"]
    assert client.get("/governance").status_code == 200
    assert client.get("/objectives").status_code == 200


def test_the_catalogue_offers_new_kpis_and_the_editor_sets_owner_status_and_objective(
    db,
    imported,  # noqa: F811
    client,
):
    make_user(db, "lea@x.dk", Role.LEADER)
    make_user(db, "anne@x.dk", Role.SELLER, _seller(db, "S2"))
    objective = create_objective(db, actor=SYSTEM, title="Grow")
    db.commit()
    token = sign_in(client, "lea@x.dk", PASSWORD)
    assert 'href="/kpis/new"' in client.get("/kpis").text
    created = client.post(
        "/kpis/new",
        data={
            "csrf_token": token,
            "code": "coaching_quality",
            "name": "Coaching quality",
            "level": "activity",
            "source": "rating",
            "kind": "hard",
            "time_aggregation": "mean",
            "unit": "score",
            "status": "draft",
            "objective_id": str(objective.id),
            "decision_rule": "Below 3: plan a joint visit.",
        },
    )
    assert created.status_code == 303, created.text
    kpi = db.scalar(select(Kpi).where(Kpi.code == "coaching_quality"))
    assert (kpi.kind, kpi.source, kpi.status) == ("soft", "rating", "draft")  # rated: soft
    assert (kpi.time_aggregation, kpi.objective_id) == ("mean", objective.id)
    assert client.get("/api/v1/kpis/coaching_quality").json()["owner"] == "lea@x.dk"
    seller_owner = client.post(
        "/kpis/coaching_quality/details",
        data={"csrf_token": token, "name": "Coaching quality", "owner": "anne@x.dk"},
    )
    assert seller_owner.status_code == 422
    assert "is a seller" in seller_owner.text
    changed = client.post(
        "/kpis/coaching_quality/details",
        data={
            "csrf_token": token,
            "name": "Quality of coaching",
            "status": "active",
            "level": "will",
            "objective_id": "",
            "name_da": "Coachingens kvalitet",
        },
    )
    assert changed.status_code == 303
    db.expire_all()
    kpi = db.scalar(select(Kpi).where(Kpi.code == "coaching_quality"))
    assert (kpi.name, kpi.status, kpi.level, kpi.objective_id) == (
        "Quality of coaching",
        "active",
        "will",
        None,
    )
    assert kpi.translations["da"]["name"] == "Coachingens kvalitet"


def test_every_kpi_table_downloads_as_csv_and_excel(db, imported, client):  # noqa: F811
    import io

    import openpyxl

    _with_card(db)
    make_user(db, "lea@x.dk", Role.LEADER)
    db.commit()
    sign_in(client, "lea@x.dk", PASSWORD)
    pages = [
        "/kpis",
        "/kpis/revenue_won",
        "/governance",
        "/overview?period=2026-Q1",
        "/units/T1/heatmap?period=2026-Q1",
        "/units/T1/scorecard?period=2026-Q1",
        "/sellers/S2/scorecard?period=2026-Q1",
        "/sellers",
        "/units/T1",
    ]
    for page in pages:
        html = client.get(page)
        assert html.status_code == 200, page
        assert "format=xlsx" in html.text, page
        joiner = "&" if "?" in page else "?"
        as_csv = client.get(f"{page}{joiner}format=csv")
        assert as_csv.status_code == 200, page
        assert as_csv.headers["content-type"].startswith("text/csv"), page
        header = as_csv.text.splitlines()[0]
        as_xlsx = client.get(f"{page}{joiner}format=xlsx")
        assert as_xlsx.status_code == 200, page
        sheet = openpyxl.load_workbook(io.BytesIO(as_xlsx.content)).active
        first = next(sheet.iter_rows(values_only=True))
        assert ",".join(str(cell) for cell in first) == header, page
    card = client.get("/sellers/S2/scorecard?period=2026-Q1&format=csv").text
    assert "revenue_won" in card
    assert client.get("/kpis?format=pdf").status_code == 422


def test_sellers_may_not_edit_kpis(db, imported, client):  # noqa: F811
    make_user(db, "anne@x.dk", Role.SELLER, _seller(db, "S2"))
    db.commit()
    token = sign_in(client, "anne@x.dk", PASSWORD)
    assert client.get("/kpis/new").status_code == 403
    assert client.get("/governance").status_code == 403
    refused = client.post(
        "/kpis/calls", data={"csrf_token": token, "effective_from": "2026-Q3", "formula": "calls"}
    )
    assert refused.status_code == 403
    assert client.get("/objectives").status_code == 200


def test_a_card_warns_about_a_kpi_without_a_decision_rule_and_the_limit_is_a_setting(
    db,
    imported,  # noqa: F811
    monkeypatch,
):
    from touchline.config import get_settings
    from touchline.kpis.assignments import LineSpec, assign_template, save_template
    from touchline.kpis.governance import template_checks
    from touchline.kpis.scorecards import seller_scorecard

    codes = ["revenue_won", "calls", "meetings", "demos"]
    template = save_template(
        db, actor=SYSTEM, name="Four", lines=[LineSpec(code, 25) for code in codes]
    )
    assign_template(db, actor=SYSTEM, template=template, unit=_unit(db, "C"))
    calls = catalogue.get_kpi(db, "calls")
    db.scalar(select(KpiVersion).where(KpiVersion.kpi_id == calls.id)).decision_rule = ""
    card = seller_scorecard(db, actor=SYSTEM, seller=_seller(db, "S2"), period=imported)
    assert "Calls has no decision rule: it leads to no decision." in card.warnings
    assert not any("blurs the focus" in warning for warning in card.warnings)
    (check,) = template_checks(db)
    assert check.without_rule == ["Calls"]
    assert "Calls" in check.without_objective
    assert not check.too_many

    monkeypatch.setenv("TOUCHLINE_MAX_CARD_KPIS", "3")
    get_settings.cache_clear()
    try:
        card = seller_scorecard(db, actor=SYSTEM, seller=_seller(db, "S2"), period=imported)
        (check,) = template_checks(db)
    finally:
        get_settings.cache_clear()
    assert "4 active KPIs on one card: more than 3 blurs the focus." in card.warnings
    assert check.too_many


def test_a_rated_kpis_new_version_keeps_or_changes_its_weights_per_rater(
    db,
    imported,  # noqa: F811
    client,
):
    make_user(db, "lea@x.dk", Role.LEADER)
    db.commit()
    sign_in(client, "lea@x.dk", PASSWORD)
    page = client.get("/kpis/objection_handling")
    assert page.status_code == 200
    assert 'name="weight_manager" inputmode="decimal" value="40' in page.text
    saved = client.post(
        "/kpis/objection_handling",
        data={
            "csrf_token": csrf_from(page.text),
            "effective_from": "2026-Q2",
            "target": "3.5",
            "green_from": "100",
            "amber_from": "85",
            "weight_manager": "50",
            "weight_self": "50",
        },
    )
    assert saved.status_code == 303, saved.text
    versions = client.get("/api/v1/kpis/objection_handling").json()["versions"]
    assert versions[0]["rater_weights"] == {"manager": 40, "customer": 40, "self": 20}
    assert versions[1]["rater_weights"] == {"manager": 50, "self": 50}
    assert versions[1]["effective_from"] == "2026-04-01"
    refused = client.post(
        "/kpis/objection_handling",
        data={
            "csrf_token": csrf_from(page.text),
            "effective_from": "2026-Q3",
            "weight_manager": "-1",
        },
    )
    assert refused.status_code == 422
    assert "must not be negative" in refused.text

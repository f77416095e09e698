"""Outside raters and seller surveys: campaigns, contact lists, single-use links, e-mail.

Customers, mystery shoppers and peers answer through a link: a random token stored only
as a hash, valid once and until the campaign expires, in the rater's language, without
an account. Sellers answer the Foundation survey once; their answers are the Foundation
KPIs.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
import threading
import uuid
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import select, text

from tests.conftest import POSTGRES_ADMIN_URL, _postgres_admin, csrf_from
from tests.crm.conftest import dump
from tests.factories import Org, make_org, make_user
from tests.live_server import free_port, migrated_sqlite
from tests.ratings.conftest import (
    PERIOD,
    actor,
    add_accounts,
    compute,
    contacts_csv,
    count,
    kpi_value,
    token_of,
)
from touchline import i18n
from touchline.auth.models import Role
from touchline.config import get_settings
from touchline.crm.models import CustomerSurveyResponse, RatingRecord
from touchline.db import make_engine, make_sessionmaker, transaction, utcnow
from touchline.errors import DomainError
from touchline.migrations import upgrade
from touchline.ratings import campaigns
from touchline.ratings.answers import answer_survey
from touchline.ratings.models import SellerSurveyAnswer, SurveyCampaign, SurveyInvitation
from touchline.ratings.scales import sync_builtin_scales

KPIS = ["first_impression", "needs_discovery"]
GOOD = {"score": "8", "score_first_impression": "4", "score_needs_discovery": "3"}


def open_campaign(db, org: Org, **overrides) -> SurveyCampaign:
    """Mette's customer campaign about Team One, asking existing customers."""
    settings = {
        "name": "Customer voice",
        "kind": "customer",
        "period": PERIOD,
        "unit": org.units["T1"],
        "kpi_codes": KPIS,
        "customer_status": "existing",
        "message": "Thank you for working with us.",
    } | overrides
    return campaigns.create_campaign(db, actor=actor(db, org, "manager"), **settings)


@pytest.fixture
def links(db, org) -> list[str]:
    """Three customers of Acme invited about Anne: in Norwegian, Danish and English."""
    add_accounts(db, org)
    campaign = open_campaign(db, org)
    added = campaigns.add_contacts(
        db,
        actor=actor(db, org, "manager"),
        campaign=campaign,
        contacts=[
            campaigns.Contact(2, "A1", "Ane Nilsen", "ane@acme.no", "ACME", "nb"),
            campaigns.Contact(3, "A1", "Bo Holm", "bo@acme.dk", "ACME", "da"),
            campaigns.Contact(4, "A1", "Cy West", "cy@acme.com", "ACME", "en"),
        ],
    )
    db.commit()
    return [token_of(link.url) for link in added.links]


def answer(client, token: str, fields: dict[str, str]):
    """Open the link and send the form, as a rater's browser does (no account)."""
    page = client.get(f"/survey/{token}")
    return client.post(f"/survey/{token}", data={"csrf_token": csrf_from(page.text), **fields})


def state_of(html: str) -> str | None:
    match = re.search(r'id="survey-state" data-state="(\w+)"', html)
    return match.group(1) if match else None


def translated(language: str, message: str, **variables: str) -> str:
    """``message`` as the catalogue of ``language`` has it (English until translated)."""
    with i18n.language(language):
        return i18n.gettext(message, **variables)


# Campaigns -----------------------------------------------------------------------------


def test_a_manager_opens_a_customer_campaign(client_as, db, org):
    manager = client_as(org.users["manager"])
    opened = manager.post(
        "/api/v1/survey-campaigns",
        json={
            "name": "Customer voice",
            "kind": "customer",
            "period": PERIOD,
            "unit": "T1",
            "kpis": KPIS,
            "customer_status": "existing",
            "days": 14,
        },
    )
    assert opened.status_code == 201, opened.text
    campaign = opened.json()
    assert (campaign["kind"], campaign["customer_status"], campaign["kpis"]) == (
        "customer",
        "existing",
        KPIS,
    )
    assert (campaign["invited"], campaign["answered"], campaign["ask_score"]) == (0, 0, True)
    assert [item["name"] for item in manager.get("/api/v1/survey-campaigns").json()] == [
        "Customer voice"
    ]


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"kind": "friend"}, 422, "kind"),
        ({"customer_status": "happy"}, 422, "customer_status"),
        ({"period": "Q1-2026"}, 422, "period"),
        ({"kpis": ["charm"]}, 422, "kpis"),
        ({"kind": "mystery_shopper", "kpis": []}, 422, "kpis"),
        ({"unit": "T2"}, 404, "unit"),
        ({"unit": "N"}, 403, None),
    ],
)
def test_a_bad_campaign_is_refused_naming_the_field(client_as, db, org, change, status, field):
    body = {"name": "Voice", "kind": "customer", "period": PERIOD, "unit": "T1", "kpis": KPIS}
    answer = client_as(org.users["manager"]).post("/api/v1/survey-campaigns", json=body | change)
    assert answer.status_code == status
    assert answer.json()["error"]["field"] == field
    assert count(db, SurveyCampaign) == 0


# Contact lists -------------------------------------------------------------------------


def upload(client, campaign_id: int, data: bytes, **fields: str):
    return client.post(
        f"/ratings/campaigns/{campaign_id}/contacts",
        files={"file": ("contacts.csv", data, "text/csv")},
        data=fields,
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            contacts_csv("A1,Bjørn Ås,bjorn@acme.no,ACME,nb").decode().encode("cp1252"),
            "contacts.csv is not UTF-8 text: save it as UTF-8 CSV.",
        ),
        (
            contacts_csv("A1,Ane,ACME", header="seller_id,contact_name,account_id"),
            "contacts.csv lacks the column email (it needs seller_id, contact_name, email).",
        ),
        (
            contacts_csv("A1,Ane,ane@acme.no,ACME,nb", "A1,Bo,bo-at-acme,ACME,da"),
            "contacts.csv line 3, email: bo-at-acme is not an e-mail address.",
        ),
        (
            contacts_csv("A1,,ane@acme.no,ACME,nb"),
            "contacts.csv line 2, contact_name: empty.",
        ),
        (
            contacts_csv("A1,Ane,ane@acme.no,ACME,sv"),
            "contacts.csv line 2, language: sv is not en, da, nb or it.",
        ),
        (
            contacts_csv("A1,Ane,ane@acme.no,ACME,nb", "A1,Bo,bo@acme.dk,NOPE,da"),
            "line 3, account_id: NOPE is not a known account.",
        ),
        (
            contacts_csv("B1,Ane,ane@acme.no,ACME,nb"),
            "line 2, seller_id: B1 is not a seller of this campaign's unit.",
        ),
        (
            contacts_csv("A1,Ane,ane@acme.no,ACME,nb", "A1,Ane again,ANE@acme.no,ACME,nb"),
            "line 3, email: ane@acme.no is invited about Anne Andersen already.",
        ),
    ],
)
def test_a_bad_contact_list_names_line_and_column_and_stores_nothing(
    client_as, db, org, data, message
):
    add_accounts(db, org)
    campaign = open_campaign(db, org)
    db.commit()
    manager = client_as(org.users["manager"])
    before = dump(db)
    refused = upload(manager, campaign.id, data)
    assert refused.status_code == 422
    assert message in unescape(refused.text)
    assert count(db, SurveyInvitation) == 0
    assert dump(db) == before


def test_contacts_of_accounts_with_another_status_are_left_out_and_reported(client_as, db, org):
    add_accounts(db, org)
    campaign = open_campaign(db, org)
    db.commit()
    page = upload(
        client_as(org.users["manager"]),
        campaign.id,
        contacts_csv(
            "A1,Ane Nilsen,ane@acme.no,ACME,nb",
            "A1,Olaf Old,olaf@oldco.no,OLDCO,nb",
            "A1,Nina New,nina@newco.no,NEWCO,nb",
        ),
    )
    assert page.status_code == 200
    assert "Left out" in page.text
    assert "line 3: Oldco is a lost customer, this campaign asks existing." in page.text
    assert "line 4: Newco is a prospect customer, this campaign asks existing." in page.text
    invited = db.scalars(select(SurveyInvitation.contact_email)).all()
    assert invited == ["ane@acme.no"]
    stored = db.scalar(select(SurveyInvitation))
    assert (stored.customer_status, stored.language) == ("existing", "nb")


def test_a_link_is_shown_once_and_only_its_hash_is_stored(client_as, db, org):
    add_accounts(db, org)
    campaign = open_campaign(db, org)
    db.commit()
    page = upload(
        client_as(org.users["manager"]),
        campaign.id,
        contacts_csv("A1,Ane Nilsen,ane@acme.no,ACME,nb"),
    )
    (url,) = re.findall(r'value="(http[^"]+/survey/[^"]+)"', page.text)
    token = token_of(url)
    assert len(token) >= 32
    assert "No e-mail server is set up: you get the links to copy." in page.text
    stored = db.scalar(select(SurveyInvitation))
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(dump(db))
    # Shown once: the campaign's page does not show it again.
    assert (
        token not in client_as(org.users["manager"]).get(f"/ratings/campaigns/{campaign.id}").text
    )


# Answering a link ----------------------------------------------------------------------


def test_the_survey_opens_without_an_account_in_the_invitations_language(client_as, links):
    rater = client_as(None)
    page = rater.get(f"/survey/{links[0]}")
    assert page.status_code == 200
    assert '<html lang="nb">' in page.text
    assert "Vurder hvordan resultatene nås" in page.text  # the page around it: Norwegian
    heading = translated("nb", "How did %(seller)s serve you?", seller="Anne Andersen")
    assert heading != "How did Anne Andersen serve you?"
    assert heading in page.text
    assert translated("nb", "Send my answer") in page.text
    assert "Thank you for working with us." in page.text
    assert 'name="score_first_impression"' in page.text
    assert '<html lang="da">' in rater.get(f"/survey/{links[1]}").text
    questions = rater.get(f"/api/v1/surveys/{links[0]}").json()
    assert (questions["language"], questions["seller"], questions["kind"]) == (
        "nb",
        "Anne Andersen",
        "customer",
    )


def test_an_answer_is_stored_once_and_a_reused_link_changes_nothing(client_as, db, org, links):
    rater = client_as(None)
    thanks = answer(rater, links[0], GOOD | {"comment": "Quick and kind"})
    assert thanks.status_code == 200
    assert 'id="survey-thanks"' in thanks.text
    response = db.scalar(select(CustomerSurveyResponse))
    assert (response.score, response.customer_status, response.comment) == (
        8,
        "existing",
        "Quick and kind",
    )
    ratings = db.execute(
        select(
            RatingRecord.kpi, RatingRecord.rater_role, RatingRecord.score, RatingRecord.rater_id
        ).order_by(RatingRecord.kpi)
    ).all()
    assert ratings == [
        ("first_impression", "customer", 4, None),
        ("needs_discovery", "customer", 3, None),
    ]
    before = dump(db)
    again = answer(rater, links[0], GOOD | {"score": "2"})
    assert again.status_code == 410
    assert state_of(again.text) == "answered"
    assert translated("nb", "This survey has been answered already. Thank you!") in again.text
    assert state_of(rater.get(f"/survey/{links[0]}").text) == "answered"
    via_api = rater.post(
        f"/api/v1/surveys/{links[0]}",
        json={"score": 2, "ratings": {"first_impression": 1, "needs_discovery": 1}},
        headers={"X-CSRF-Token": csrf_from(rater.get(f"/survey/{links[1]}").text)},
    )
    assert via_api.status_code == 410
    assert dump(db) == before


def test_the_json_route_takes_an_answer_without_a_session_or_token(client_as, db, links):
    rater = client_as(None)
    rater.cookies.clear()
    answered = rater.post(
        f"/api/v1/surveys/{links[2]}",
        json={"score": 8, "ratings": {"first_impression": 4, "needs_discovery": 4}},
    )
    assert answered.status_code == 201, answered.text
    assert db.scalar(select(CustomerSurveyResponse.score)) == 8
    # With a session cookie, the session's token is required as for every change.
    rater.get(f"/survey/{links[1]}")
    assert rater.cookies
    refused = rater.post(
        f"/api/v1/surveys/{links[1]}",
        json={"score": 8, "ratings": {"first_impression": 4, "needs_discovery": 4}},
    )
    assert refused.status_code == 403


def test_the_json_route_answers_a_link_too(client_as, db, links):
    rater = client_as(None)
    # The rater's browser session carries the CSRF token, as for every change.
    csrf = csrf_from(rater.get(f"/survey/{links[2]}").text)
    answered = rater.post(
        f"/api/v1/surveys/{links[2]}",
        json={"score": 9, "ratings": {"first_impression": 5, "needs_discovery": 4}},
        headers={"X-CSRF-Token": csrf},
    )
    assert answered.status_code == 201, answered.text
    assert db.scalar(select(CustomerSurveyResponse.score)) == 9


def test_an_expired_link_is_refused(client_as, db, org, links):
    db.scalar(select(SurveyCampaign)).expires_at = utcnow() - timedelta(minutes=1)
    db.commit()
    rater = client_as(None)
    page = rater.get(f"/survey/{links[0]}")
    assert page.status_code == 410
    assert state_of(page.text) == "expired"
    assert answer(rater, links[0], GOOD).status_code == 410
    assert count(db, CustomerSurveyResponse) == 0
    assert count(db, RatingRecord) == 0


def test_a_forged_link_is_refused(client_as, db, links):
    rater = client_as(None)
    forged = links[0][:-4] + ("AAAA" if not links[0].endswith("AAAA") else "BBBB")
    page = rater.get(f"/survey/{forged}")
    assert page.status_code == 404
    assert state_of(page.text) == "unknown"
    assert rater.get(f"/api/v1/surveys/{forged}").status_code == 404
    assert answer(rater, forged, GOOD).status_code == 404
    assert count(db, CustomerSurveyResponse) == 0


def test_a_reissued_link_replaces_the_old_one(client_as, db, org, links):
    rater = client_as(None)
    answer(rater, links[1], GOOD)
    manager = client_as(org.users["manager"])
    campaign = db.scalar(select(SurveyCampaign))
    reissued = manager.post(f"/api/v1/survey-campaigns/{campaign.id}/links").json()["links"]
    # Only the two still unanswered get new links.
    assert sorted(link["email"] for link in reissued) == ["ane@acme.no", "cy@acme.com"]
    assert state_of(rater.get(f"/survey/{links[0]}").text) == "unknown"
    assert answer(rater, links[0], GOOD).status_code == 404
    new = next(token_of(link["url"]) for link in reissued if link["email"] == "ane@acme.no")
    assert answer(rater, new, GOOD).status_code == 200
    assert count(db, CustomerSurveyResponse) == 2


def test_a_closed_campaign_takes_no_more_answers(client_as, db, org, links):
    manager = client_as(org.users["manager"])
    campaign = db.scalar(select(SurveyCampaign))
    assert manager.post(f"/api/v1/survey-campaigns/{campaign.id}/close").json()["status"] == (
        "closed"
    )
    rater = client_as(None)
    page = rater.get(f"/survey/{links[0]}")
    assert (page.status_code, state_of(page.text)) == (410, "closed")
    assert answer(rater, links[0], GOOD).status_code == 410
    assert count(db, CustomerSurveyResponse) == 0


@pytest.mark.parametrize(
    ("fields", "message", "field"),
    [
        ({"score": ""}, "Please give your overall score from 0 to 10.", "score"),
        ({"score": "11"}, "11 is off the scale: give 0 to 10.", "score"),
        (
            {"score_needs_discovery": ""},
            "Please answer every question: Needs discovery is missing.",
            "score_needs_discovery",
        ),
        (
            {"score_first_impression": "7"},
            "7 is off the scale of First impression: give 1 to 5.",
            "score_first_impression",
        ),
    ],
)
def test_an_incomplete_or_off_scale_answer_is_refused_and_the_link_still_works(
    client_as, db, links, fields, message, field
):
    rater = client_as(None)
    before = dump(db)
    refused = answer(rater, links[2], GOOD | fields)
    assert refused.status_code == 422
    assert message in refused.text
    # What was chosen stays chosen, for the rater to correct the one answer.
    for name, value in GOOD.items():
        if name not in fields:
            assert re.search(rf'name="{name}" value="{value}"[^>]*checked', refused.text), name
    # The JSON route refuses the same, naming the field.
    sent = GOOD | fields
    via_api = rater.post(
        f"/api/v1/surveys/{links[2]}",
        json={
            "score": int(sent["score"]) if sent["score"] else None,
            "ratings": {
                code: float(sent[f"score_{code}"]) if sent[f"score_{code}"] else None
                for code in KPIS
            },
        },
        headers={"X-CSRF-Token": csrf_from(refused.text)},
    )
    assert via_api.status_code == 422
    assert via_api.json()["error"] == {"message": message, "field": field}
    assert dump(db) == before
    assert answer(rater, links[2], GOOD).status_code == 200


def test_a_survey_never_shows_who_else_answered_or_what(client_as, db, links):
    rater = client_as(None)
    answer(rater, links[0], GOOD | {"comment": "Ane's private remark"})
    other = client_as(None)
    page = other.get(f"/survey/{links[1]}")
    assert "Ane Nilsen" not in page.text
    assert "ane@acme.no" not in page.text
    assert "private remark" not in page.text
    assert "checked" not in page.text
    questions = other.get(f"/api/v1/surveys/{links[1]}").json()
    assert set(questions) == {
        "kind",
        "seller",
        "ask_score",
        "message",
        "language",
        "expires_at",
        "questions",
    }
    assert "Ane Nilsen" not in str(questions)
    assert "ane@acme.no" not in str(questions)


def test_a_seller_predicts_a_customers_score_until_the_customer_answers(client_as, db, org, links):
    anne = client_as(org.users["seller"])
    invitation = db.scalar(select(SurveyInvitation).where(SurveyInvitation.language == "en"))
    path = f"/api/v1/survey-invitations/{invitation.id}/prediction"
    assert anne.put(path, json={"predicted": 9}).json() == {
        "invitation": invitation.id,
        "predicted": 9,
    }
    assert anne.put(path, json={"predicted": 12}).status_code == 422
    # Arne may not guess for Anne's customer: he does not even see the invitation.
    arne = client_as(make_user(db, "a2@example.com", Role.SELLER, org.sellers["A2"]))
    assert arne.put(path, json={"predicted": 1}).status_code == 404
    answer(client_as(None), links[2], GOOD)
    assert db.scalar(select(CustomerSurveyResponse.seller_predicted_score)) == 9
    refused = anne.put(path, json={"predicted": 3})
    assert refused.status_code == 409
    assert (
        refused.json()["error"]["message"] == "The customer has answered: the prediction is final."
    )


def test_peers_are_invited_among_the_colleagues_and_rate_anonymously(client_as, db, org):
    manager = client_as(org.users["manager"])
    created = manager.post(
        "/api/v1/survey-campaigns",
        json={
            "name": "Peer feedback",
            "kind": "peer",
            "period": PERIOD,
            "unit": "T1",
            "kpis": ["collaboration"],
        },
    ).json()
    assert created["ask_score"] is False  # only customers give an overall score
    links = manager.post(f"/api/v1/survey-campaigns/{created['id']}/peers").json()["links"]
    # Team One has two sellers: each is rated by the other.
    assert sorted((link["seller"], link["email"]) for link in links) == [
        ("A1", "a2@example.com"),
        ("A2", "a1@example.com"),
    ]
    token = next(token_of(link["url"]) for link in links if link["seller"] == "A1")
    rater = client_as(None)
    page = rater.get(f"/survey/{token}")
    assert "How does your colleague Anne Andersen work?" in page.text
    assert 'name="score"' not in page.text
    assert answer(rater, token, {"score_collaboration": "4"}).status_code == 200
    stored = db.execute(
        select(RatingRecord.seller_id, RatingRecord.rater_role, RatingRecord.rater_id)
    ).all()
    assert stored == [(org.sellers["A1"].id, "peer", None)]
    assert count(db, CustomerSurveyResponse) == 0


# Two answers at the same moment ---------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path):
    """A fresh, migrated database of its own: the race needs real commits."""
    if request.param == "sqlite":
        yield migrated_sqlite(tmp_path / "race.db")
        return
    admin = _postgres_admin()
    if isinstance(admin, str):
        pytest.skip(admin)
    name = f"touchline_race_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = re.sub(r"/[^/]*$", f"/{name}", POSTGRES_ADMIN_URL)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_two_answers_to_one_link_at_the_same_moment_store_exactly_one(fresh_url):
    engine = make_engine(fresh_url)
    with transaction(make_sessionmaker(engine)) as session:
        company = make_org(session)
        sync_builtin_scales(session)
        add_accounts(session, company)
        campaign = open_campaign(session, company)
        added = campaigns.add_contacts(
            session,
            actor=actor(session, company, "manager"),
            campaign=campaign,
            contacts=[
                campaigns.Contact(line, "A1", f"Buyer {line}", f"b{line}@acme.no", "ACME", "nb")
                for line in (2, 3, 3 + 1)
            ],
        )
        tokens = [token_of(link.url) for link in added.links]
    engine.dispose()

    def race(token: str) -> list[object]:
        barrier = threading.Barrier(2)
        outcomes: list[object] = [None, None]

        def send(position: int) -> None:
            own = make_engine(fresh_url)
            try:
                with make_sessionmaker(own)() as session:
                    barrier.wait(timeout=30)
                    try:
                        answer_survey(
                            session,
                            token=token,
                            score=8 + position,
                            ratings={"first_impression": 4, "needs_discovery": 3},
                        )
                        session.commit()
                        outcomes[position] = "stored"
                    except DomainError as error:
                        session.rollback()
                        outcomes[position] = error
            except Exception as error:  # anything else is a failure to report
                outcomes[position] = error
            finally:
                own.dispose()

        threads = [threading.Thread(target=send, args=(position,)) for position in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        return outcomes

    for token in tokens:
        outcomes = race(token)
        assert outcomes.count("stored") == 1, outcomes
        (refused,) = [outcome for outcome in outcomes if outcome != "stored"]
        assert isinstance(refused, DomainError), repr(refused)
        assert "answered already" in refused.message

    check = make_engine(fresh_url)
    try:
        with make_sessionmaker(check)() as session:
            assert count(session, CustomerSurveyResponse) == len(tokens)
            assert count(session, RatingRecord) == len(tokens) * len(KPIS)
            answered = session.scalars(select(SurveyInvitation.answered_at)).all()
            assert all(answered)
            assert len(answered) == len(tokens)
    finally:
        check.dispose()


# E-mail ----------------------------------------------------------------------------------


@pytest.fixture
def inbox(monkeypatch):
    """A local SMTP server (aiosmtpd) that Touchline's settings point at; yields the
    messages it received."""
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self) -> None:
            self.messages: list[email.message.EmailMessage] = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(
                email.message_from_bytes(envelope.content, policy=email.policy.default)
            )
            return "250 OK"

    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    with monkeypatch.context() as patch:
        patch.setenv("TOUCHLINE_SMTP_HOST", "127.0.0.1")
        patch.setenv("TOUCHLINE_SMTP_PORT", str(port))
        patch.setenv("TOUCHLINE_SMTP_STARTTLS", "false")
        get_settings.cache_clear()
        try:
            yield handler.messages
        finally:
            controller.stop()
    get_settings.cache_clear()


def test_invitations_go_out_by_e_mail_one_per_contact_in_their_language(client_as, db, org, inbox):
    add_accounts(db, org)
    campaign = open_campaign(db, org)
    db.commit()
    manager = client_as(org.users["manager"])
    form = manager.get(f"/ratings/campaigns/{campaign.id}")
    assert "Send by e-mail" in form.text
    page = upload(
        manager,
        campaign.id,
        contacts_csv("A1,Ane Nilsen,ane@acme.no,ACME,nb", "A1,Bo Holm,bo@acme.dk,ACME,da"),
        send="true",
    )
    assert page.status_code == 200
    assert "2 invitations sent." in page.text
    by_address = {message["To"]: message for message in inbox}
    assert sorted(by_address) == ["ane@acme.no", "bo@acme.dk"]
    shown = re.findall(r'value="(http[^"]+/survey/[^"]+)"', page.text)
    for address, language, name in (
        ("ane@acme.no", "nb", "Ane Nilsen"),
        ("bo@acme.dk", "da", "Bo Holm"),
    ):
        message = by_address[address]
        subject = translated(language, "How did %(seller)s serve you?", seller="Anne Andersen")
        assert subject != "How did Anne Andersen serve you?"
        assert message["Subject"] == subject
        body = message.get_content()
        assert translated(language, "Hello %(name)s,", name=name) in body
        assert "Thank you for working with us." in body
        (url,) = [link for link in shown if link in body]
        invitation = db.scalar(
            select(SurveyInvitation).where(SurveyInvitation.contact_email == address)
        )
        assert invitation.token_hash == hashlib.sha256(token_of(url).encode()).hexdigest()
        assert invitation.sent_at is not None
    tracking = manager.get(f"/api/v1/survey-campaigns/{campaign.id}").json()
    assert (tracking["invited"], tracking["sent"], tracking["answered"]) == (2, 2, 0)


def test_without_an_e_mail_server_the_page_gives_the_links_to_copy(client_as, db, org):
    add_accounts(db, org)
    campaign = open_campaign(db, org)
    db.commit()
    manager = client_as(org.users["manager"])
    assert (
        "No e-mail server is set up: you get the links to copy."
        in manager.get(f"/ratings/campaigns/{campaign.id}").text
    )
    refused = manager.post(
        f"/api/v1/survey-campaigns/{campaign.id}/contacts",
        json={
            "contacts": [
                {"seller": "A1", "contact_name": "Ane", "email": "ane@acme.no", "account": "ACME"}
            ],
            "send": True,
        },
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["message"] == (
        "No e-mail server is set up (TOUCHLINE_SMTP_HOST): copy the links instead."
    )
    assert count(db, SurveyInvitation) == 0


# Seller surveys on the Foundation ---------------------------------------------------------

FOUNDATION = {
    "foundation_tools": 2,
    "foundation_time": 3,
    "foundation_knowledge": 4,
    "foundation_resources": 5,
}


@pytest.fixture
def seller_survey(client_as, db, org) -> int:
    """Hans asks the sellers of North (Mette, Mads, Anne, Arne, Bente) about 2026-Q1."""
    compute(db)
    created = client_as(org.users["head"]).post(
        "/api/v1/seller-surveys", json={"name": "Foundation check", "period": PERIOD, "unit": "N"}
    )
    assert created.status_code == 201, created.text
    assert [item["kpi"] for item in created.json()["questions"]] == list(FOUNDATION)
    return int(created.json()["id"])


def test_a_seller_answers_the_foundation_survey_once_and_it_feeds_the_foundation_kpis(
    client_as, db, org, seller_survey
):
    anne = client_as(org.users["seller"])
    assert [item["name"] for item in anne.get("/api/v1/seller-surveys").json()] == [
        "Foundation check"
    ]
    assert "Your view of your tools, time, knowledge and support" in anne.get("/").text
    path = f"/api/v1/seller-surveys/{seller_survey}/answers"
    assert anne.post(path, json={"scores": FOUNDATION}).status_code == 201
    for code, score in FOUNDATION.items():
        assert kpi_value(db, code, seller=org.sellers["A1"]) == score
    before = dump(db)
    again = anne.post(path, json={"scores": dict.fromkeys(FOUNDATION, 1)})
    assert again.status_code == 409
    assert again.json()["error"]["message"] == "You have answered this survey already. Thank you!"
    assert dump(db) == before
    assert anne.get("/api/v1/seller-surveys").json() == []


@pytest.mark.parametrize(
    ("scores", "message"),
    [
        (FOUNDATION | {"foundation_time": 6}, "6 is off the scale of Time for customers"),
        ({"foundation_tools": 3}, "Please answer every question: Time for customers is missing."),
    ],
)
def test_a_bad_foundation_answer_is_refused_and_nothing_is_stored(
    client_as, db, org, seller_survey, scores, message
):
    refused = client_as(org.users["seller"]).post(
        f"/api/v1/seller-surveys/{seller_survey}/answers", json={"scores": scores}
    )
    assert refused.status_code == 422
    assert message in refused.json()["error"]["message"]
    assert count(db, SellerSurveyAnswer) == 0
    assert count(db, RatingRecord) == 0


def test_the_foundation_results_show_from_three_answers(client_as, db, org, seller_survey):
    head = client_as(org.users["head"])
    sellers = [
        org.users["seller"],
        make_user(db, "a2@example.com", Role.SELLER, org.sellers["A2"]),
        make_user(db, "b1@example.com", Role.SELLER, org.sellers["B1"]),
    ]
    db.commit()
    path = f"/api/v1/seller-surveys/{seller_survey}"
    for position, user in enumerate(sellers):
        answered = client_as(user).post(
            f"{path}/answers", json={"scores": dict.fromkeys(FOUNDATION, 1 + position)}
        )
        assert answered.status_code == 201
        results = head.get(f"{path}/results").json()
        assert (results["asked"], results["answered"]) == (5, position + 1)
        if position < 2:
            assert set(results["means"].values()) == {None}
            assert "shown from three answers" in head.get(f"/ratings/surveys/{seller_survey}").text
    assert results["means"] == dict.fromkeys(FOUNDATION, 2.0)
    page = head.get(f"/ratings/surveys/{seller_survey}").text
    assert "3 of 5 sellers have answered." in page
    assert "shown from three answers" not in page
    # A seller sees no one's results, and may not ask for them.
    assert client_as(sellers[0]).get(f"{path}/results").status_code == 403

"""Hand-entered Foundation and Will values: who may enter them, bad input, recomputation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import sign_in
from tests.factories import PASSWORD, make_user
from tests.kpis.test_scorecards import _seller, imported  # noqa: F401
from touchline.auth.models import Role
from touchline.auth.policy import SYSTEM, Actor
from touchline.errors import InvalidInput, NotFound
from touchline.kpis import catalogue
from touchline.kpis.entries import enter_value
from touchline.kpis.models import KpiValue, ManualEntry, SubjectKind


def _stored(db, code, subject_kind, subject_id, period):
    return db.scalar(
        select(KpiValue.value).where(
            KpiValue.kpi_id == catalogue.get_kpi(db, code).id,
            KpiValue.subject_kind == subject_kind,
            KpiValue.subject_id == subject_id,
            KpiValue.period == period,
        )
    )


def test_a_value_is_stored_and_its_periods_recomputed(db, imported):  # noqa: F811
    anne, bo = _seller(db, "S2"), _seller(db, "S3")
    enter_value(
        db, actor=SYSTEM, seller=anne, kpi_code="admin_time_share", period="2026-Q1", value=0.2
    )
    enter_value(
        db, actor=SYSTEM, seller=bo, kpi_code="admin_time_share", period="2026-Q1", value=0.4
    )
    assert _stored(db, "admin_time_share", SubjectKind.SELLER, anne.id, "2026-Q1") == 0.2
    # A unit's value is the mean over its sellers with a value.
    assert _stored(
        db, "admin_time_share", SubjectKind.UNIT, anne.unit_id, "2026-Q1"
    ) == pytest.approx(0.3)
    # Entering again replaces the value.
    enter_value(
        db, actor=SYSTEM, seller=anne, kpi_code="admin_time_share", period="2026-Q1", value=0.1
    )
    assert db.scalar(select(ManualEntry.value).where(ManualEntry.seller_id == anne.id)) == 0.1
    assert _stored(db, "admin_time_share", SubjectKind.SELLER, anne.id, "2026-Q1") == 0.1


@pytest.mark.parametrize(
    ("code", "period", "value", "field"),
    [
        ("admin_time_share", "2026-Q1", 1.5, "value"),
        ("admin_time_share", "2026-Q5", 0.2, "period"),
        ("admin_time_share", "2026-Q1", float("nan"), "value"),
        ("revenue_won", "2026-Q1", 10.0, "kpi"),
    ],
)
def test_bad_values_are_refused_and_nothing_is_stored(db, imported, code, period, value, field):  # noqa: F811
    with pytest.raises(InvalidInput) as refused:
        enter_value(
            db, actor=SYSTEM, seller=_seller(db, "S2"), kpi_code=code, period=period, value=value
        )
    assert refused.value.field == field
    assert db.scalar(select(ManualEntry.id)) is None


def test_a_seller_enters_their_own_value_but_not_a_colleagues(db, imported):  # noqa: F811
    anne, bo = _seller(db, "S2"), _seller(db, "S3")
    as_anne = Actor(user=None, role=Role.SELLER, own_seller_id=anne.id)
    enter_value(
        db, actor=as_anne, seller=anne, kpi_code="crm_training", period="2026-Q1", value=1.0
    )
    with pytest.raises(NotFound):
        enter_value(
            db, actor=as_anne, seller=bo, kpi_code="crm_training", period="2026-Q1", value=1.0
        )


def test_a_manager_enters_a_percentage_on_the_page_and_through_the_api(db, imported, client):  # noqa: F811
    make_user(db, "lars@x.dk", Role.MANAGER, _seller(db, "S1"))
    db.commit()
    token = sign_in(client, "lars@x.dk", PASSWORD)
    page = client.post(
        "/sellers/S2/entries",
        data={"csrf_token": token, "kpi": "admin_time_share", "period": "2026-Q1", "value": "25"},
    )
    assert page.status_code == 303
    assert db.scalar(select(ManualEntry.value)) == pytest.approx(0.25)
    refused = client.post(
        "/sellers/S2/entries",
        data={"csrf_token": token, "kpi": "admin_time_share", "period": "2026-Q1", "value": "250"},
    )
    assert refused.status_code == 422
    assert "between 0 and 1" in refused.text
    api = client.post(
        "/api/v1/sellers/S3/entries",
        json={"kpi": "crm_training", "period": "2026-Q1", "value": 0.5},
        headers={"X-CSRF-Token": token},
    )
    assert api.status_code == 201, api.text
    listed = client.get("/api/v1/sellers/S3/entries").json()
    assert [(e["kpi"], e["value"], e["entered_by"]) for e in listed] == [
        ("crm_training", 0.5, "lars@x.dk")
    ]

"""Helpers for import tests: small interchange folders written into tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from touchline.config import get_settings

VALID = {
    "teams.csv": "team_id,name,parent_team_id\nC,Company,\nR1,Region One,C\nT1,Team One,R1\n",
    "territories.csv": "territory_id,name,market_potential,region\nTE1,Fyn,1200000.50,DK\n",
    "sellers.csv": (
        "seller_id,name,email,team_id,manager_id,territory_id,hire_date\n"
        "S0,Dora,d@x.dk,C,,,2019-01-01\n"
        "S1,Lars,l@x.dk,R1,S0,,2019-05-01\n"
        "S2,Anne,a@x.dk,T1,S1,TE1,2020-01-01\n"
        "S3,Bo,b@x.dk,T1,S1,,\n"
    ),
    "accounts.csv": "account_id,name,territory_id,segment\nA1,Acme,TE1,SMB\nA2,Beta,,\n",
    "deals.csv": (
        "deal_id,account_id,seller_id,created_date,close_date,status,amount,stage\n"
        "D1,A1,S2,2026-01-02,2026-02-01,won,100.50,\n"
        "D2,A1,S3,2026-01-02,2026-01-09,lost,5,\n"
        "D3,A2,S3,2026-01-05,,open,1.23,proposal\n"
    ),
    "activities.csv": (
        "activity_id,seller_id,type,occurred_at,account_id,deal_id,duration_min,outcome\n"
        "X1,S2,meeting,2026-03-01T23:30:00Z,A1,D1,30,next_step_agreed\n"
        "X2,S3,call,2026-03-01T10:00:00+01:00,A2,,,\n"
    ),
    "ratings.csv": (
        "rating_id,kpi,seller_id,rater_role,period,score,rater_id,comment\n"
        "R1,objection_handling,S2,self,2026-Q1,4.5,S2,\n"
        "R2,objection_handling,S2,manager,2026-Q1,3,S1,solid\n"
    ),
    "customer_surveys.csv": (
        "response_id,account_id,seller_id,customer_status,answered_date,score,"
        "seller_predicted_score,comment\nCS1,A1,S2,existing,2026-03-10,8,9,\n"
    ),
    "pulse.csv": "seller_id,week,motivation,energy,pride,comment\nS2,2026-W07,4,3,5,fine\n",
}


def write_folder(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        target = folder / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    return folder


@pytest.fixture
def valid_folder(tmp_path) -> Path:
    return write_folder(tmp_path / "valid", VALID)


@pytest.fixture
def company_zone(monkeypatch):
    monkeypatch.setenv("TOUCHLINE_TIMEZONE", "Europe/Copenhagen")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def dump(session) -> dict[str, list[tuple]]:
    """Every row of every table in the database, read with plain SQL in the session's
    transaction (so it sees anything written and not yet committed), in a fixed order.

    Two dumps are equal when nothing in the database changed.
    """
    connection = session.connection()
    inspector = inspect(connection)
    tables: dict[str, list[tuple]] = {}
    for name in sorted(inspector.get_table_names()):
        rows = [tuple(row) for row in connection.execute(text(f'SELECT * FROM "{name}"'))]
        tables[name] = sorted(rows, key=repr)
    return tables


def without_history(tables: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """A dump without the import history, which records every run, refused ones too."""
    return {name: rows for name, rows in tables.items() if name != "import_runs"}

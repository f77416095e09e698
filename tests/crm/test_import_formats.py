"""Salesforce and HubSpot exports, and the two public data sets through their mapping files."""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from tests.datasets import MAPPINGS, dataset
from touchline.auth.policy import SYSTEM
from touchline.crm.models import Account, Activity, Deal, DealStageChange
from touchline.crm.service import run_import
from touchline.org.models import Seller

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


def count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def test_a_salesforce_export_is_detected_and_imported(db):
    report = run_import(db, actor=SYSTEM, path=FIXTURES / "salesforce")
    assert report.ok, [p.describe() for p in report.problems]
    assert report.format == "Salesforce CSV export"
    deals = {d.external_id: d for d in db.scalars(select(Deal))}
    assert deals["0061000000OPP01"].status == "won"
    assert deals["0061000000OPP02"].status == "lost"
    assert deals["0061000000OPP03"].close_date is None  # an expected date is not a close date
    tasks = next(c for c in report.counts if c.file == "Task.csv")
    assert tasks.skipped == 1
    assert "another type" in next(iter(tasks.skip_reasons))
    meeting = db.scalar(select(Activity).where(Activity.external_id == "00U1000000EVT01"))
    assert meeting.type == "meeting"
    assert meeting.deal_id == deals["0061000000OPP01"].id


def test_salesforce_opportunity_history_becomes_the_stage_history(db, tmp_path):
    export = tmp_path / "salesforce"
    shutil.copytree(FIXTURES / "salesforce", export)
    shutil.copy(Path(__file__).parent / "fixtures" / "OpportunityHistory.csv", export)
    report = run_import(db, actor=SYSTEM, path=export)
    assert report.ok, [p.describe() for p in report.problems]
    history = db.execute(
        select(Deal.external_id, DealStageChange.stage, DealStageChange.entered_on)
        .join(Deal, Deal.id == DealStageChange.deal_id)
        .order_by(Deal.external_id, DealStageChange.entered_on)
    ).all()
    assert [(deal[-2:], stage, day.isoformat()) for deal, stage, day in history] == [
        ("01", "Prospecting", "2026-01-05"),
        ("01", "Proposal/Price Quote", "2026-01-19"),
        ("01", "Closed Won", "2026-02-14"),
        ("02", "Qualification", "2026-01-20"),
        ("02", "Closed Lost", "2026-03-01"),
    ]
    (counts,) = report.counts_for("stage_history")
    # Two changes on 19 January (the stage, then the amount) are one entry of the history.
    assert (counts.file, counts.rows, counts.folded) == ("OpportunityHistory.csv", 5, 1)


def test_salesforce_history_of_an_unknown_opportunity_is_refused_with_its_line(db, tmp_path):
    export = tmp_path / "salesforce"
    shutil.copytree(FIXTURES / "salesforce", export)
    (export / "OpportunityHistory.csv").write_text(
        "Id,OpportunityId,CreatedDate,StageName\n"
        "0081000000HIS01,0061000000OPP01,2026-01-05T09:12:44.000Z,Prospecting\n"
        "0081000000HIS09,0061000000OPP99,2026-01-06T09:00:00.000Z,Prospecting\n"
    )
    report = run_import(db, actor=SYSTEM, path=export)
    assert [(p.file, p.line, p.column, p.value) for p in report.problems] == [
        ("OpportunityHistory.csv", 3, "OpportunityId", "0061000000OPP99")
    ]


def test_a_hubspot_export_is_detected_and_imported(db):
    report = run_import(db, actor=SYSTEM, path=FIXTURES / "hubspot")
    assert report.ok, [p.describe() for p in report.problems]
    assert report.format == "HubSpot CSV export"
    assert count(db, Deal) == 3  # the deal without an owner is skipped, and counted
    assert sum(c.skipped for c in report.counts if c.target == "deals") == 1
    assert {s.name for s in db.scalars(select(Seller))} == {"Ingrid Berg", "Ola Nordmann"}
    outcomes = dict(db.execute(select(Activity.external_id, Activity.outcome)).all())
    assert outcomes["7001"] == "next_step_agreed"


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as source:
        return list(csv.DictReader(source))


def test_the_crm_sales_opportunities_data_set_imports_with_its_mapping(db):
    folder = dataset("crm-sales-opportunities")
    report = run_import(
        db, actor=SYSTEM, path=folder, mapping=MAPPINGS / "crm-sales-opportunities.toml"
    )
    assert report.ok, [p.describe() for p in report.problems[:5]]
    pipeline = read(folder / "sales_pipeline.csv")
    assert len(pipeline) == 8800
    deals = next(c for c in report.counts if c.target == "deals")
    unengaged = sum(1 for row in pipeline if not row["engage_date"])
    assert (deals.rows, deals.skipped) == (8800 - unengaged, unengaged)
    assert count(db, Seller) == len(read(folder / "sales_teams.csv")) == 35
    assert count(db, Account) == len(read(folder / "accounts.csv")) == 85
    stages = Counter(row["deal_stage"] for row in pipeline if row["engage_date"])
    stored = dict(db.execute(select(Deal.status, func.count()).group_by(Deal.status)).all())
    assert stored == {"won": stages["Won"], "lost": stages["Lost"], "open": stages["Engaging"]}
    first = pipeline[0]
    deal = db.scalar(select(Deal).where(Deal.external_id == first["opportunity_id"]))
    assert deal.amount_cents == int(first["close_value"]) * 100
    assert deal.created_date.isoformat() == first["engage_date"]


def test_the_crm_sales_opportunities_report_counts_folded_and_looked_up_rows(db):
    folder = dataset("crm-sales-opportunities")
    report = run_import(
        db, actor=SYSTEM, path=folder, mapping=MAPPINGS / "crm-sales-opportunities.toml"
    )
    assert report.ok
    agents = read(folder / "sales_teams.csv")
    (units,) = report.counts_for("units")
    # Three blocks read every agent row: the company, the agent's region, the manager's team.
    kept = 1 + len({row["regional_office"] for row in agents}) + len({r["manager"] for r in agents})
    assert (units.file, units.rows, units.folded) == ("sales_teams.csv", kept, 3 * 35 - kept)
    (products,) = report.lookups
    assert (products.file, products.rows, products.used_for) == (
        "products.csv",
        7,
        ["deals.amount"],
    )
    assert products.matched == 7
    summary = report.as_dict()
    assert summary["lookups"][0]["unmatched"] == 0
    assert next(c for c in summary["counts"] if c["target"] == "units")["folded"] == 3 * 35 - kept


def test_the_olist_report_says_how_many_leads_were_only_looked_up(db):
    folder = dataset("olist-marketing-funnel")
    report = run_import(
        db, actor=SYSTEM, path=folder, mapping=MAPPINGS / "olist-marketing-funnel.toml"
    )
    assert report.ok
    closed = read(folder / "olist_closed_deals_dataset.csv")
    folded = {c.target: c.folded for c in report.counts}
    reps = len({row["sr_id"] for row in closed})
    assert folded == {"units": 2 * 842 - 2, "sellers": 842 - reps, "accounts": 0, "deals": 0}
    (leads,) = report.lookups
    assert leads.file == "olist_marketing_qualified_leads_dataset.csv"
    assert (leads.rows, leads.matched, leads.unmatched) == (8000, 842, 8000 - 842)
    assert leads.used_for == ["deals.created_date"]


def test_the_olist_funnel_imports_with_its_mapping(db):
    folder = dataset("olist-marketing-funnel")
    report = run_import(
        db, actor=SYSTEM, path=folder, mapping=MAPPINGS / "olist-marketing-funnel.toml"
    )
    assert report.ok, [p.describe() for p in report.problems[:5]]
    closed = read(folder / "olist_closed_deals_dataset.csv")
    assert count(db, Deal) == len(closed) == 842
    assert count(db, Seller) == len({row["sr_id"] for row in closed}) == 22
    assert count(db, Account) == len({row["seller_id"] for row in closed})
    leads = {
        row["mql_id"]: row["first_contact_date"]
        for row in read(folder / "olist_marketing_qualified_leads_dataset.csv")
    }
    deal = db.scalar(select(Deal).where(Deal.external_id == closed[0]["mql_id"]))
    day, month, year = leads[closed[0]["mql_id"]].split("-")
    assert deal.created_date.isoformat() == f"{year}-{month}-{day}"
    assert deal.status == "won"

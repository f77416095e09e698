"""Importing the interchange format: what is stored, idempotence, pruning."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select

from tests.crm.conftest import VALID, dump, without_history, write_folder
from touchline.auth.policy import SYSTEM
from touchline.crm.models import (
    Activity,
    CustomerSurveyResponse,
    Deal,
    ImportRun,
    PulseAnswer,
    RatingRecord,
)
from touchline.crm.service import run_import
from touchline.org.models import Seller, Unit


def imported(db, folder, **options):
    report = run_import(db, actor=SYSTEM, path=folder, **options)
    assert report.ok, [problem.describe() for problem in report.problems]
    db.commit()
    return report


def test_a_complete_folder_is_stored_with_exact_values(db, valid_folder, company_zone):
    report = imported(db, valid_folder)
    counts = {entry.file: entry.inserted for entry in report.counts}
    assert counts["deals.csv"] == 3
    assert counts["activities.csv"] == 2
    won = db.scalar(select(Deal).where(Deal.external_id == "D1"))
    assert won.amount_cents == 10050
    assert (won.created_date, won.close_date) == (date(2026, 1, 2), date(2026, 2, 1))
    late = db.scalar(select(Activity).where(Activity.external_id == "X1"))
    assert late.occurred_at == datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    assert late.occurred_on == date(2026, 3, 2)  # already the 2nd in Copenhagen
    assert db.scalar(select(func.count()).select_from(RatingRecord)) == 2
    assert db.scalar(select(func.count()).select_from(CustomerSurveyResponse)) == 1
    assert db.scalar(select(PulseAnswer.energy)) == 3
    assert db.scalar(select(func.count()).select_from(ImportRun)) == 1


def test_unit_kinds_and_managers_are_filled_in_from_the_tree(db, valid_folder):
    imported(db, valid_folder)
    kinds = dict(db.execute(select(Unit.external_id, Unit.kind)).all())
    assert kinds == {"C": "company", "R1": "region", "T1": "team"}
    managers = dict(
        db.execute(
            select(Unit.external_id, Seller.external_id).join(Seller, Unit.manager_id == Seller.id)
        ).all()
    )
    # A team's sellers report to S1, the region's member S1 to S0; nobody above S0.
    assert managers == {"R1": "S0", "T1": "S1"}


def test_importing_the_same_files_again_changes_nothing(db, valid_folder):
    imported(db, valid_folder)
    before = dump(db)
    again = imported(db, valid_folder)
    assert all(entry.inserted == entry.updated == 0 for entry in again.counts)
    assert sum(entry.unchanged for entry in again.counts) == sum(
        entry.rows for entry in again.counts
    )
    after = [table for table in dump(db) if table[0] not in ("import_runs", "audit_log")]
    assert after == [table for table in before if table[0] not in ("import_runs", "audit_log")]


def test_a_changed_amount_is_one_update(db, tmp_path, valid_folder):
    imported(db, valid_folder)
    changed = VALID["deals.csv"].replace("100.50", "120.00")
    report = imported(db, write_folder(tmp_path / "changed", {"deals.csv": changed}))
    (deals,) = report.counts
    assert (deals.inserted, deals.updated, deals.unchanged) == (0, 1, 2)
    assert db.scalar(select(Deal.amount_cents).where(Deal.external_id == "D1")) == 12000


def test_any_subset_of_files_imports_against_what_is_stored(db, tmp_path, valid_folder):
    imported(db, valid_folder)
    more = "activity_id,seller_id,type,occurred_at\nX9,S3,email,2026-04-01T09:00:00Z\n"
    report = imported(db, write_folder(tmp_path / "more", {"activities.csv": more}))
    assert report.counts[0].inserted == 1


def test_prune_removes_rows_gone_from_the_source(db, tmp_path, valid_folder):
    imported(db, valid_folder)
    fewer = "\n".join(VALID["deals.csv"].splitlines()[:3]) + "\n"
    report = imported(db, write_folder(tmp_path / "fewer", {"deals.csv": fewer}), prune=True)
    assert report.counts[0].pruned == 1
    assert report.prune_candidates["deals"].first_ids == ["D3"]
    assert db.scalar(select(func.count()).select_from(Deal)) == 2


def test_a_dry_run_with_prune_shows_what_would_go_and_deletes_nothing(db, tmp_path, valid_folder):
    imported(db, valid_folder)
    before = dump(db)
    only_d1 = "\n".join(VALID["deals.csv"].splitlines()[:2]) + "\n"
    folder = write_folder(tmp_path / "fewer", {"deals.csv": only_d1})
    trial = run_import(db, actor=SYSTEM, path=folder, prune=True, dry_run=True)
    assert trial.ok
    candidates = trial.prune_candidates["deals"]
    assert (candidates.count, candidates.first_ids, candidates.files) == (
        2,
        ["D2", "D3"],
        ["deals.csv"],
    )
    assert trial.as_dict()["prune_candidates"]["deals"]["first_ids"] == ["D2", "D3"]
    assert without_history(dump(db)) == without_history(before)


def test_prune_refuses_to_remove_a_seller_others_still_need(db, tmp_path, valid_folder):
    imported(db, valid_folder)
    before = dump(db)
    fewer = (
        "\n".join(line for line in VALID["sellers.csv"].splitlines() if not line.startswith("S3"))
        + "\n"
    )
    report = run_import(
        db, actor=SYSTEM, path=write_folder(tmp_path / "s", {"sellers.csv": fewer}), prune=True
    )
    assert not report.ok
    assert "cannot prune sellers" in report.problems[0].reason
    assert without_history(dump(db)) == without_history(before)


def test_a_dry_run_counts_like_a_real_run_and_writes_nothing(db, valid_folder):
    before = dump(db)
    trial = run_import(db, actor=SYSTEM, path=valid_folder, dry_run=True)
    assert trial.ok
    assert without_history(dump(db)) == without_history(before)
    real = imported(db, valid_folder)
    assert [entry.as_dict() for entry in trial.counts] == [entry.as_dict() for entry in real.counts]


def test_every_run_is_in_the_history_but_only_a_real_one_writes(db, tmp_path, valid_folder):
    before = dump(db)
    trial = run_import(db, actor=SYSTEM, path=valid_folder, dry_run=True, source_label="trial")
    bad = write_folder(
        tmp_path / "bad", {**VALID, "deals.csv": VALID["deals.csv"].replace("won", "wonn")}
    )
    failed = run_import(db, actor=SYSTEM, path=bad, source_label="typo")
    missing = run_import(db, actor=SYSTEM, path=tmp_path / "nowhere", source_label="nowhere")
    assert trial.ok
    assert not failed.ok
    assert not missing.ok
    assert missing.problems[0].reason == "no such file or folder"
    assert without_history(dump(db)) == without_history(before)
    runs = {run.source: run for run in db.scalars(select(ImportRun))}
    assert {s: (r.status, r.dry_run, r.problems) for s, r in runs.items()} == {
        "trial": ("succeeded", True, 0),
        "typo": ("failed", False, 1),
        "nowhere": ("failed", False, 1),
    }
    assert runs["trial"].actor == SYSTEM.label
    assert runs["trial"].counts["files"][0]["rows"] == 3  # teams.csv: what the run would write
    assert all(run.duration_s >= 0 and run.finished_at >= run.started_at for run in runs.values())

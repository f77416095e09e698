"""Imported ratings meet the same scales as ratings given here, and a pruning import never
removes what was rated in Touchline."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.crm.conftest import VALID, dump, write_folder
from touchline.auth.policy import SYSTEM
from touchline.crm.models import RatingRecord
from touchline.crm.service import run_import


def _ratings(rows: str) -> dict[str, str]:
    return VALID | {
        "ratings.csv": "rating_id,kpi,seller_id,rater_role,period,score,rater_id,comment\n" + rows
    }


def test_an_imported_score_off_the_scale_or_of_an_unrated_kpi_is_refused_by_line(db, tmp_path):
    assert run_import(db, actor=SYSTEM, path=write_folder(tmp_path / "base", VALID)).ok
    before = [table for table in dump(db) if table[0] != "import_runs"]
    report = run_import(
        db,
        actor=SYSTEM,
        path=write_folder(
            tmp_path / "bad",
            _ratings(
                "R1,objection_handling,S2,self,2026-Q1,4.5,S2,\n"
                "R2,objection_handling,S2,manager,2026-Q1,7,S1,\n"
                "R3,charm,S2,manager,2026-Q1,3,S1,\n"
                "R4,pulse_energy,S2,self,2026-Q1,3,S2,\n"
            ),
        ),
    )
    problems = {(p.file, p.line, p.column, p.value): p.reason for p in report.problems}
    assert (
        problems[("ratings.csv", 3, "score", "7")]
        == "off the scale of objection_handling: give 1 to 5"
    )
    assert "not a KPI rated on a scale" in problems[("ratings.csv", 4, "kpi", "charm")]
    # The pulse is answered on the dashboard or imported as pulse.csv, not rated.
    assert ("ratings.csv", 5, "kpi", "pulse_energy") in problems
    assert len(report.problems) == 3
    db.expire_all()
    # Only the failed run's line in the import history is new.
    assert [table for table in dump(db) if table[0] != "import_runs"] == before


def test_a_pruning_import_keeps_the_ratings_given_in_touchline(db, tmp_path):
    assert run_import(db, actor=SYSTEM, path=write_folder(tmp_path / "base", VALID)).ok
    seller_id = db.scalar(select(RatingRecord.seller_id).where(RatingRecord.external_id == "R1"))
    db.add(
        RatingRecord(
            external_id=None,
            kpi="objection_handling",
            seller_id=seller_id,
            rater_role="customer",
            period="2026-Q1",
            score=4.0,
            origin="link",
        )
    )
    db.flush()
    report = run_import(
        db,
        actor=SYSTEM,
        path=write_folder(
            tmp_path / "fewer",
            _ratings("R1,objection_handling,S2,self,2026-Q1,4.5,S2,\n"),
        ),
        prune=True,
    )
    assert report.ok, [p.describe() for p in report.problems]
    kept = dict(
        db.execute(select(RatingRecord.origin, func.count()).group_by(RatingRecord.origin)).all()
    )
    assert kept == {"import": 1, "link": 1}  # R2 pruned, the link's rating kept

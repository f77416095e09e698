"""The demo company's data: complete, consistent, reproducible, with its planted truths.

The truths are checked straight on the generated CSV files (DuckDB and NumPy), so
they hold before any of Touchline's analytics looks at them.
"""

from __future__ import annotations

import csv
import hashlib
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pytest

from touchline.demo.generator import write_interchange

HEADERS = {
    "teams.csv": "team_id,name,parent_team_id,kind,manager_id",
    "territories.csv": "territory_id,name,market_potential,region",
    "sellers.csv": "seller_id,name,email,team_id,manager_id,territory_id,hire_date",
    "accounts.csv": "account_id,name,territory_id,segment",
    "deals.csv": "deal_id,account_id,seller_id,created_date,close_date,status,amount,stage",
    "activities.csv": "activity_id,seller_id,type,occurred_at,account_id,deal_id,duration_min,outcome",
    "ratings.csv": "rating_id,kpi,seller_id,rater_role,period,score,rater_id,comment",
    "customer_surveys.csv": "response_id,account_id,seller_id,customer_status,answered_date,score,seller_predicted_score,comment",
    "pulse.csv": "seller_id,week,motivation,energy,pride,comment",
}


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    return write_interchange(folder, size="small", seed=7)


@pytest.fixture(scope="module")
def sql(company):
    connection = duckdb.connect()
    for name in HEADERS:
        table = name.removesuffix(".csv")
        connection.execute(
            f"CREATE TABLE {table} AS SELECT * FROM read_csv('{company.folder / name}', all_varchar=true)"
        )
    return connection


def digest(folder: Path) -> str:
    return hashlib.sha256(b"".join((folder / name).read_bytes() for name in HEADERS)).hexdigest()


def test_all_nine_files_have_the_interchange_headers(company):
    for name, header in HEADERS.items():
        with (company.folder / name).open() as source:
            assert source.readline().strip() == header


def test_every_reference_resolves(sql):
    checks = {
        "deal accounts": "SELECT count(*) FROM deals WHERE account_id NOT IN (SELECT account_id FROM accounts)",
        "deal sellers": "SELECT count(*) FROM deals WHERE seller_id NOT IN (SELECT seller_id FROM sellers)",
        "activity deals": "SELECT count(*) FROM activities WHERE deal_id IS NOT NULL AND deal_id NOT IN (SELECT deal_id FROM deals)",
        "seller teams": "SELECT count(*) FROM sellers WHERE team_id NOT IN (SELECT team_id FROM teams)",
        "managers": "SELECT count(*) FROM sellers WHERE manager_id IS NOT NULL AND manager_id NOT IN (SELECT seller_id FROM sellers)",
    }
    for what, query in checks.items():
        assert sql.execute(query).fetchall() == [(0,)], what


def test_deals_close_after_they_open_and_amounts_have_cents(sql):
    assert sql.execute(
        "SELECT count(*) FROM deals WHERE (status = 'open') <> (close_date IS NULL) "
        "OR close_date < created_date OR NOT regexp_full_match(amount, '[0-9]+\\.[0-9]{2}')"
    ).fetchall() == [(0,)]


def test_timestamps_carry_an_offset(company):
    with (company.folder / "activities.csv").open() as source:
        for row, _ in zip(csv.DictReader(source), range(2000), strict=False):
            assert datetime.fromisoformat(row["occurred_at"]).utcoffset() is not None


def test_the_same_seed_gives_the_same_bytes(company, tmp_path):
    again = write_interchange(tmp_path / "again", size="small", seed=7)
    assert digest(again.folder) == digest(company.folder)
    other = write_interchange(tmp_path / "other", size="small", seed=8)
    assert digest(other.folder) != digest(company.folder)


def per_seller(sql, since: str):
    rows = sql.execute(
        f"""
        SELECT s.seller_id, ln(t.market_potential::DOUBLE),
          ln(sum(CASE WHEN d.status = 'won' AND d.close_date >= '{since}' THEN d.amount::DOUBLE ELSE 0 END)),
          (SELECT avg(CASE outcome WHEN 'next_step_agreed' THEN 1.0 WHEN 'no_next_step' THEN 0.0 END)
             FROM activities a WHERE a.seller_id = s.seller_id AND a.type = 'meeting' AND a.occurred_at >= '{since}'),
          (SELECT count(*) FROM activities a WHERE a.seller_id = s.seller_id AND a.type = 'meeting'
             AND a.occurred_at >= '{since}' AND a.account_id NOT IN
             (SELECT account_id FROM deals WHERE status = 'won' AND close_date < a.occurred_at[:10])),
          (SELECT count(*) FROM activities a WHERE a.seller_id = s.seller_id AND a.type = 'call' AND a.occurred_at >= '{since}'),
          (SELECT count(*) FROM activities a WHERE a.seller_id = s.seller_id AND a.type = 'social' AND a.occurred_at >= '{since}')
        FROM sellers s JOIN territories t ON t.territory_id = s.territory_id
        JOIN deals d ON d.seller_id = s.seller_id GROUP BY s.seller_id, t.market_potential ORDER BY 1
        """
    ).fetchall()
    ids = [row[0] for row in rows]
    columns = np.array([[float(value) for value in row[1:]] for row in rows]).T
    return ids, columns


def hedges_g(values, top):
    a, b = values[top], values[~top]
    pooled = np.sqrt(
        ((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2)
    )
    return (a.mean() - b.mean()) / pooled


def test_potential_explains_about_half_of_revenue_and_behaviour_separates_the_top(sql):
    _ids, (potential, revenue, quality, new_meetings, calls, social) = per_seller(sql, "2025-11-20")
    slope, intercept = np.polyfit(potential, revenue, 1)
    fair = revenue - (slope * potential + intercept)
    r_squared = 1 - fair.var() / revenue.var()
    assert 0.35 <= r_squared <= 0.75
    top = fair >= np.quantile(fair, 0.75)
    assert hedges_g(quality, top) >= 0.8
    assert hedges_g(new_meetings, top) >= 0.8
    assert abs(hedges_g(calls, top)) < 0.5
    ranks = np.argsort(np.argsort(social)), np.argsort(np.argsort(revenue))
    assert abs(np.corrcoef(*ranks)[0, 1]) < 0.2


def test_the_low_energy_team_sinks_in_the_last_quarter(company, sql):
    rows = sql.execute(
        f"""
        SELECT s.team_id = '{company.low_energy_team}', p.week >= '2026-W44', avg(p.energy::DOUBLE)
        FROM pulse p JOIN sellers s ON s.seller_id = p.seller_id
        WHERE p.week >= '2026-W20' GROUP BY ALL
        """
    ).fetchall()
    energy = {(team, late): value for team, late, value in rows}
    assert energy[(True, True)] < energy[(True, False)] - 0.8
    assert abs(energy[(False, True)] - energy[(False, False)]) < 0.2


def test_the_over_confident_seller_rates_themself_far_above_others(company, sql):
    rows = dict(
        sql.execute(
            f"SELECT rater_role, avg(score::DOUBLE) FROM ratings WHERE seller_id = "
            f"'{company.over_confident_seller}' GROUP BY 1"
        ).fetchall()
    )
    assert rows["self"] - rows["manager"] >= 1.5
    assert rows["self"] - rows["customer"] >= 1.5
    predicted, real = sql.execute(
        "SELECT avg(seller_predicted_score::DOUBLE), avg(score::DOUBLE) FROM customer_surveys "
        f"WHERE seller_id = '{company.over_confident_seller}'"
    ).fetchall()[0]
    assert predicted - real >= 2.5


def test_the_improving_seller_climbs_steadily_from_a_weak_start(company, sql):
    quarters = sql.execute(
        """
        SELECT s.seller_id, year(d.close_date::DATE) * 4 + quarter(d.close_date::DATE) AS q,
               sum(d.amount::DOUBLE) FILTER (WHERE d.status = 'won') / max(t.market_potential::DOUBLE)
        FROM deals d JOIN sellers s ON s.seller_id = d.seller_id
        JOIN territories t ON t.territory_id = s.territory_id
        WHERE d.close_date IS NOT NULL GROUP BY ALL
        """
    ).fetchall()
    by_quarter: dict[int, dict[str, float]] = {}
    for seller, quarter, value in quarters:
        by_quarter.setdefault(quarter, {})[seller] = value or 0.0
    last = sorted(by_quarter)[-7:-1]
    mine = [by_quarter[q].get(company.improving_seller, 0.0) for q in last]
    assert np.polyfit(range(len(mine)), mine, 1)[0] > 0
    first, latest = by_quarter[last[0]], by_quarter[last[-1]]
    assert mine[0] <= np.quantile(list(first.values()), 0.35)
    assert mine[-1] >= np.median(list(latest.values()))


@pytest.mark.parametrize(
    ("size", "low", "high"),
    [("small", 100, 140), ("medium", 450, 600), ("large", 2000, 2400)],
)
def test_each_size_has_as_many_sellers_as_the_docs_say(size, low, high):
    from touchline.demo.generator import _organisation

    company = _organisation(size, 7)
    assert low <= len(company.sellers) <= high
    regions = [unit for unit in company.units if unit.kind == "region"]
    assert len(regions) >= 3

"""The demo company's CRM data, written as interchange CSV, with planted truths.

Two years of deals, activities, ratings, customer surveys and weekly pulses for a
Scandinavian B2B company, generated with NumPy (vectorised, so ``large`` with five
million activities takes a minute or two) and written by DuckDB. The same seed
gives byte-identical files. The planted truths, which the analytics must find
without being told, are documented in docs/demo-company.md:

1. territory market potential explains about half of the variance of log revenue;
2. meeting quality and meetings with new customers separate the top performers;
   calls vary a lot but do not;
3. one team's pulse energy sinks over the last quarter while its activity rises;
4. one seller rates themself far above what manager and customers say;
5. the count of social touches relates to nothing;
6. one seller improves steadily from a weak start.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np

from touchline.demo.company import (
    COMPANY,
    DEMO_DOMAIN,
    FIRST_NAMES,
    LAST_NAMES,
    DemoCompany,
    DemoSeller,
    DemoTerritory,
    DemoUnit,
    _ascii,
    generate,
)

Progress = Callable[[str, int], None]
SOFT_KPIS = (
    "objection_handling",
    "needs_discovery",
    "first_impression",
    "collaboration",
    "best_practice",
    "product_knowledge",
)
LOW_ENERGY_TEAM = "T-NO-BER"
ZONES = {"DK": "Europe/Copenhagen", "NO": "Europe/Oslo", "SE": "Europe/Stockholm"}


@dataclass(frozen=True)
class Size:
    regions: int
    teams_per_region: int
    sellers_per_team: int
    deals_per_month: float
    activities_per_week: float


SIZES = {
    "small": Size(3, 4, 9, 8.0, 9.0),
    "medium": Size(6, 8, 10, 8.5, 19.0),
    "large": Size(10, 20, 10, 10.5, 24.0),
}


@dataclass
class GeneratedCompany:
    """What was written: rows per file and the ids of the planted subjects."""

    folder: Path
    rows: dict[str, int] = field(default_factory=dict)
    over_confident_seller: str = ""
    improving_seller: str = ""
    low_energy_team: str = LOW_ENERGY_TEAM
    first_day: date = date(2024, 11, 21)
    last_day: date = date(2026, 11, 20)


def _organisation(size: str, seed: int) -> DemoCompany:
    if size == "small":
        return generate(seed)
    spec = SIZES[size]
    rng = np.random.default_rng(seed + 17)
    company = DemoCompany()
    company.units.append(DemoUnit(COMPANY[0], COMPANY[1], "company", None))
    countries = list(FIRST_NAMES)
    counter = 0

    def person(country: str) -> tuple[str, str, str]:
        nonlocal counter
        counter += 1
        first = FIRST_NAMES[country][int(rng.integers(len(FIRST_NAMES[country])))]
        last = LAST_NAMES[country][int(rng.integers(len(LAST_NAMES[country])))]
        email = f"{_ascii(first)}.{_ascii(last)}.{counter}@{DEMO_DOMAIN}"
        return f"S{counter:05d}", f"{first} {last}", email

    today = date(2026, 11, 1)

    def hired(low: float, high: float) -> date:
        return today - timedelta(days=int(rng.uniform(low, high) * 365))

    director = person("DK")
    company.units[0].manager = director[0]
    company.sellers.append(DemoSeller(*director, COMPANY[0], None, None, hired(8, 20)))
    for region_index in range(spec.regions):
        country = countries[region_index % len(countries)]
        region_id = f"R-{country}-{region_index + 1:02d}"
        region = DemoUnit(region_id, f"Region {region_index + 1} ({country})", "region", COMPANY[0])
        head = person(country)
        region.manager = head[0]
        company.units.append(region)
        company.sellers.append(DemoSeller(*head, COMPANY[0], director[0], None, hired(6, 15)))
        for team_index in range(spec.teams_per_region):
            team_id = f"T-{country}-{region_index + 1:02d}-{team_index + 1:02d}"
            team = DemoUnit(team_id, f"Team {region_index + 1}.{team_index + 1}", "team", region_id)
            lead = person(country)
            team.manager = lead[0]
            company.units.append(team)
            company.sellers.append(DemoSeller(*lead, region_id, head[0], None, hired(4, 12)))
            for _seat in range(spec.sellers_per_team):
                seller = person(country)
                territory_id = f"TER-{seller[0]}"
                company.territories.append(
                    DemoTerritory(
                        territory_id, f"{team.name} {seller[0]}", _potential(rng), country
                    )
                )
                company.sellers.append(
                    DemoSeller(*seller, team_id, lead[0], territory_id, hired(0.3, 12))
                )
    return company


def _potential(rng: np.random.Generator) -> Decimal:
    return Decimal(int(math.exp(rng.normal(math.log(12_000_000), 0.5)) // 1000 * 1000))


def write_interchange(
    folder: Path,
    *,
    size: str = "small",
    seed: int = 7,
    today: date = date(2026, 11, 20),
    progress: Progress | None = None,
) -> GeneratedCompany:
    """Write the demo company as an interchange folder; return what was written."""
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}: use small, medium or large")
    report = progress or (lambda _file, _rows: None)
    folder.mkdir(parents=True, exist_ok=True)
    company = _organisation(size, seed)
    spec = SIZES[size]
    rng = np.random.default_rng(seed)
    result = GeneratedCompany(folder=folder, last_day=today, first_day=today - timedelta(days=730))
    db = duckdb.connect(config={"memory_limit": "1GB"})
    db.execute("SET TimeZone = 'UTC'")
    db.execute("SET enable_progress_bar = false")

    def write(name: str, sql: str) -> None:
        target = folder / name
        db.execute(f"COPY ({sql}) TO '{target}' (HEADER, DELIMITER ',')")
        rows = db.execute(f"SELECT count(*) FROM ({sql})").fetchall()[0][0]
        result.rows[name] = int(rows)
        report(name, int(rows))

    def table(name: str, columns: dict[str, np.ndarray]) -> None:
        db.register(f"{name}_view", columns)
        db.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM {name}_view")
        db.unregister(f"{name}_view")

    # --- organisation ------------------------------------------------------------
    units = company.units
    table(
        "units",
        {
            "team_id": np.array([u.external_id for u in units], dtype=object),
            "name": np.array([u.name for u in units], dtype=object),
            "parent_team_id": np.array([u.parent for u in units], dtype=object),
            "kind": np.array([u.kind for u in units], dtype=object),
            "manager_id": np.array([u.manager for u in units], dtype=object),
        },
    )
    write("teams.csv", "SELECT * FROM units")
    territories = company.territories
    table(
        "territories",
        {
            "territory_id": np.array([t.external_id for t in territories], dtype=object),
            "name": np.array([t.name for t in territories], dtype=object),
            "market_potential": np.array(
                [f"{t.market_potential}" for t in territories], dtype=object
            ),
            "region": np.array([t.region for t in territories], dtype=object),
        },
    )
    write("territories.csv", "SELECT * FROM territories")
    sellers = company.sellers
    table(
        "sellers",
        {
            "seller_id": np.array([s.external_id for s in sellers], dtype=object),
            "name": np.array([s.name for s in sellers], dtype=object),
            "email": np.array([s.email for s in sellers], dtype=object),
            "team_id": np.array([s.unit for s in sellers], dtype=object),
            "manager_id": np.array([s.manager for s in sellers], dtype=object),
            "territory_id": np.array([s.territory for s in sellers], dtype=object),
            "hire_date": np.array([s.hire_date.isoformat() for s in sellers], dtype=object),
        },
    )
    write("sellers.csv", "SELECT * FROM sellers")

    # --- the sales force: who sells, how well ------------------------------------
    field_sellers = [s for s in sellers if s.territory is not None]
    n = len(field_sellers)
    ids = np.array([s.external_id for s in field_sellers], dtype=object)
    team_of = np.array([s.unit for s in field_sellers], dtype=object)
    potential_of = {t.external_id: float(t.market_potential) for t in territories}
    potential = np.array([potential_of[s.territory or ""] for s in field_sellers])
    relative = potential / np.exp(np.mean(np.log(potential)))
    zone = np.array(
        [ZONES.get(_country(s.unit), "Europe/Copenhagen") for s in field_sellers], dtype=object
    )
    table("field", {"i": np.arange(n), "seller_id": ids, "zone": zone})
    skill = rng.normal(0.0, 1.0, n)
    calls_taste = rng.lognormal(0.0, 0.6, n)  # how much a seller likes the phone: no effect
    months = 24
    month_starts = [
        _add_months(date(today.year, today.month, 1), m - months + 1) for m in range(months)
    ]
    skill_by_month = np.repeat(skill[:, None], months, axis=1)
    quarter_of_month = np.arange(months) // 3
    # The improving seller: weak two years ago, above the median now, steadily.
    order = np.argsort(skill)
    improving = int(order[n // 10])
    trajectory = np.linspace(-1.6, 1.4, 8)[quarter_of_month]
    skill_by_month[improving] = trajectory
    result.improving_seller = str(ids[improving])
    over_confident = int(order[n // 3])
    result.over_confident_seller = str(ids[over_confident])
    low_energy = team_of == LOW_ENERGY_TEAM
    if not low_energy.any():
        result.low_energy_team = str(team_of[0])
        low_energy = team_of == team_of[0]

    # --- accounts: each seller's customers and prospects, in their territory -----
    accounts_per_seller = 24
    account_seller = np.repeat(np.arange(n), accounts_per_seller)
    account_count = len(account_seller)
    segments = np.array(["SMB", "Mid-market", "Enterprise", "Public"], dtype=object)
    table(
        "accounts",
        {
            "n": np.arange(account_count),
            "seller": account_seller,
            "segment": segments[rng.integers(0, 4, account_count)],
            "territory": np.array(
                [field_sellers[i].territory for i in account_seller], dtype=object
            ),
        },
    )
    write(
        "accounts.csv",
        "SELECT 'AC' || lpad((n + 1)::VARCHAR, 7, '0') AS account_id, "
        "'Kunde ' || (n + 1) AS name, territory AS territory_id, segment FROM accounts ORDER BY n",
    )

    # --- deals ---------------------------------------------------------------------
    deal_rate = spec.deals_per_month * np.sqrt(relative)[:, None] * np.ones((1, months))
    deal_counts = rng.poisson(deal_rate)
    deal_seller = np.repeat(np.repeat(np.arange(n), months), deal_counts.ravel())
    deal_month = np.repeat(np.tile(np.arange(months), n), deal_counts.ravel())
    deals = len(deal_seller)
    month_first = np.array([(d - result.first_day).days for d in month_starts])
    month_days = np.array([_month_days(d) for d in month_starts])
    created_day = month_first[deal_month] + (rng.random(deals) * month_days[deal_month]).astype(int)
    created_day = np.clip(created_day, 0, 729)
    deal_skill = skill_by_month[deal_seller, deal_month]
    win_probability = _logistic(-0.3 + 0.45 * deal_skill)
    closed = rng.random(deals) < 0.85
    won = closed & (rng.random(deals) < win_probability)
    cycle_days = rng.gamma(3.0, 18.0 - 3.0 * np.clip(deal_skill, -2, 2), deals).astype(int) + 5
    close_day = created_day + cycle_days
    closed &= close_day <= 729
    won &= closed
    amount = np.round(
        rng.lognormal(math.log(9000), 0.6, deals)
        * np.sqrt(relative)[deal_seller]
        * np.exp(0.12 * deal_skill),
        2,
    )
    # Deals go to the customer accounts; the last eight of each seller stay prospects.
    account_pick = deal_seller * accounts_per_seller + rng.integers(0, 16, deals)
    status = np.where(won, "won", np.where(closed, "lost", "open")).astype(object)
    stages = np.array(["qualification", "proposal", "negotiation"], dtype=object)
    stage = stages[rng.integers(0, 3, deals)]
    stage[closed] = None
    table(
        "deals",
        {
            "n": np.arange(deals),
            "seller": deal_seller,
            "account": account_pick,
            "created": created_day,
            "closed": np.where(closed, close_day, -1),
            "status": status,
            "amount": amount,
            "stage": stage,
        },
    )
    first = result.first_day.isoformat()
    write(
        "deals.csv",
        "SELECT 'D' || lpad((d.n + 1)::VARCHAR, 8, '0') AS deal_id, "
        "'AC' || lpad((d.account + 1)::VARCHAR, 7, '0') AS account_id, s.seller_id, "
        f"strftime(DATE '{first}' + d.created::INTEGER, '%Y-%m-%d') AS created_date, "
        f"CASE WHEN d.closed >= 0 THEN strftime(DATE '{first}' + d.closed::INTEGER, '%Y-%m-%d') "
        "END AS close_date, d.status, printf('%.2f', d.amount) AS amount, d.stage "
        "FROM deals d JOIN field s ON s.i = d.seller ORDER BY d.n",
    )

    # --- activities ----------------------------------------------------------------
    weeks = 104
    week_skill = np.repeat(skill_by_month, 1, axis=1)[
        :, np.minimum(np.arange(weeks) * 12 // 52, 23)
    ]
    busy = np.ones((n, weeks))
    busy[low_energy, weeks - 13 :] = np.linspace(1.1, 1.6, 13)  # more demanded of them
    per_week = spec.activities_per_week
    mix = {
        "call": 0.40 * per_week * calls_taste[:, None] * busy,
        "email": 0.28 * per_week * busy,
        "meeting": 0.20 * per_week * np.exp(0.15 * week_skill) * busy,
        "demo": 0.07 * per_week * busy,
        "social": 0.05 * per_week * rng.lognormal(0, 0.5, n)[:, None] * np.ones((1, weeks)),
    }
    parts = []
    for kind, rate in mix.items():
        counts = rng.poisson(rate)
        seller = np.repeat(np.repeat(np.arange(n), weeks), counts.ravel())
        week = np.repeat(np.tile(np.arange(weeks), n), counts.ravel())
        parts.append((kind, seller, week))
    kinds = np.concatenate([np.full(len(p[1]), p[0], dtype=object) for p in parts])
    seller = np.concatenate([p[1] for p in parts])
    week = np.concatenate([p[2] for p in parts])
    count = len(seller)
    day = np.clip(week * 7 + rng.integers(0, 5, count), 0, 729)
    minute = rng.integers(8 * 60, 17 * 60, count)
    act_skill = week_skill[seller, week]
    meeting = kinds == "meeting"
    # Good sellers spend their meetings on new customers and leave with a next step.
    new_customer = rng.random(count) < _logistic(-0.9 + 0.9 * act_skill)
    account_slot = np.where(
        meeting & new_customer, rng.integers(16, 24, count), rng.integers(0, 16, count)
    )
    account = seller * accounts_per_seller + account_slot
    has_outcome = meeting & (rng.random(count) < 0.9)
    next_step = rng.random(count) < _logistic(-0.2 + 1.1 * act_skill)
    outcome = np.where(next_step, "next_step_agreed", "no_next_step").astype(object)
    outcome[~has_outcome] = None
    # The first touch of each deal, a few hours to days after it was created.
    touch_hours = rng.exponential(30.0 * np.exp(-0.3 * deal_skill), deals)
    touch_offset = (touch_hours * 60).astype(int)
    table(
        "activities",
        {
            "n": np.arange(count + deals),
            "seller": np.concatenate([seller, deal_seller]),
            "kind": np.concatenate([kinds, np.full(deals, "call", dtype=object)]),
            "minutes": np.concatenate(
                [day * 1440 + minute, created_day * 1440 + 8 * 60 + touch_offset]
            ),
            "account": np.concatenate([account, account_pick]),
            "deal": np.concatenate([np.full(count, -1), np.arange(deals)]),
            "outcome": np.concatenate([outcome, np.full(deals, None, dtype=object)]),
            "duration": np.concatenate([rng.integers(5, 90, count), rng.integers(5, 30, deals)]),
        },
    )
    db.execute("DELETE FROM activities WHERE minutes >= 730 * 1440")
    write(
        "activities.csv",
        "WITH x AS (SELECT a.*, f.seller_id, "
        f"TIMESTAMP '{first} 00:00:00' + to_minutes(a.minutes) AS local_time, "
        f"timezone(f.zone, TIMESTAMP '{first} 00:00:00' + to_minutes(a.minutes)) "
        "AT TIME ZONE 'UTC' AS utc_time FROM activities a JOIN field f ON f.i = a.seller) "
        "SELECT 'A' || lpad(row_number() OVER (ORDER BY minutes, seller, n)::VARCHAR, 9, '0') "
        "AS activity_id, seller_id, kind AS type, "
        "strftime(local_time, '%Y-%m-%dT%H:%M:%S') || "
        "printf('%+03d:00', date_diff('hour', utc_time, local_time)) AS occurred_at, "
        "'AC' || lpad((account + 1)::VARCHAR, 7, '0') AS account_id, "
        "CASE WHEN deal >= 0 THEN 'D' || lpad((deal + 1)::VARCHAR, 8, '0') END AS deal_id, "
        "duration AS duration_min, outcome FROM x ORDER BY minutes, seller, n",
    )

    # --- ratings -------------------------------------------------------------------
    quarters = [_quarter_label(_add_months(month_starts[0], 3 * q)) for q in range(8)]
    rating_rows: dict[str, list[object]] = {
        k: [] for k in ("seller", "kpi", "role", "period", "score")
    }
    quarter_skill = skill_by_month[:, ::3]
    roles = ("self", "manager", "peer", "customer", "mystery_shopper")
    for q, period in enumerate(quarters):
        for kpi in SOFT_KPIS:
            for role in roles:
                if role == "mystery_shopper" and kpi not in ("first_impression", "needs_discovery"):
                    continue
                if role == "peer" and kpi not in ("collaboration", "best_practice"):
                    continue
                raters = 3 if role in ("peer", "customer") else 1
                for _r in range(raters):
                    base = 3.0 + 0.55 * quarter_skill[:, q] + rng.normal(0, 0.45, n)
                    if role == "self":
                        base = base + 0.3
                    score = np.clip(np.round(base, 1), 1.0, 5.0)
                    if role == "self":
                        score[over_confident] = np.clip(round(4.8 + rng.normal(0, 0.1), 1), 1, 5)
                    elif role in ("manager", "customer"):
                        score[over_confident] = np.clip(round(2.5 + rng.normal(0, 0.2), 1), 1, 5)
                    rating_rows["seller"].extend(range(n))
                    rating_rows["kpi"].extend([kpi] * n)
                    rating_rows["role"].extend([role] * n)
                    rating_rows["period"].extend([period] * n)
                    rating_rows["score"].extend(score.tolist())
    rating_rows["n"] = list(range(len(rating_rows["seller"])))
    table(
        "ratings",
        {
            k: np.array(v, dtype=object if k in ("kpi", "role", "period") else None)
            for k, v in rating_rows.items()
        },
    )
    write(
        "ratings.csv",
        "SELECT 'R' || lpad(row_number() OVER (ORDER BY r.n)::VARCHAR, 8, '0') AS rating_id, "
        "r.kpi, "
        "f.seller_id, r.role AS rater_role, r.period, printf('%.1f', r.score) AS score, "
        "CASE r.role WHEN 'manager' THEN m.manager_id WHEN 'self' THEN f.seller_id END "
        "AS rater_id, NULL AS comment FROM ratings r JOIN field f ON f.i = r.seller "
        "JOIN sellers m ON m.seller_id = f.seller_id ORDER BY r.n",
    )

    # --- customer surveys ----------------------------------------------------------
    responses = 3 * 8
    survey_seller = np.repeat(np.arange(n), responses)
    survey_quarter = np.tile(np.repeat(np.arange(8), 3), n)
    survey_skill = quarter_skill[survey_seller, survey_quarter]
    score = np.clip(
        np.round(6.3 + 1.2 * survey_skill + rng.normal(0, 1.0, len(survey_seller))), 0, 10
    )
    predicted = np.clip(np.round(score + rng.normal(0.4, 1.0, len(score))), 0, 10)
    mine = survey_seller == over_confident
    score[mine] = np.clip(np.round(5 + rng.normal(0, 0.6, mine.sum())), 0, 10)
    predicted[mine] = np.clip(np.round(9 + rng.normal(0, 0.4, mine.sum())), 0, 10)
    statuses = np.array(["existing", "lost", "prospect", "lost_prospect"], dtype=object)
    table(
        "surveys",
        {
            "n": np.arange(len(score)),
            "seller": survey_seller,
            "day": np.clip(survey_quarter * 91 + rng.integers(5, 85, len(score)), 0, 729),
            "account": survey_seller * accounts_per_seller + rng.integers(0, 24, len(score)),
            "status": statuses[rng.choice(4, len(score), p=[0.6, 0.1, 0.2, 0.1])],
            "score": score.astype(int),
            "predicted": np.where(rng.random(len(score)) < 0.7, predicted, -1).astype(int),
        },
    )
    write(
        "customer_surveys.csv",
        "SELECT 'CS' || lpad(row_number() OVER (ORDER BY v.n)::VARCHAR, 7, '0') AS response_id, "
        "'AC' || lpad((v.account + 1)::VARCHAR, 7, '0') AS account_id, f.seller_id, "
        f"v.status AS customer_status, strftime(DATE '{first}' + v.day::INTEGER, '%Y-%m-%d') "
        "AS answered_date, v.score, CASE WHEN v.predicted >= 0 THEN v.predicted END "
        "AS seller_predicted_score, NULL AS comment FROM surveys v "
        "JOIN field f ON f.i = v.seller ORDER BY v.n",
    )

    # --- weekly pulse ----------------------------------------------------------------
    pulse_seller = np.repeat(np.arange(n), weeks)
    pulse_week = np.tile(np.arange(weeks), n)
    energy = 3.9 + 0.15 * rng.normal(0, 1, n)[pulse_seller] + rng.normal(0, 0.45, n * weeks)
    sinking = low_energy[pulse_seller] & (pulse_week >= weeks - 13)
    energy[sinking] -= np.linspace(0.2, 1.6, 13)[pulse_week[sinking] - (weeks - 13)]
    answered = rng.random(n * weeks) < 0.85
    week_start = [result.first_day + timedelta(days=7 * w) for w in range(weeks)]
    week_labels = np.array(
        [f"{d.isocalendar()[0]}-W{d.isocalendar()[1]:02d}" for d in week_start], dtype=object
    )
    table(
        "pulse",
        {
            "n": np.arange(int(answered.sum())),
            "seller": pulse_seller[answered],
            "week": week_labels[pulse_week[answered]],
            "motivation": np.clip(np.round(energy + rng.normal(0.1, 0.4, n * weeks)), 1, 5)[
                answered
            ].astype(int),
            "energy": np.clip(np.round(energy), 1, 5)[answered].astype(int),
            "pride": np.clip(np.round(3.8 + rng.normal(0, 0.6, n * weeks)), 1, 5)[answered].astype(
                int
            ),
        },
    )
    write(
        "pulse.csv",
        "SELECT f.seller_id, p.week, p.motivation, p.energy, p.pride, NULL AS comment "
        "FROM pulse p JOIN field f ON f.i = p.seller ORDER BY p.n",
    )
    db.close()
    return result


def _country(unit: str) -> str:
    parts = unit.split("-")
    return parts[1] if len(parts) > 1 else "DK"


def _logistic(values: np.ndarray) -> np.ndarray:
    result: np.ndarray = 1.0 / (1.0 + np.exp(-values))
    return result


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _month_days(first: date) -> int:
    return (_add_months(first, 1) - first).days


def _quarter_label(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"

"""Writing the demo company into a database, with a user for every role."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from touchline.auth.models import Role, User
from touchline.auth.passwords import hash_password
from touchline.auth.policy import SYSTEM
from touchline.crm.models import Activity
from touchline.db import Base
from touchline.demo.company import DEMO_DOMAIN
from touchline.instance import get_value, set_value
from touchline.org.models import Seller, Unit

DEMO_PASSWORDS = {
    Role.ADMIN: "admin-demo",
    Role.LEADER: "leader-demo",
    Role.MANAGER: "manager-demo",
    Role.SELLER: "seller-demo",
}
DEMO_MARKER = "demo_company"


@dataclass(frozen=True)
class DemoLogin:
    """A demo account printed at start: who it is and how to sign in."""

    role: Role
    email: str
    password: str
    who: str


class NotEmpty(RuntimeError):
    """The database holds data that is not a demo company: the demo will not touch it."""


def is_demo(session: Session) -> bool:
    """True when the database was filled by the demo."""
    return get_value(session, DEMO_MARKER) is not None


def demo_logins(session: Session) -> list[DemoLogin]:
    """Return the logins the demo printed when it built the company."""
    stored = json.loads(get_value(session, DEMO_MARKER) or "{}")
    # The marker is the build's description; its "logins" are the rows printed then.
    rows = stored.get("logins", []) if isinstance(stored, dict) else stored
    return [DemoLogin(Role(row["role"]), row["email"], row["password"], row["who"]) for row in rows]


def wipe(engine: Engine) -> None:
    """Remove every table of the demo database (the caller migrates it afresh).

    A SQLite file is simply deleted; on PostgreSQL the tables are dropped.
    """
    import touchline.models  # noqa: F401 (every table must be known to drop them all)

    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        engine.dispose()
        path = Path(str(engine.url.database))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    Base.metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


def is_empty(session: Session) -> bool:
    """True when the database has no units, sellers or users."""
    return not any(
        session.scalar(select(func.count()).select_from(model)) for model in (Unit, Seller, User)
    )


def build(
    session: Session,
    *,
    size: str = "small",
    seed: int = 7,
    progress: Callable[[str, int], None] | None = None,
) -> list[DemoLogin]:
    """Generate the demo company as interchange CSV, import it, add users; return the logins.

    The data goes through the real importer, as a customer's export would. Refuses with
    NotEmpty when the database already holds anything.
    """
    from touchline.crm.service import run_import
    from touchline.demo.coaching import build_coaching
    from touchline.demo.generator import write_interchange
    from touchline.demo.ratings import build_ratings
    from touchline.demo.scorecards import build_scorecards
    from touchline.kpis.compute import company_today

    if not is_empty(session):
        raise NotEmpty("The database already holds data; the demo needs an empty one.")
    with tempfile.TemporaryDirectory(prefix="touchline-demo-") as folder:
        generated = write_interchange(Path(folder), size=size, seed=seed, progress=progress)
        report = run_import(
            session,
            actor=SYSTEM,
            path=Path(folder),
            format="interchange",
            source_label=f"demo company ({size}, seed {seed})",
            progress=progress,
        )
    if not report.ok:
        problems = "; ".join(problem.describe() for problem in report.first_problems()[:5])
        raise RuntimeError(f"the generated demo data did not import: {problems}")
    build_scorecards(session, today=generated.last_day, progress=progress)
    logins = _create_users(session)
    if progress:
        progress("rating rounds and surveys", 0)
    build_ratings(
        session, today=generated.last_day, seed=seed, energy_team=generated.low_energy_team
    )
    # Coaching needs the managers' accounts: they are the coaches.
    build_coaching(session, today=company_today(), seed=seed, progress=progress)
    marker = {
        "size": size,
        "seed": seed,
        "logins": [asdict(login) for login in logins],
        "over_confident_seller": generated.over_confident_seller,
        "improving_seller": generated.improving_seller,
        "low_energy_team": generated.low_energy_team,
    }
    set_value(session, DEMO_MARKER, json.dumps(marker))
    session.flush()
    analyse(session, last_day=generated.last_day, progress=progress)
    return logins


def analyse(
    session: Session, *, last_day: date, progress: Callable[[str, int], None] | None = None
) -> None:
    """Run the analytics of the demo's quarter, the one before and its fiscal year, as a
    nightly job would (a year's results say more about behaviours than a quarter's)."""
    from touchline.analytics.registry import run_analytics
    from touchline.config import get_settings
    from touchline.org.periods import PeriodKind, period_containing

    start_month = get_settings().fiscal_year_start_month
    quarter = period_containing(last_day, PeriodKind.QUARTER, fiscal_start_month=start_month)
    year = period_containing(last_day, PeriodKind.YEAR, fiscal_start_month=start_month)
    for period in (quarter.previous(), quarter, year):

        def step(key: str, label: str = period.label) -> None:
            if progress:
                progress(f"analysing {label}: {key}", 0)

        run_analytics(session, period, trigger="demo", progress=step)


def bring_up_to_date(
    session: Session, *, progress: Callable[[str, int], None] | None = None
) -> list[str]:
    """Give a demo built by an earlier release what this one adds; return what was added.

    A demo from before the KPI engine gets its scorecard and objectives; one whose stored
    values an upgrade rebuilt gets every period computed again; one from before the
    ratings its rating round, campaigns and seller survey; one from before coaching its
    coaching history; one from before the analytics its analyses.
    """
    from touchline.analytics.models import AnalyticsResult
    from touchline.coaching.models import Conversation
    from touchline.demo.coaching import build_coaching
    from touchline.demo.ratings import build_ratings
    from touchline.kpis.compute import company_today, compute_all
    from touchline.kpis.models import ComputedPeriod, ScorecardTemplate
    from touchline.ratings.models import RatingRound

    last_day = session.scalar(select(func.max(Activity.occurred_on)))
    if last_day is None:
        return []
    added: list[str] = []
    if session.scalar(select(ScorecardTemplate.id).limit(1)) is None:
        from touchline.demo.scorecards import build_scorecards

        build_scorecards(session, today=last_day, progress=progress)
        added.append("scorecards and objectives")
    elif session.scalar(select(ComputedPeriod.period).limit(1)) is None:

        def step(label: str) -> None:
            if progress:
                progress(f"computing KPIs {label}", 0)

        compute_all(session, today=max(last_day, company_today()), progress=step, trigger="demo")
        added.append("KPI values")
    stored = json.loads(get_value(session, DEMO_MARKER) or "{}")
    seed = int(stored.get("seed", 7)) if isinstance(stored, dict) else 7
    if session.scalar(select(RatingRound.id).limit(1)) is None:
        energy_team = stored.get("low_energy_team") if isinstance(stored, dict) else None
        build_ratings(session, today=last_day, seed=seed, energy_team=energy_team or "T-NO-BER")
        added.append("rating rounds and surveys")
    if session.scalar(select(Conversation.id).limit(1)) is None:
        build_coaching(session, today=company_today(), seed=seed, progress=progress)
        added.append("coaching history")
    if added or session.scalar(select(AnalyticsResult.period).limit(1)) is None:
        analyse(session, last_day=last_day, progress=progress)
        added.append("analytics")
    return added


def _create_users(session: Session) -> list[DemoLogin]:
    """Give every seller a user: the company's head a leader, unit heads managers."""
    hashes = {role: hash_password(password) for role, password in DEMO_PASSWORDS.items()}
    units = session.execute(
        select(Unit.id, Unit.kind, Unit.parent_id, Unit.manager_id).order_by(Unit.external_id)
    ).all()
    top = {manager for _id, _kind, parent, manager in units if parent is None and manager}
    managers = {manager for *_rest, manager in units if manager}
    team_of_lead = {
        manager: unit_id for unit_id, kind, _parent, manager in units if manager and kind == "team"
    }
    admin = DemoLogin(Role.ADMIN, f"admin@{DEMO_DOMAIN}", DEMO_PASSWORDS[Role.ADMIN], "Admin")
    session.add(
        User(email=admin.email, name="Admin", role=Role.ADMIN, password_hash=hashes[Role.ADMIN])
    )
    logins = [admin]
    sellers = session.execute(
        select(Seller.id, Seller.email, Seller.name, Seller.unit_id).order_by(Seller.external_id)
    ).all()
    first_manager: DemoLogin | None = None
    first_team: int | None = None
    for seller_id, email, name, _unit_id in sellers:
        if seller_id in top:
            role = Role.LEADER
        elif seller_id in managers:
            role = Role.MANAGER
        else:
            role = Role.SELLER
        session.add(
            User(email=email, name=name, role=role, seller_id=seller_id, password_hash=hashes[role])
        )
        login = DemoLogin(role, email, DEMO_PASSWORDS[role], name)
        if role is Role.LEADER:
            logins.append(login)
        elif role is Role.MANAGER and first_manager is None and seller_id in team_of_lead:
            first_manager, first_team = login, team_of_lead[seller_id]
    if first_manager is not None:
        logins.append(first_manager)
        member = next((row for row in sellers if row.unit_id == first_team), None)
        if member is not None:
            logins.append(
                DemoLogin(Role.SELLER, member.email, DEMO_PASSWORDS[Role.SELLER], member.name)
            )
    session.flush()
    return logins

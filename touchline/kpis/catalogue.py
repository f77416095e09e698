"""The KPI catalogue: built-in KPIs, user KPIs over metrics, and their versions."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from touchline.audit import service as audit
from touchline.auth.models import Role, User
from touchline.auth.policy import Actor
from touchline.config import LANGUAGES, get_settings
from touchline.errors import Conflict, InvalidInput, NotFound
from touchline.i18n import current_language
from touchline.i18n import gettext as _
from touchline.kpis.builtin import BUILTIN_KPIS
from touchline.kpis.expressions import ExpressionError, parse
from touchline.kpis.metrics import METRICS
from touchline.kpis.models import Kpi, KpiKind, KpiSource, KpiVersion, Objective
from touchline.kpis.schemas import (
    KpiCreate,
    KpiDefinition,
    KpiRead,
    KpiText,
    KpiUpdate,
    KpiVersionRead,
)
from touchline.org.periods import PeriodError, parse_period

# Built-in definitions apply from the first day Touchline knows.
BEGINNING = date(1900, 1, 1)


def sync_builtin_kpis(session: Session) -> None:
    """Add any built-in KPI missing from the catalogue, with its first version.

    Existing KPIs are left as they are: their owners may have edited them.
    """
    present = set(session.scalars(select(Kpi.code)))
    for spec in BUILTIN_KPIS.values():
        if spec.code in present:
            continue
        kpi = Kpi(
            code=spec.code,
            name=spec.name,
            description=spec.description,
            translations={},
            level=spec.level,
            kind=spec.kind,
            source=spec.source,
            direction=spec.direction,
            unit=spec.unit,
            decimals=spec.decimals,
            time_aggregation=spec.time_aggregation,
            status="active",
            builtin=True,
        )
        session.add(kpi)
        session.flush()
        session.add(
            KpiVersion(
                kpi_id=kpi.id,
                effective_from=BEGINNING,
                formula=spec.code if spec.source == KpiSource.METRIC else "",
                decision_threshold=spec.decision_threshold,
                decision_rule=spec.decision_rule,
                rater_weights=spec.rater_weights,
                created_by="system",
            )
        )
    session.flush()


def display_name(kpi: Kpi) -> str:
    """Return the KPI's name in the current language."""
    if kpi.builtin:
        return _(kpi.name)
    translated = kpi.translations.get(current_language(), {})
    return str(translated.get("name") or kpi.name)


def display_description(kpi: Kpi) -> str:
    """Return the KPI's description in the current language."""
    if kpi.builtin:
        return _(kpi.description) if kpi.description else ""
    translated = kpi.translations.get(current_language(), {})
    return str(translated.get("description") or kpi.description)


def display_rule(version: KpiVersion) -> str:
    """Return a version's decision rule, translated where it is a built-in's wording."""
    return _(version.decision_rule) if version.decision_rule else ""


class Versions:
    """Every KPI's versions in order, to find the one in force on a day."""

    def __init__(self, versions: list[KpiVersion]) -> None:
        self._by_kpi: dict[int, list[KpiVersion]] = defaultdict(list)
        for version in sorted(versions, key=lambda v: (v.kpi_id, v.effective_from)):
            self._by_kpi[version.kpi_id].append(version)

    @classmethod
    def load(cls, session: Session) -> Versions:
        return cls(list(session.scalars(select(KpiVersion))))

    def in_force(self, kpi_id: int, day: date) -> KpiVersion:
        """Return the version in force on ``day``: the latest effective on or before it.

        A day before the first version takes the first one, so history computed before a
        KPI existed still has a definition.
        """
        versions = self._by_kpi[kpi_id]
        if not versions:
            raise LookupError(f"KPI {kpi_id} has no version")
        position = bisect_right([v.effective_from for v in versions], day)
        return versions[max(position - 1, 0)]

    def of(self, kpi_id: int) -> list[KpiVersion]:
        return list(self._by_kpi[kpi_id])


def list_kpis(session: Session, *, actor: Actor, include_retired: bool = True) -> list[Kpi]:
    """Return the catalogue, built-in KPIs first, then by code. Everyone signed in may read it."""
    sync_builtin_kpis(session)
    query = select(Kpi).order_by(Kpi.builtin.desc(), Kpi.level, Kpi.code)
    if not include_retired:
        query = query.where(Kpi.status != "retired")
    return list(session.scalars(query))


def get_kpi(session: Session, code: str) -> Kpi:
    """Return the KPI with ``code``; refuses an unknown code with NotFound."""
    sync_builtin_kpis(session)
    kpi = session.scalar(select(Kpi).where(Kpi.code == code))
    if kpi is None:
        raise NotFound(_("There is no KPI with the code %(code)s.", code=code), field="code")
    return kpi


def read_kpi(session: Session, kpi: Kpi) -> KpiRead:
    """Return the KPI with its versions, oldest first, and its owner's e-mail."""
    read = KpiRead.model_validate(kpi)
    if kpi.owner_id is not None:
        read.owner = session.scalar(select(User.email).where(User.id == kpi.owner_id))
    versions = session.scalars(
        select(KpiVersion).where(KpiVersion.kpi_id == kpi.id).order_by(KpiVersion.effective_from)
    )
    read.versions = [KpiVersionRead.model_validate(version) for version in versions]
    return read


RATER_ROLES = ("self", "manager", "peer", "customer", "mystery_shopper")


def _check_definition(source: str, definition: KpiDefinition) -> None:
    if definition.amber_from > definition.green_from:
        raise InvalidInput(
            _("The amber threshold must not be above the green one."), field="amber_from"
        )
    weights = definition.rater_weights
    if weights:
        if source != KpiSource.RATING:
            raise InvalidInput(
                _("Only a KPI rated on a scale has weights per rater."), field="rater_weights"
            )
        unknown = sorted(set(weights) - set(RATER_ROLES))
        if unknown:
            raise InvalidInput(
                _(
                    "%(role)s is not a rater: use self, manager, peer, customer or "
                    "mystery_shopper.",
                    role=", ".join(unknown),
                ),
                field="rater_weights",
            )
        if any(weight < 0 for weight in weights.values()) or sum(weights.values()) <= 0:
            raise InvalidInput(
                _("Rater weights must not be negative, and at least one must be above 0."),
                field="rater_weights",
            )
    if source == KpiSource.EXPRESSION:
        try:
            parse(definition.formula, known=METRICS)
        except ExpressionError as error:
            raise InvalidInput(
                _("The formula is not valid: %(reason)s", reason=str(error)), field="formula"
            ) from None
    elif source == KpiSource.METRIC and definition.formula not in METRICS:
        raise InvalidInput(
            _("%(name)s is not a built-in metric.", name=definition.formula), field="formula"
        )


def _check_objective(session: Session, objective_id: int | None) -> None:
    if objective_id is not None and session.get(Objective, objective_id) is None:
        raise InvalidInput(
            _("There is no objective %(id)s.", id=objective_id), field="objective_id"
        )


def _translations(texts: dict[str, KpiText]) -> dict[str, dict[str, str]]:
    unknown = sorted(set(texts) - (set(LANGUAGES) - {"en"}))
    if unknown:
        raise InvalidInput(
            _("%(code)s is not a language here: use da, nb or it.", code=", ".join(unknown)),
            field="translations",
        )
    return {language: text.model_dump() for language, text in texts.items() if text.name}


def _owner_id(session: Session, email: str) -> int:
    owner = session.scalar(select(User).where(User.email == email.strip().lower()))
    if owner is None or not owner.active:
        raise InvalidInput(_("There is no active user %(email)s.", email=email), field="owner")
    if Role(owner.role) is Role.SELLER:
        raise InvalidInput(
            _("%(email)s is a seller: a KPI's owner is a manager, leader or admin.", email=email),
            field="owner",
        )
    return owner.id


def _snapshot(kpi: Kpi) -> dict[str, Any]:
    return {
        "code": kpi.code,
        "name": kpi.name,
        "level": kpi.level,
        "kind": kpi.kind,
        "direction": kpi.direction,
        "unit": kpi.unit,
        "time_aggregation": kpi.time_aggregation,
        "status": kpi.status,
        "objective_id": kpi.objective_id,
        "owner_id": kpi.owner_id,
    }


def create_kpi(session: Session, *, actor: Actor, kpi_in: KpiCreate) -> Kpi:
    """Add a KPI with its first version; leaders and admins only.

    Refuses a taken code, a formula that does not parse or names an unknown metric, an
    unknown objective, and an amber threshold above the green one.
    """
    actor.require(Role.LEADER)
    if kpi_in.source in (KpiSource.METRIC, KpiSource.PROVIDED):
        raise InvalidInput(
            _("Built-in metrics are already in the catalogue; use an expression."),
            field="source",
        )
    if kpi_in.source == KpiSource.RATING:
        # Rated on a scale by people: soft by definition.
        kpi_in = kpi_in.model_copy(update={"kind": KpiKind.SOFT})
    if session.scalar(select(Kpi.id).where(Kpi.code == kpi_in.code)) is not None:
        raise Conflict(_("The code %(code)s is taken.", code=kpi_in.code), field="code")
    _check_definition(kpi_in.source, kpi_in)
    _check_objective(session, kpi_in.objective_id)
    kpi = Kpi(
        code=kpi_in.code,
        name=kpi_in.name,
        description=kpi_in.description,
        translations=_translations(kpi_in.translations),
        level=kpi_in.level,
        kind=kpi_in.kind,
        source=kpi_in.source,
        direction=kpi_in.direction,
        unit=kpi_in.unit,
        decimals=kpi_in.decimals,
        time_aggregation=kpi_in.time_aggregation,
        objective_id=kpi_in.objective_id,
        owner_id=_owner_id(session, kpi_in.owner)
        if kpi_in.owner
        else (actor.user.id if actor.user else None),
        status=kpi_in.status,
        builtin=False,
    )
    session.add(kpi)
    session.flush()
    session.add(
        KpiVersion(
            kpi_id=kpi.id,
            effective_from=BEGINNING,
            created_by=actor.label,
            **kpi_in.model_dump(include=set(KpiDefinition.model_fields)),
        )
    )
    audit.record(
        session,
        actor=actor.user,
        action="create",
        entity="kpi",
        entity_id=kpi.code,
        after=_snapshot(kpi),
    )
    session.flush()
    if kpi.status == "active":
        recompute_from(session, BEGINNING)
    return kpi


def recompute_from(session: Session, day: date) -> None:
    """Recompute the stored values of every computed period that ends on or after ``day``.

    A new KPI, a new version or a KPI made active changes what those periods hold; later
    periods with no stored values wait for ``touchline compute``.
    """
    # Imported here: the computation itself reads the catalogue.
    from touchline.kpis.compute import company_today, data_span, refresh

    span = data_span(session)
    first = max(day, span[0]) if span else day
    last = max(span[1] if span else day, company_today())
    if first <= last:
        refresh(session, spans=[(first, last)], trigger="kpi edit")


def effective_date(label: str) -> date:
    """Return the first day of the period named ``label``; refuses a bad label."""
    try:
        period = parse_period(label, fiscal_start_month=get_settings().fiscal_year_start_month)
    except PeriodError as error:
        raise InvalidInput(str(error), field="effective_from") from None
    return period.start


def update_kpi(session: Session, *, actor: Actor, kpi: Kpi, kpi_in: KpiUpdate) -> KpiVersion | None:
    """Change a KPI; return the new version when its definition changed, else None.

    Descriptive fields change in place. A new definition needs ``effective_from`` (a
    period label) and applies from that period's first day on; a version already starting
    that day is replaced. Leaders and admins only.
    """
    actor.require(Role.LEADER)
    before = _snapshot(kpi)
    fields = kpi_in.model_dump(
        exclude_unset=True, exclude={"definition", "effective_from", "translations", "owner"}
    )
    if kpi_in.translations is not None:
        kpi.translations = _translations(kpi_in.translations)
    if kpi_in.owner:
        kpi.owner_id = _owner_id(session, kpi_in.owner)
    if "objective_id" in fields:
        _check_objective(session, fields["objective_id"])
    for name, value in fields.items():
        if value is None and name != "objective_id":
            continue
        setattr(kpi, name, value)
    version: KpiVersion | None = None
    if kpi_in.definition is not None:
        if not kpi_in.effective_from:
            raise InvalidInput(
                _("Say from which period the new definition applies, e.g. 2026-Q3."),
                field="effective_from",
            )
        definition = kpi_in.definition
        if kpi.source == KpiSource.METRIC and not definition.formula:
            definition = definition.model_copy(update={"formula": kpi.code})
        _check_definition(kpi.source, definition)
        starts = effective_date(kpi_in.effective_from)
        version = session.scalar(
            select(KpiVersion).where(
                KpiVersion.kpi_id == kpi.id, KpiVersion.effective_from == starts
            )
        )
        if version is None:
            version = KpiVersion(kpi_id=kpi.id, effective_from=starts)
            session.add(version)
        for name, value in definition.model_dump().items():
            setattr(version, name, value)
        version.created_by = actor.label
    audit.record(
        session,
        actor=actor.user,
        action="update",
        entity="kpi",
        entity_id=kpi.code,
        before=before,
        after={
            **_snapshot(kpi),
            **(
                {"version_from": str(version.effective_from), **kpi_in.definition.model_dump()}
                if version is not None and kpi_in.definition is not None
                else {}
            ),
        },
    )
    session.flush()
    if version is not None:
        recompute_from(session, version.effective_from)
    elif before["status"] != kpi.status and kpi.status == "active":
        recompute_from(session, BEGINNING)
    return version

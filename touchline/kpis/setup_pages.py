"""HTML routes where leaders and managers shape the KPIs: the catalogue and its editor,
objectives, governance, and scorecard templates with their targets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from touchline.auth.models import Role, User
from touchline.config import LANGUAGES
from touchline.deps import Db, LeaderUp, ManagerUp, SignedIn
from touchline.errors import DomainError, InvalidInput
from touchline.i18n import gettext as _
from touchline.i18n import ngettext
from touchline.kpis import assignments, catalogue, objectives
from touchline.kpis.governance import governance_report, template_checks
from touchline.kpis.metrics import METRICS
from touchline.kpis.models import Kpi, KpiSource, KpiStatus, Objective, TimeAggregation
from touchline.kpis.schemas import KpiCreate, KpiDefinition, KpiUpdate
from touchline.kpis.scorecards import LEVELS, level_label, max_card_kpis
from touchline.kpis.service import chosen_period, form_int, form_number, period_choices
from touchline.org import service as org
from touchline.web.exports import Cell, Table, table_response, wants_download
from touchline.web.templating import render

router = APIRouter()


@dataclass(frozen=True)
class CatalogueRow:
    kpi: Kpi
    name: str
    description: str
    rule: str
    owner: str | None


VERSION_COLUMNS = [
    "effective_from",
    "formula",
    "target",
    "green_from",
    "amber_from",
    "decision_threshold",
    "decision_rule",
    "created_by",
]
CATALOGUE_COLUMNS = [
    "code",
    "name",
    "level",
    "kind",
    "source",
    "direction",
    "unit",
    "status",
    "objective_id",
    "owner",
    "decision_rule",
    "description",
]


@router.get("/kpis")
def kpi_catalogue(request: Request, db: Db, actor: SignedIn, format: str | None = None) -> Response:
    kpis = catalogue.list_kpis(db, actor=actor)
    versions = catalogue.Versions.load(db)
    owners = dict(db.execute(select(User.id, User.email)).all())
    rows = [
        CatalogueRow(
            kpi=kpi,
            name=catalogue.display_name(kpi),
            description=catalogue.display_description(kpi),
            rule=catalogue.display_rule(versions.of(kpi.id)[-1]),
            owner=owners.get(kpi.owner_id) if kpi.owner_id else None,
        )
        for kpi in kpis
    ]
    if wants_download(format):
        table = Table(
            _("KPI catalogue"),
            CATALOGUE_COLUMNS,
            [
                [
                    row.kpi.code,
                    row.name,
                    row.kpi.level,
                    row.kpi.kind,
                    row.kpi.source,
                    row.kpi.direction,
                    row.kpi.unit,
                    row.kpi.status,
                    row.kpi.objective_id,
                    row.owner,
                    row.rule,
                    row.description,
                ]
                for row in rows
            ],
        )
        return table_response(table, filename="kpi-catalogue", format=str(format))
    context = {"rows": rows, "level_label": level_label, "may_add": actor.at_least(Role.LEADER)}
    return render(request, "kpis/catalogue.html", context)


def _objectives_context(db: Db, actor: SignedIn, period: str | None) -> dict[str, object]:
    chosen = chosen_period(period)
    empty: list[Objective] = []
    loose: list[Kpi] = []
    if actor.at_least(Role.MANAGER):
        empty, loose = objectives.alignment(db, actor=actor)
    return {
        "roots": objectives.objective_tree(db, actor=actor, period=chosen),
        "period": chosen,
        "periods": period_choices(chosen),
        "empty": empty,
        "loose": [(kpi, catalogue.display_name(kpi)) for kpi in loose],
        "all_objectives": list(db.scalars(select(Objective).order_by(Objective.title))),
        "units": org.list_units(db, actor=actor),
        "may_add": actor.at_least(Role.MANAGER),
        "may_link": actor.at_least(Role.LEADER),
    }


@router.get("/objectives")
def objectives_page(
    request: Request, db: Db, actor: SignedIn, period: str | None = None
) -> Response:
    return render(request, "kpis/objectives.html", _objectives_context(db, actor, period))


@router.post("/objectives")
def objectives_add(
    request: Request,
    db: Db,
    actor: ManagerUp,
    title: Annotated[str, Form()],
    description: Annotated[str, Form()] = "",
    parent: Annotated[str, Form()] = "",
    unit: Annotated[str, Form()] = "",
    seller: Annotated[str, Form()] = "",
    weight: Annotated[str, Form()] = "1",
) -> Response:
    try:
        with db.begin_nested():
            created = objectives.create_objective(
                db,
                actor=actor,
                title=title,
                description=description,
                parent_id=form_int(parent, "parent"),
                unit=org.get_unit(db, actor=actor, external_id=unit) if unit else None,
                seller=org.get_seller(db, actor=actor, external_id=seller) if seller else None,
                weight=form_number(weight, "weight") or 1.0,
            )
    except DomainError as error:
        context = _objectives_context(db, actor, None) | {
            "form_error": error.message,
            "form": {"title": title, "description": description, "weight": weight},
        }
        return render(request, "kpis/objectives.html", context, status_code=error.status_code)
    context = _objectives_context(db, actor, None) | {
        "flash": _("Objective %(title)s added.", title=created.title)
    }
    return render(request, "kpis/objectives.html", context)


@router.post("/kpis/{code}/objective")
def kpi_link(
    db: Db, actor: LeaderUp, code: str, objective: Annotated[str, Form()] = ""
) -> Response:
    kpi = catalogue.get_kpi(db, code)
    target = objectives.get_objective(db, int(objective)) if objective.isdigit() else None
    objectives.link_kpi(db, actor=actor, kpi=kpi, objective=target)
    return RedirectResponse("/objectives", status_code=303)


@router.get("/governance")
def governance_page(
    request: Request, db: Db, actor: LeaderUp, format: str | None = None
) -> Response:
    report = governance_report(db, actor=actor)
    if wants_download(format):
        findings: list[list[Cell]] = []
        for check in report.templates:
            if check.too_many:
                findings.append([check.template.name, "too_many_kpis", str(check.active_kpis)])
            if check.weights_off:
                findings.append([check.template.name, "weights", f"{check.weight_total:g}"])
            findings += [[check.template.name, "missing_level", m] for m in check.missing_levels]
        findings += [["", "no_decision_rule", kpi.code] for kpi, _name in report.without_rule]
        findings += [["", "no_objective", kpi.code] for kpi, _name in report.without_objective]
        findings += [
            [item.seller.external_id, "imposed", f"{item.kpi_name} ({item.by})"]
            for item in report.imposed
        ]
        findings += [
            ["", "only_statistics", f"{kpi.code} ({finding.evidence})"]
            for kpi, _name, finding in report.only_statistics
        ]
        table = Table(_("Governance"), ["where", "finding", "what"], findings)
        return table_response(table, filename="governance", format=str(format))
    return render(request, "kpis/governance.html", {"report": report, "level_label": level_label})


def _kpi_form_context(db: Db, kpi: Kpi | None) -> dict[str, object]:
    read = catalogue.read_kpi(db, kpi) if kpi else None
    return {
        "kpi": kpi,
        "read": read,
        # Translated here: a rule's "%" would trip the template's gettext formatting.
        "rules": [_(v.decision_rule) if v.decision_rule else "" for v in read.versions]
        if read
        else [],
        "metrics": sorted(METRICS),
        "levels": [(str(level), level_label(level)) for level in LEVELS],
        "objectives": list(db.scalars(select(Objective).order_by(Objective.title))),
        "other_languages": [(code, name) for code, name in LANGUAGES.items() if code != "en"],
        "sources": [
            (KpiSource.EXPRESSION.value, _("a formula over the metrics")),
            (KpiSource.RATING.value, _("ratings on a scale")),
            (KpiSource.MANUAL.value, _("entered by hand")),
        ],
        "aggregations": [
            (TimeAggregation.SUM.value, _("the sum of its shorter periods")),
            (TimeAggregation.MEAN.value, _("the mean of its shorter periods")),
            (TimeAggregation.LAST.value, _("the latest value")),
        ],
        "statuses": [
            (KpiStatus.ACTIVE.value, _("active")),
            (KpiStatus.DRAFT.value, _("draft")),
            (KpiStatus.RETIRED.value, _("retired")),
        ],
        "units": ["number", "ratio", "money", "count", "hours", "days", "score"],
        "rater_roles": [
            ("self", _("Self")),
            ("manager", _("Manager")),
            ("peer", _("Peers")),
            ("customer", _("Customers")),
            ("mystery_shopper", _("Mystery shoppers")),
        ],
        "owner_email": db.scalar(select(User.email).where(User.id == kpi.owner_id))
        if kpi is not None and kpi.owner_id
        else None,
    }


_LANGUAGE_FIELDS = {f"{field}_{code}" for code in LANGUAGES for field in ("name", "description")}


@router.get("/kpis/new")
def kpi_new(request: Request, db: Db, actor: LeaderUp) -> Response:
    return render(request, "kpis/kpi_form.html", _kpi_form_context(db, None))


@router.post("/kpis/new")
async def kpi_create(
    request: Request,
    db: Db,
    actor: LeaderUp,
    code: Annotated[str, Form()],
    name: Annotated[str, Form()],
    level: Annotated[str, Form()],
    formula: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    direction: Annotated[str, Form()] = "higher",
    unit: Annotated[str, Form()] = "number",
    decimals: Annotated[str, Form()] = "1",
    target: Annotated[str, Form()] = "",
    decision_threshold: Annotated[str, Form()] = "",
    decision_rule: Annotated[str, Form()] = "",
    source: Annotated[str, Form()] = "expression",
    kind: Annotated[str, Form()] = "hard",
    time_aggregation: Annotated[str, Form()] = "sum",
    status: Annotated[str, Form()] = "active",
    objective_id: Annotated[str, Form()] = "",
    owner: Annotated[str, Form()] = "",
) -> Response:
    form = {
        "code": code,
        "name": name,
        "level": level,
        "formula": formula,
        "description": description,
        "direction": direction,
        "unit": unit,
        "decimals": decimals,
        "target": target,
        "decision_threshold": decision_threshold,
        "decision_rule": decision_rule,
        "source": source,
        "kind": kind,
        "time_aggregation": time_aggregation,
        "status": status,
        "objective_id": objective_id,
        "owner": owner,
    }
    submitted = await request.form()
    texts: dict[str, dict[str, str]] = {}
    for code in LANGUAGES:
        if code == "en":
            continue
        name_text = str(submitted.get(f"name_{code}", "")).strip()
        description_text = str(submitted.get(f"description_{code}", "")).strip()
        form[f"name_{code}"], form[f"description_{code}"] = name_text, description_text
        if name_text:
            texts[code] = {"name": name_text, "description": description_text}
    try:
        with db.begin_nested():
            kpi_in = KpiCreate.model_validate(
                {
                    **{
                        k: v for k, v in form.items() if not k.startswith(("name_", "description_"))
                    },
                    "decimals": form_int(decimals, "decimals") or 0,
                    "target": form_number(target, "target"),
                    "decision_threshold": form_number(decision_threshold, "decision_threshold"),
                    "objective_id": form_int(objective_id, "objective_id"),
                    "owner": owner.strip() or None,
                    "translations": texts,
                }
            )
            created = catalogue.create_kpi(db, actor=actor, kpi_in=kpi_in)
    except (DomainError, ValidationError) as error:
        message = error.message if isinstance(error, DomainError) else _validation_text(error)
        context = _kpi_form_context(db, None) | {"form_error": message, "form": form}
        return render(request, "kpis/kpi_form.html", context, status_code=422)
    return RedirectResponse(f"/kpis/{created.code}", status_code=303)


@router.get("/kpis/{code}")
def kpi_detail(
    request: Request, db: Db, actor: SignedIn, code: str, format: str | None = None
) -> Response:
    kpi = catalogue.get_kpi(db, code)
    context = _kpi_form_context(db, kpi) | {
        "name": catalogue.display_name(kpi),
        "description": catalogue.display_description(kpi),
        "may_edit": actor.at_least(Role.LEADER),
        "level_label": level_label,
    }
    if wants_download(format):
        read = catalogue.read_kpi(db, kpi)
        table = Table(
            kpi.code,
            [
                "effective_from",
                "formula",
                "target",
                "green_from",
                "amber_from",
                "decision_threshold",
                "decision_rule",
                "created_by",
            ],
            [
                [
                    version.effective_from,
                    version.formula,
                    version.target,
                    version.green_from,
                    version.amber_from,
                    version.decision_threshold,
                    version.decision_rule,
                    version.created_by,
                ]
                for version in read.versions
            ],
        )
        return table_response(table, filename=f"kpi-{kpi.code}-versions", format=str(format))
    return render(request, "kpis/kpi.html", context)


@router.post("/kpis/{code}/details")
async def kpi_details(request: Request, db: Db, actor: LeaderUp, code: str) -> Response:
    """Change what describes a KPI (not its definition: that takes a new version)."""
    kpi = catalogue.get_kpi(db, code)
    form = await request.form()

    def field(name: str) -> str:
        value = form.get(name, "")
        return value.strip() if isinstance(value, str) else ""

    texts = {
        language: {
            "name": field(f"name_{language}"),
            "description": field(f"description_{language}"),
        }
        for language in LANGUAGES
        if language != "en" and field(f"name_{language}")
    }
    try:
        with db.begin_nested():
            changes: dict[str, object] = {
                "name": field("name") or None,
                "description": field("description"),
                "level": field("level") or None,
                "kind": field("kind") or None,
                "direction": field("direction") or None,
                "unit": field("unit") or None,
                "decimals": form_int(field("decimals"), "decimals"),
                "time_aggregation": field("time_aggregation") or None,
                "status": field("status") or None,
                "objective_id": form_int(field("objective_id"), "objective_id"),
                "owner": field("owner") or None,
            }
            if not kpi.builtin:
                changes["translations"] = texts
            catalogue.update_kpi(db, actor=actor, kpi=kpi, kpi_in=KpiUpdate.model_validate(changes))
    except (DomainError, ValidationError) as error:
        message = error.message if isinstance(error, DomainError) else _validation_text(error)
        context = _kpi_form_context(db, kpi) | {
            "name": catalogue.display_name(kpi),
            "description": catalogue.display_description(kpi),
            "may_edit": True,
            "level_label": level_label,
            "form_error": message,
        }
        return render(request, "kpis/kpi.html", context, status_code=422)
    return RedirectResponse(f"/kpis/{kpi.code}", status_code=303)


@router.post("/kpis/{code}")
async def kpi_new_version(
    request: Request,
    db: Db,
    actor: LeaderUp,
    code: str,
    effective_from: Annotated[str, Form()],
    formula: Annotated[str, Form()] = "",
    target: Annotated[str, Form()] = "",
    green_from: Annotated[str, Form()] = "100",
    amber_from: Annotated[str, Form()] = "85",
    decision_threshold: Annotated[str, Form()] = "",
    decision_rule: Annotated[str, Form()] = "",
) -> Response:
    kpi = catalogue.get_kpi(db, code)
    form = await request.form()
    try:
        with db.begin_nested():
            weights: dict[str, float] = {}
            for role in catalogue.RATER_ROLES:
                text = form.get(f"weight_{role}", "")
                number = form_number(text if isinstance(text, str) else "", f"weight_{role}")
                if number:
                    weights[role] = number
            definition = KpiDefinition(
                formula=formula,
                target=form_number(target, "target"),
                green_from=form_number(green_from, "green_from") or 100.0,
                amber_from=form_number(amber_from, "amber_from") or 0.0,
                decision_threshold=form_number(decision_threshold, "decision_threshold"),
                decision_rule=decision_rule,
                rater_weights=weights or None,
            )
            catalogue.update_kpi(
                db,
                actor=actor,
                kpi=kpi,
                kpi_in=KpiUpdate(definition=definition, effective_from=effective_from),
            )
    except (DomainError, ValidationError) as error:
        message = error.message if isinstance(error, DomainError) else _validation_text(error)
        context = _kpi_form_context(db, kpi) | {
            "name": catalogue.display_name(kpi),
            "description": catalogue.display_description(kpi),
            "may_edit": True,
            "level_label": level_label,
            "form_error": message,
        }
        return render(request, "kpis/kpi.html", context, status_code=422)
    return RedirectResponse(f"/kpis/{kpi.code}", status_code=303)


def _validation_text(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}"


def _templates_context(db: Db, actor: SignedIn) -> dict[str, object]:
    checks = template_checks(db)
    kpis = catalogue.list_kpis(db, actor=actor, include_retired=False)
    lines = assignments.template_lines(db)
    assigned = assignments.assignment_labels(db)
    return {
        "templates": [
            {
                "check": check,
                "lines": lines.get(check.template.id, []),
                "assigned": assigned.get(check.template.id, []),
            }
            for check in checks
        ],
        "kpis": [(kpi, catalogue.display_name(kpi)) for kpi in kpis],
        "kpi_names": {kpi.id: catalogue.display_name(kpi) for kpi in kpis},
        "units": org.list_units(db, actor=actor),
        "may_edit": actor.at_least(Role.LEADER),
        "limit": max_card_kpis(),
        "level_label": level_label,
        "running_quarter": chosen_period(None).label,
    }


@router.get("/scorecards")
def templates_page(request: Request, db: Db, actor: ManagerUp) -> Response:
    return render(request, "kpis/templates.html", _templates_context(db, actor))


def _template_done(request: Request, db: Db, actor: ManagerUp, work: Callable[[], str]) -> Response:
    try:
        with db.begin_nested():
            flash = work()
    except DomainError as error:
        context = _templates_context(db, actor) | {"form_error": error.message}
        return render(request, "kpis/templates.html", context, status_code=error.status_code)
    return render(request, "kpis/templates.html", _templates_context(db, actor) | {"flash": flash})


@router.post("/scorecards")
async def templates_save(request: Request, db: Db, actor: LeaderUp) -> Response:
    form = await request.form()

    def field(name: str) -> str:
        value = form.get(name, "")
        return value if isinstance(value, str) else ""

    def work() -> str:
        specs = []
        for row in range(form_int(field("rows"), "rows") or 0):
            code = field(f"kpi_{row}")
            if not code:
                continue
            specs.append(
                assignments.LineSpec(
                    code,
                    form_number(field(f"weight_{row}"), "weight") or 0.0,
                    form_number(field(f"target_{row}"), "target"),
                    form_number(field(f"green_{row}"), "green_from"),
                    form_number(field(f"amber_{row}"), "amber_from"),
                )
            )
        template = assignments.save_template(db, actor=actor, name=field("name"), lines=specs)
        return _("Template %(name)s saved.", name=template.name)

    return _template_done(request, db, actor, work)


@router.post("/scorecards/assign")
def templates_assign(
    request: Request,
    db: Db,
    actor: ManagerUp,
    template: Annotated[str, Form()],
    unit: Annotated[str, Form()] = "",
    seller: Annotated[str, Form()] = "",
) -> Response:
    def work() -> str:
        chosen = assignments.get_template(db, template)
        assignments.assign_template(
            db,
            actor=actor,
            template=chosen,
            unit=org.get_unit(db, actor=actor, external_id=unit) if unit else None,
            seller=org.get_seller(db, actor=actor, external_id=seller.strip())
            if seller.strip()
            else None,
        )
        return _("Template %(name)s assigned.", name=chosen.name)

    return _template_done(request, db, actor, work)


@router.post("/scorecards/targets")
def templates_targets(
    request: Request,
    db: Db,
    actor: ManagerUp,
    unit: Annotated[str, Form()],
    kpi: Annotated[str, Form()],
    target: Annotated[str, Form()],
    effective_from: Annotated[str, Form()] = "",
) -> Response:
    def work() -> str:
        value = form_number(target, "target")
        if value is None:
            raise InvalidInput(_("Enter a target."), field="target")
        count = assignments.set_unit_targets(
            db,
            actor=actor,
            unit=org.get_unit(db, actor=actor, external_id=unit),
            kpi_code=kpi,
            target=value,
            effective_from=effective_from.strip() or None,
        )
        return ngettext("Target set for %(num)s seller.", "Target set for %(num)s sellers.", count)

    return _template_done(request, db, actor, work)

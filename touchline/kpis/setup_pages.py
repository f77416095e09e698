"""HTML routes where leaders and managers shape the KPIs: the catalogue and its editor,
objectives, governance, and scorecard templates with their targets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from touchline.auth.models import Role
from touchline.config import LANGUAGES
from touchline.deps import Db, LeaderUp, ManagerUp, SignedIn
from touchline.errors import DomainError, InvalidInput
from touchline.i18n import gettext as _
from touchline.i18n import ngettext
from touchline.kpis import assignments, catalogue, objectives
from touchline.kpis.governance import governance_report, template_checks
from touchline.kpis.metrics import METRICS
from touchline.kpis.models import Kpi, Objective
from touchline.kpis.schemas import KpiCreate, KpiDefinition, KpiUpdate
from touchline.kpis.scorecards import LEVELS, MAX_ACTIVE_KPIS, level_label
from touchline.kpis.service import chosen_period, form_int, form_number, period_choices
from touchline.org import service as org
from touchline.web.templating import render

router = APIRouter()


@router.get("/kpis")
def kpi_catalogue(request: Request, db: Db, actor: SignedIn) -> Response:
    kpis = catalogue.list_kpis(db, actor=actor)
    versions = catalogue.Versions.load(db)
    rows = [
        {
            "kpi": kpi,
            "name": catalogue.display_name(kpi),
            "description": catalogue.display_description(kpi),
            "rule": catalogue.display_rule(versions.of(kpi.id)[-1]),
        }
        for kpi in kpis
    ]
    return render(request, "kpis/catalogue.html", {"rows": rows, "level_label": level_label})


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
def governance_page(request: Request, db: Db, actor: LeaderUp) -> Response:
    report = governance_report(db, actor=actor)
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
    formula: Annotated[str, Form()],
    description: Annotated[str, Form()] = "",
    direction: Annotated[str, Form()] = "higher",
    unit: Annotated[str, Form()] = "number",
    decimals: Annotated[str, Form()] = "1",
    target: Annotated[str, Form()] = "",
    decision_threshold: Annotated[str, Form()] = "",
    decision_rule: Annotated[str, Form()] = "",
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
def kpi_detail(request: Request, db: Db, actor: SignedIn, code: str) -> Response:
    kpi = catalogue.get_kpi(db, code)
    context = _kpi_form_context(db, kpi) | {
        "name": catalogue.display_name(kpi),
        "description": catalogue.display_description(kpi),
        "may_edit": actor.at_least(Role.LEADER),
        "level_label": level_label,
    }
    return render(request, "kpis/kpi.html", context)


@router.post("/kpis/{code}")
def kpi_new_version(
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
    try:
        with db.begin_nested():
            definition = KpiDefinition(
                formula=formula,
                target=form_number(target, "target"),
                green_from=form_number(green_from, "green_from") or 100.0,
                amber_from=form_number(amber_from, "amber_from") or 0.0,
                decision_threshold=form_number(decision_threshold, "decision_threshold"),
                decision_rule=decision_rule,
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
        "limit": MAX_ACTIVE_KPIS,
        "level_label": level_label,
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
        )
        return ngettext("Target set for %(num)s seller.", "Target set for %(num)s sellers.", count)

    return _template_done(request, db, actor, work)

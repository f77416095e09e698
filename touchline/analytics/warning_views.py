"""The stored early warnings as a viewer may see them: for the page, the API, the
dashboard parts and the coaching agenda (source "warning").

A manager sees the warnings of the sellers in their units and of the teams they manage;
a seller their own lines only; leaders everyone. The payload is read, never recomputed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from touchline.analytics.warning_cache import read_payload
from touchline.analytics.warnings import KEY
from touchline.auth.policy import Actor
from touchline.coaching.agenda import (
    AgendaContext,
    AgendaSource,
    Described,
    Proposal,
    register_source,
)
from touchline.coaching.models import AgendaItem
from touchline.errors import InvalidInput, NotFound
from touchline.i18n import gettext as _
from touchline.kpis.catalogue import display_name
from touchline.kpis.display import format_kpi_value
from touchline.kpis.models import Kpi
from touchline.org.models import Seller
from touchline.org.periods import Period
from touchline.web.exports import Table


@dataclass(frozen=True)
class WarningRow:
    """One warning as a person reads it."""

    kind: str  # pace, trend or energy
    severity: str  # red, amber or trend
    subject: str  # seller or unit
    seller: dict[str, Any] | None
    unit: dict[str, Any]
    kpi: Kpi | None
    line: dict[str, Any]
    rule: str

    @property
    def kpi_name(self) -> str:
        return display_name(self.kpi) if self.kpi is not None else ""

    def value(self, key: str) -> str:
        """Return the line's value ``key`` formatted for the KPI."""
        found = self.line.get(key)
        if found is None or self.kpi is None:
            return "–"
        return format_kpi_value(float(found), self.kpi)


@dataclass
class WarningsView:
    """The warnings of a period as far as the viewer reaches."""

    period: Period
    computed: bool
    as_of: str | None = None
    fraction: float = 0.0
    status: str = ""
    confidence: float = 0.95
    energy_confidence: float = 0.9
    rows: list[WarningRow] = field(default_factory=list)
    teams: list[dict[str, Any]] = field(default_factory=list)
    kpis: dict[str, Kpi] = field(default_factory=dict)

    def of_unit(self, external_id: str | None) -> WarningsView:
        """Return the view narrowed to one unit's warnings (all without ``external_id``);
        refuses a unit with no warnings the viewer may see, naming the field."""
        if not external_id:
            return self
        rows = [row for row in self.rows if row.unit["external_id"] == external_id]
        teams = [team for team in self.teams if team["external_id"] == external_id]
        if not rows and not teams:
            raise InvalidInput(
                _("No unit %(id)s with warnings that you may see.", id=repr(external_id)),
                field="unit",
            )
        return WarningsView(
            self.period,
            self.computed,
            self.as_of,
            self.fraction,
            self.status,
            self.confidence,
            self.energy_confidence,
            rows,
            teams,
            self.kpis,
        )

    def summary(self) -> list[dict[str, Any]]:
        """Return per unit how many warnings of each kind it has, units by name."""
        found: dict[str, dict[str, Any]] = {}
        for row in self.rows:
            unit = found.setdefault(
                row.unit["external_id"],
                {**row.unit, "pace": 0, "trend": 0, "energy": 0, "red": 0},
            )
            unit[row.kind] += 1
            unit["red"] += int(row.severity == "red")
        return sorted(found.values(), key=lambda unit: str(unit["name"]))

    def by_unit(
        self, rows: list[WarningRow] | None = None
    ) -> list[tuple[dict[str, Any], list[WarningRow]]]:
        """Return the rows (all, or ``rows``) grouped by unit, units by name."""
        grouped: dict[str, tuple[dict[str, Any], list[WarningRow]]] = {}
        for row in self.rows if rows is None else rows:
            grouped.setdefault(row.unit["external_id"], (row.unit, []))[1].append(row)
        return sorted(grouped.values(), key=lambda item: str(item[0]["name"]))


def rule_of(payload: dict[str, Any], kind: str, kpi: str | None) -> str:
    """Return the decision rule (as stored, untranslated) of a warning of ``kind`` on
    ``kpi``: the energy KPI's for an energy warning."""
    if kind == "energy":
        return str(payload.get("energy_rule") or "")
    return str(payload.get("kpis", {}).get(kpi or "", {}).get("rule") or "")


def _translated(rule: str) -> str:
    return _(rule) if rule else ""


def _kpis(session: Session, codes: set[str]) -> dict[str, Kpi]:
    if not codes:
        return {}
    return {kpi.code: kpi for kpi in session.scalars(select(Kpi).where(Kpi.code.in_(codes)))}


def visible_seller_ids(session: Session, actor: Actor) -> set[int]:
    """Return the ids of the sellers the visibility policy lets ``actor`` see."""
    return set(session.scalars(select(Seller.id).where(actor.sellers_clause())))


def warnings_view(session: Session, *, actor: Actor, period: Period) -> WarningsView:
    """Return the stored warnings of ``period`` that ``actor`` may see (computed False
    before the analyses of the period were run)."""
    payload = read_payload(session, period, KEY)
    if payload is None:
        return WarningsView(period, computed=False)
    sellers = visible_seller_ids(session, actor)
    units = payload.get("units", {})
    energy = payload.get("energy", {})
    kpis = _kpis(session, set(payload.get("kpis", {})))
    unit_names = {
        int(unit_id): {"id": int(unit_id), "external_id": u["external_id"], "name": u["name"]}
        for unit_id, u in {**energy, **units}.items()
    }
    rows: list[WarningRow] = []
    for warning in payload.get("warnings", []):
        unit_id = int(warning["unit_id"])
        if warning["subject"] == "seller":
            seller_id = int(warning["seller_id"])
            if seller_id not in sellers:
                continue
            entry = payload["sellers"][str(seller_id)]
            seller = {
                "id": seller_id,
                "external_id": entry["external_id"],
                "name": entry["name"],
            }
            unit = unit_names.get(
                unit_id,
                {
                    "id": unit_id,
                    "external_id": entry.get("unit_external_id", ""),
                    "name": entry.get("unit", ""),
                },
            )
            line = entry["lines"][warning["line"]]
        else:
            if not actor.can_manage_unit(unit_id):
                continue
            seller = None
            unit = unit_names[unit_id]
            if warning["kind"] == "energy":
                line = energy[str(unit_id)]
            else:
                line = units[str(unit_id)]["lines"][warning["line"]]
        rows.append(
            WarningRow(
                kind=warning["kind"],
                severity=warning["severity"],
                subject=warning["subject"],
                seller=seller,
                unit=unit,
                kpi=kpis.get(warning["kpi"]),
                line=line,
                rule=_translated(rule_of(payload, warning["kind"], warning["kpi"])),
            )
        )
    teams = [
        {**team, "id": int(unit_id)}
        for unit_id, team in energy.items()
        if actor.can_manage_unit(int(unit_id))
    ]
    return WarningsView(
        period,
        computed=True,
        as_of=payload.get("as_of"),
        fraction=float(payload.get("fraction", 0.0)),
        status=str(payload.get("status", "")),
        confidence=float(payload.get("confidence", 0.95)),
        energy_confidence=float(payload.get("energy_confidence", 0.9)),
        rows=rows,
        teams=sorted(teams, key=lambda team: (not team["warned"], team["name"])),
        kpis=kpis,
    )


@dataclass
class SellerPace:
    """A seller's card lines with pace and trend, for their dashboard and page."""

    period: Period
    computed: bool
    as_of: str | None = None
    confidence: float = 0.95
    # Per KPI: the KPI, its line of the payload, its decision rule in the reader's language.
    lines: list[tuple[Kpi, dict[str, Any], str]] = field(default_factory=list)


def seller_pace(session: Session, *, actor: Actor, seller: Seller, period: Period) -> SellerPace:
    """Return the pace and trend of each KPI on ``seller``'s card; refuses a seller the
    actor may not see."""
    if not actor.can_see_seller(seller):
        raise NotFound(_("There is no seller %(id)s that you may see.", id=seller.external_id))
    payload = read_payload(session, period, KEY)
    if payload is None:
        return SellerPace(period, computed=False)
    entry = payload.get("sellers", {}).get(str(seller.id))
    lines = entry["lines"] if entry else []
    kpis = _kpis(session, {line["kpi"] for line in lines})
    return SellerPace(
        period,
        computed=True,
        as_of=payload.get("as_of"),
        confidence=float(payload.get("confidence", 0.95)),
        lines=[
            (kpis[line["kpi"]], line, _translated(rule_of(payload, "pace", line["kpi"])))
            for line in lines
            if line["kpi"] in kpis
        ],
    )


def kind_label(kind: str) -> str:
    """Return the translated name of a kind of warning."""
    return {
        "pace": _("Off pace"),
        "trend": _("Falling trend"),
        "energy": _("Energy falls while targets rise"),
    }.get(kind, kind)


def method_label(method: str) -> str:
    """Return the translated name of how a pace was learned."""
    return {
        "seller": _("seasonal, the seller's own history"),
        "unit": _("seasonal, the team's history"),
        "linear": _("linear, no history"),
        "level": _("value to date"),
    }.get(method, method)


def warnings_table(view: WarningsView) -> Table:
    """Return the warnings as a download: one row per warning, numbers unrounded."""
    rows = []
    for row in view.rows:
        line = row.line
        rows.append(
            [
                row.kind,
                row.severity,
                row.unit["external_id"],
                row.unit["name"],
                row.seller["external_id"] if row.seller else None,
                row.seller["name"] if row.seller else None,
                row.kpi.code if row.kpi else None,
                line.get("actual"),
                line.get("target"),
                line.get("share"),
                line.get("method"),
                line.get("projection"),
                line.get("projected_attainment"),
                line.get("slope"),
                line.get("low"),
                line.get("high"),
                line.get("periods") if row.kind != "energy" else len(line.get("weeks", [])),
                line.get("target_change"),
                row.rule,
            ]
        )
    return Table(
        _("Early warnings"),
        [
            "kind",
            "severity",
            "unit",
            "unit_name",
            "seller",
            "seller_name",
            "kpi",
            "actual",
            "target",
            "share_by_now",
            "pace_method",
            "projection",
            "projected_attainment",
            "slope",
            "slope_low",
            "slope_high",
            "periods_or_weeks",
            "target_change",
            "decision_rule",
        ],
        rows,
    )


# --- the coaching agenda's source "warning" ---------------------------------------------


def _propose(context: AgendaContext) -> list[Proposal]:
    """Propose the seller's warnings of the agenda's quarter: every falling trend, and an
    off-pace projection when the card does not already list the KPI as off track."""
    payload = read_payload(context.session, context.period, KEY)
    if payload is None:
        return []
    entry = payload.get("sellers", {}).get(str(context.seller.id))
    if entry is None:
        return []
    off_track = {line.kpi.code for line in context.card.lines if line.off_track}
    kpi_ids = {code: facts["id"] for code, facts in payload.get("kpis", {}).items()}
    found = []
    for line in entry["lines"]:
        base = {
            "kpi": line["kpi"],
            "period": payload["period"],
            "as_of": payload.get("as_of"),
            "period_end": payload.get("period_end"),
            "rule": rule_of(payload, "pace", line["kpi"]),
        }
        if line["off_pace"] and line["kpi"] not in off_track:
            facts = {
                **base,
                "kind": "pace",
                "projection": line["projection"],
                "target": line["target"],
                "projected_attainment": line["projected_attainment"],
            }
            found.append(Proposal("warning", facts, kpi_id=kpi_ids.get(line["kpi"])))
        if line["falling"]:
            facts = {
                **base,
                "kind": "trend",
                "slope": line["slope"],
                "low": line["low"],
                "high": line["high"],
                "periods": line["periods"],
                "confidence": payload.get("confidence", 0.95),
            }
            found.append(Proposal("warning", facts, kpi_id=kpi_ids.get(line["kpi"])))
    return found


def _shown(value: Any, kpi: Kpi | None) -> str:
    if not isinstance(value, int | float) or kpi is None:
        return "–"
    return format_kpi_value(float(value), kpi)


def _describe(item: AgendaItem, kpi: Kpi | None) -> Described:
    facts = item.facts
    name = display_name(kpi) if kpi is not None else str(facts.get("kpi", ""))
    rule = str(facts.get("rule") or "")
    detail = _("Decision rule: %(rule)s", rule=_(rule)) if rule else ""
    if facts.get("kind") == "trend":
        title = _(
            "Early warning: %(kpi)s has fallen over %(periods)s periods, %(slope)s per "
            "period (%(confidence)s %% interval %(low)s to %(high)s)",
            kpi=name,
            periods=facts.get("periods", ""),
            slope=_shown(facts.get("slope"), kpi),
            low=_shown(facts.get("low"), kpi),
            high=_shown(facts.get("high"), kpi),
            confidence=f"{float(facts.get('confidence', 0.95)) * 100:.0f}",
        )
        return Described(title, detail)
    attained = facts.get("projected_attainment")
    title = _(
        "Early warning: %(kpi)s is on pace for %(projection)s by %(end)s against a target "
        "of %(target)s (%(share)s %%)",
        kpi=name,
        projection=_shown(facts.get("projection"), kpi),
        end=facts.get("period_end", ""),
        target=_shown(facts.get("target"), kpi),
        share=f"{attained:.0f}" if isinstance(attained, int | float) else "–",
    )
    return Described(title, detail)


register_source(AgendaSource(key="warning", order=15, propose=_propose, describe=_describe))

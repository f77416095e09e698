"""Rating scales and their behavioural anchors: what each point of a soft KPI looks like.

A soft KPI becomes measurable when every point of its scale describes behaviour a rater
can recognise ("3: handles common objections with prepared answers"). Touchline ships a
1-5, a 0-10 and a percentage scale, and anchors for every built-in soft KPI; leaders
change the anchors and give their own rated KPIs a scale.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from touchline.audit import service as audit
from touchline.auth.models import Role
from touchline.auth.policy import Actor
from touchline.config import LANGUAGES
from touchline.errors import InvalidInput, NotFound
from touchline.i18n import _l, current_language
from touchline.i18n import gettext as _
from touchline.kpis.builtin import BUILTIN_KPIS, PULSE_FIELD
from touchline.kpis.catalogue import get_kpi, sync_builtin_kpis
from touchline.kpis.models import Kpi, KpiSource
from touchline.ratings.models import KpiScale, RatingScale, ScaleAnchor


@dataclass(frozen=True)
class BuiltinScale:
    code: str
    name: str
    minimum: float
    maximum: float
    step: float


SCALES = (
    BuiltinScale("one_to_five", _l("1 to 5"), 1.0, 5.0, 1.0),
    BuiltinScale("zero_to_ten", _l("0 to 10"), 0.0, 10.0, 1.0),
    BuiltinScale("percentage", _l("Percentage"), 0.0, 100.0, 5.0),
)
DEFAULT_SCALE = "one_to_five"

# The anchors of the built-in soft KPIs on the 1-5 scale, from 1 to 5.
ANCHORS: dict[str, tuple[str, str, str, str, str]] = {
    "objection_handling": (
        _l("Argues with the customer or gives in at once."),
        _l("Answers objections, but defensively and without checking the concern."),
        _l("Handles common objections with prepared answers."),
        _l("Asks what lies behind an objection before answering it."),
        _l("Turns objections into discovery questions and moves the deal forward."),
    ),
    "needs_discovery": (
        _l("Presents products without asking about the customer's situation."),
        _l("Asks a few standard questions, then pitches."),
        _l("Uncovers the customer's main needs with open questions."),
        _l("Finds the business impact behind the needs and who decides."),
        _l("Helps the customer see needs they had not named, and agrees them in writing."),
    ),
    "first_impression": (
        _l("Unprepared, late or unclear about why the meeting takes place."),
        _l("Polite, but generic: little sign of preparation."),
        _l("Prepared, on time, clear purpose for the meeting."),
        _l("Shows knowledge of the customer's business in the first minutes."),
        _l("Earns trust at once: the customer opens up and wants to continue."),
    ),
    "collaboration": (
        _l("Keeps knowledge and leads to themself."),
        _l("Helps colleagues when asked, rarely on own initiative."),
        _l("Shares what works and hands over leads that fit others better."),
        _l("Seeks out colleagues to win deals together."),
        _l("Makes the team better: coaches others and spreads good practice."),
    ),
    "best_practice": (
        _l("Follows no agreed way of selling."),
        _l("Follows the sales method now and then."),
        _l("Follows the agreed steps in most deals."),
        _l("Follows the method consistently and records each step in the CRM."),
        _l("Improves the method and shows others how."),
    ),
    "product_knowledge": (
        _l("Cannot explain the main products."),
        _l("Knows the products' features, not their use at the customer."),
        _l("Explains how the products solve the customer's common problems."),
        _l("Matches products to unusual needs and knows the competitors."),
        _l("Is the team's reference: colleagues and customers ask for advice."),
    ),
    "foundation_tools": (
        _l("The tools get in the way of selling."),
        _l("The tools work, but cost a lot of time."),
        _l("The tools do what I need."),
        _l("The tools save me time every week."),
        _l("The tools make me better at selling."),
    ),
    "foundation_time": (
        _l("Almost no time left for customers."),
        _l("Internal tasks take most of my week."),
        _l("A fair share of my week goes to customers."),
        _l("Most of my week goes to customers."),
        _l("I spend my time where it creates the most value."),
    ),
    "foundation_knowledge": (
        _l("I lack the knowledge to do the job."),
        _l("I often lack knowledge in customer meetings."),
        _l("I know enough for most meetings."),
        _l("I am well trained and keep learning."),
        _l("I know more than the job asks and share it."),
    ),
    "foundation_resources": (
        _l("I get no support from specialists or marketing."),
        _l("Support comes, but late."),
        _l("I get the support I need in most deals."),
        _l("Support is quick and good."),
        _l("Support makes the difference in my deals."),
    ),
}


def sync_builtin_scales(session: Session) -> None:
    """Add the built-in scales, every rated KPI's scale and the built-in anchors, where
    missing. What is there already is left alone: leaders may have changed it."""
    sync_builtin_kpis(session)
    present = {scale.code: scale for scale in session.scalars(select(RatingScale))}
    for spec in SCALES:
        if spec.code not in present:
            scale = RatingScale(
                code=spec.code,
                name=spec.name,
                minimum=spec.minimum,
                maximum=spec.maximum,
                step=spec.step,
                translations={},
                builtin=True,
            )
            session.add(scale)
            present[spec.code] = scale
    session.flush()
    rated = list(
        session.scalars(
            select(Kpi).where(Kpi.source == KpiSource.RATING, Kpi.code.not_in(list(PULSE_FIELD)))
        )
    )
    with_scale = set(session.scalars(select(KpiScale.kpi_id)))
    with_anchors = set(session.scalars(select(ScaleAnchor.kpi_id).distinct()))
    for kpi in rated:
        if kpi.id not in with_scale:
            session.add(KpiScale(kpi_id=kpi.id, scale_id=present[DEFAULT_SCALE].id))
        if kpi.builtin and kpi.code in ANCHORS and kpi.id not in with_anchors:
            for point, text in enumerate(ANCHORS[kpi.code], start=1):
                session.add(
                    ScaleAnchor(
                        kpi_id=kpi.id, point=float(point), text=text, translations={}, builtin=True
                    )
                )
    session.flush()


@dataclass(frozen=True)
class Anchor:
    point: float
    text: str


@dataclass(frozen=True)
class RatedKpi:
    """A rated KPI with its scale and anchors, in the viewer's language."""

    kpi: Kpi
    name: str
    scale: RatingScale
    scale_name: str
    anchors: list[Anchor]

    @property
    def points(self) -> list[float]:
        """The choices a rater has, lowest first."""
        found = []
        value = self.scale.minimum
        while value <= self.scale.maximum + 1e-9:
            found.append(round(value, 6))
            value += self.scale.step
        return found

    def anchor_of(self, point: float) -> str:
        for anchor in self.anchors:
            if abs(anchor.point - point) < 1e-9:
                return anchor.text
        return ""


def _translated(text: str, translations: dict[str, dict[str, str]], builtin: bool) -> str:
    if builtin:
        return _(text)
    return str(translations.get(current_language(), {}).get("text") or text)


def rated_kpis(session: Session, codes: list[str] | None = None) -> list[RatedKpi]:
    """Return the rated KPIs (all active ones, or ``codes`` in that order) with scale and
    anchors; the pulse KPIs, answered on the dashboard, are not among them. Refuses a code
    that is not a rated KPI."""
    from touchline.kpis.catalogue import display_name

    sync_builtin_scales(session)
    kpis = {
        kpi.code: kpi
        for kpi in session.scalars(
            select(Kpi)
            .where(Kpi.source == KpiSource.RATING, Kpi.code.not_in(list(PULSE_FIELD)))
            .order_by(Kpi.id)
        )
    }
    if codes is None:
        wanted = [kpi for kpi in kpis.values() if kpi.status == "active"]
    else:
        unknown = [code for code in codes if code not in kpis]
        if unknown:
            raise InvalidInput(
                _("%(code)s is not a KPI rated on a scale.", code=", ".join(unknown)), field="kpis"
            )
        wanted = [kpis[code] for code in codes]
    ids = [kpi.id for kpi in wanted]
    scales = {scale.id: scale for scale in session.scalars(select(RatingScale))}
    scale_of = dict(
        session.execute(
            select(KpiScale.kpi_id, KpiScale.scale_id).where(KpiScale.kpi_id.in_(ids))
        ).all()
    )
    anchors: dict[int, list[Anchor]] = {}
    for anchor in session.scalars(
        select(ScaleAnchor).where(ScaleAnchor.kpi_id.in_(ids)).order_by(ScaleAnchor.point)
    ):
        anchors.setdefault(anchor.kpi_id, []).append(
            Anchor(anchor.point, _translated(anchor.text, anchor.translations, anchor.builtin))
        )
    found = []
    for kpi in wanted:
        scale = scales[scale_of[kpi.id]]
        found.append(
            RatedKpi(
                kpi=kpi,
                name=display_name(kpi),
                scale=scale,
                scale_name=_translated(scale.name, {}, scale.builtin)
                if scale.builtin
                else str(scale.translations.get(current_language(), {}).get("name") or scale.name),
                anchors=anchors.get(kpi.id, []),
            )
        )
    return found


def check_score(rated: RatedKpi, score: float, *, field: str) -> float:
    """Return ``score`` when it lies on the KPI's scale; refuse it, saying the scale."""
    if not rated.scale.minimum <= score <= rated.scale.maximum:
        raise InvalidInput(
            _(
                "%(score)s is off the scale of %(kpi)s: give %(low)s to %(high)s.",
                score=f"{score:g}",
                kpi=rated.name,
                low=f"{rated.scale.minimum:g}",
                high=f"{rated.scale.maximum:g}",
            ),
            field=field,
        )
    return score


def list_scales(session: Session) -> list[RatingScale]:
    """Return every scale, built-in first."""
    sync_builtin_scales(session)
    return list(
        session.scalars(select(RatingScale).order_by(RatingScale.builtin.desc(), RatingScale.id))
    )


def set_kpi_scale(
    session: Session,
    *,
    actor: Actor,
    kpi_code: str,
    scale_code: str,
    anchors: dict[float, str],
    translations: dict[str, dict[float, str]] | None = None,
) -> RatedKpi:
    """Give a rated KPI its scale and its anchors (replacing the anchors it had); leaders
    and admins only. Refuses an unknown scale, a KPI that is not rated, and an anchor off
    the scale or without text."""
    actor.require(Role.LEADER)
    sync_builtin_scales(session)
    kpi = get_kpi(session, kpi_code)
    if kpi.source != KpiSource.RATING:
        raise InvalidInput(_("%(code)s is not a KPI rated on a scale.", code=kpi.code), field="kpi")
    scale = session.scalar(select(RatingScale).where(RatingScale.code == scale_code))
    if scale is None:
        raise NotFound(_("There is no rating scale %(code)s.", code=scale_code), field="scale")
    for point, text in anchors.items():
        if not scale.minimum <= point <= scale.maximum:
            raise InvalidInput(
                _(
                    "An anchor at %(point)s is off the scale %(low)s to %(high)s.",
                    point=f"{point:g}",
                    low=f"{scale.minimum:g}",
                    high=f"{scale.maximum:g}",
                ),
                field="anchors",
            )
        if not text.strip():
            raise InvalidInput(
                _("The anchor at %(point)s needs a text.", point=f"{point:g}"), field="anchors"
            )
    unknown = sorted(set(translations or {}) - (set(LANGUAGES) - {"en"}))
    if unknown:
        raise InvalidInput(
            _("%(code)s is not a language here: use da, nb or it.", code=", ".join(unknown)),
            field="translations",
        )
    link = session.get(KpiScale, kpi.id)
    if link is None:
        session.add(KpiScale(kpi_id=kpi.id, scale_id=scale.id))
    else:
        link.scale_id = scale.id
    session.execute(delete(ScaleAnchor).where(ScaleAnchor.kpi_id == kpi.id))
    for point, text in sorted(anchors.items()):
        texts = {
            language: {"text": by_point[point]}
            for language, by_point in (translations or {}).items()
            if by_point.get(point)
        }
        session.add(
            ScaleAnchor(
                kpi_id=kpi.id, point=point, text=text.strip(), translations=texts, builtin=False
            )
        )
    audit.record(
        session,
        actor=actor.user,
        action="set_scale",
        entity="kpi",
        entity_id=kpi.code,
        after={"scale": scale.code, "anchors": {f"{p:g}": t for p, t in anchors.items()}},
    )
    session.flush()
    return rated_kpis(session, [kpi.code])[0]


def score_ranges(session: Session) -> dict[str, tuple[float, float]]:
    """Return each rated KPI's lowest and highest score (retired ones too), for checking
    imported ratings. Reads only: a KPI without a scale yet is on the default scale."""
    default = next(spec for spec in SCALES if spec.code == DEFAULT_SCALE)
    codes = {
        spec.code
        for spec in BUILTIN_KPIS.values()
        if spec.source == KpiSource.RATING and spec.code not in PULSE_FIELD
    } | set(
        session.scalars(
            select(Kpi.code).where(
                Kpi.source == KpiSource.RATING, Kpi.code.not_in(list(PULSE_FIELD))
            )
        )
    )
    found = dict.fromkeys(codes, (default.minimum, default.maximum))
    rows = session.execute(
        select(Kpi.code, RatingScale.minimum, RatingScale.maximum)
        .join(KpiScale, KpiScale.kpi_id == Kpi.id)
        .join(RatingScale, RatingScale.id == KpiScale.scale_id)
        .where(Kpi.code.in_(sorted(codes)))
    )
    found.update({code: (low, high) for code, low, high in rows})
    return found

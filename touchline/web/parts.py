"""Parts that the domains add to shared pages: the dashboard and the seller page.

The screens are few and shared (docs/screens): a feature adds its part to the page a
user already lands on rather than opening a disconnected one. Each domain offers a
builder that returns its parts for the viewer; this module lists the builders (one line
per domain in ``_dashboard_builders`` and ``_seller_page_builders``) and groups what they
return by slot. A part is a template of the domain's own
(``ratings/_dashboard_pulse.html``) rendered with ``part`` in its context.

Slots of the dashboard, in page order: ``top`` (before the viewer's scorecard),
``seller`` (after it: the seller's own next steps), ``manager`` (the manager's team),
``leader`` (the company). Slots of the seller page: ``main`` and ``aside``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from touchline.auth.policy import Actor
from touchline.org.models import Seller


@dataclass
class Part:
    """One domain's contribution to a shared page."""

    slot: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    order: int = 100


DashboardBuilder = Callable[[Session, Actor], list[Part]]
SellerPageBuilder = Callable[[Session, Actor, Seller], list[Part]]


def _dashboard_builders() -> tuple[DashboardBuilder, ...]:
    # Imported when first asked: the domains' parts import this module for ``Part``.
    from touchline.analytics import behaviour_parts, fair_parts, warning_parts
    from touchline.coaching import parts as coaching
    from touchline.ratings import parts as ratings

    return (
        ratings.dashboard_parts,
        coaching.dashboard_parts,
        warning_parts.dashboard_parts,
        behaviour_parts.dashboard_parts,
        fair_parts.dashboard_parts,
    )


def _seller_page_builders() -> tuple[SellerPageBuilder, ...]:
    from touchline.analytics import behaviour_parts, fair_parts, warning_parts
    from touchline.coaching import parts as coaching
    from touchline.ratings import parts as ratings

    return (
        ratings.seller_page_parts,
        coaching.seller_page_parts,
        fair_parts.seller_page_parts,
        warning_parts.seller_page_parts,
        behaviour_parts.seller_page_parts,
    )


def _by_slot(parts: Sequence[Part]) -> dict[str, list[Part]]:
    grouped: dict[str, list[Part]] = {}
    for part in sorted(parts, key=lambda p: p.order):
        grouped.setdefault(part.slot, []).append(part)
    return grouped


def dashboard_parts(session: Session, *, actor: Actor) -> dict[str, list[Part]]:
    """Return every domain's dashboard parts for ``actor``, by slot, in order."""
    parts: list[Part] = []
    for builder in _dashboard_builders():
        parts += builder(session, actor)
    return _by_slot(parts)


def seller_page_parts(session: Session, *, actor: Actor, seller: Seller) -> dict[str, list[Part]]:
    """Return every domain's parts of ``seller``'s page as ``actor`` may see them, by slot."""
    parts: list[Part] = []
    for builder in _seller_page_builders():
        parts += builder(session, actor, seller)
    return _by_slot(parts)

"""Survey campaigns for outside raters: customers by their status, mystery shoppers, peers.

A campaign asks outside raters about the sellers of a unit in a period. Each rater gets
a single-use link: a random token, of which only a hash is stored, valid until the
campaign expires. Links are shown once to copy (and downloadable then), or sent by
e-mail through the configured SMTP server; issuing a link again makes a new token and
the old one stops working. Customers are invited from a contact list (CSV); mystery
shoppers too; peers are chosen among each seller's colleagues.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from touchline.audit import service as audit
from touchline.auth.models import Role, User
from touchline.auth.policy import Actor, UnitTree
from touchline.config import LANGUAGES, get_settings
from touchline.crm.models import Account, CustomerStatus, Deal
from touchline.db import utcnow
from touchline.errors import Forbidden, InvalidInput, NotFound
from touchline.i18n import gettext as _
from touchline.kpis.compute import company_today
from touchline.org.models import Seller, Unit
from touchline.org.periods import PeriodError, parse_period
from touchline.ratings.models import CampaignKind, RoundStatus, SurveyCampaign, SurveyInvitation
from touchline.ratings.scales import rated_kpis

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PEERS_PER_SELLER = 3
CONTACT_COLUMNS = ("seller_id", "contact_name", "email", "account_id", "language")
# An account that bought within this many days is an existing customer, else a lost one.
ACTIVE_CUSTOMER_DAYS = 365


def token_hash(token: str) -> str:
    """Return the stored form of a survey token (its SHA-256, hex)."""
    return hashlib.sha256(token.encode()).hexdigest()


def survey_url(token: str) -> str:
    """Return the public address of a survey link."""
    return f"{get_settings().base_url.rstrip('/')}/survey/{token}"


def create_campaign(
    session: Session,
    *,
    actor: Actor,
    name: str,
    kind: str,
    period: str,
    unit: Unit,
    kpi_codes: list[str],
    customer_status: str | None = None,
    ask_score: bool = True,
    message: str = "",
    days: int | None = None,
) -> SurveyCampaign:
    """Open a campaign about the sellers of ``unit``; managers of the unit and leaders.

    Customers give an overall score (0-10) when ``ask_score`` and rate the KPIs chosen;
    mystery shoppers and peers rate the KPIs. Refuses an unknown kind or customer
    status, a bad period, a KPI not rated on a scale, and a campaign that asks nothing.
    """
    if not (actor.at_least(Role.MANAGER) and actor.can_manage_unit(unit.id)):
        raise Forbidden(_("You may not survey the sellers of this unit."))
    if not name.strip():
        raise InvalidInput(_("A campaign needs a name."), field="name")
    if kind not in {k.value for k in CampaignKind}:
        raise InvalidInput(
            _("%(kind)s is not a kind of rater: customer, mystery_shopper or peer.", kind=kind),
            field="kind",
        )
    if customer_status and customer_status not in {s.value for s in CustomerStatus}:
        raise InvalidInput(
            _(
                "%(status)s is not a customer status: existing, lost, prospect or lost_prospect.",
                status=customer_status,
            ),
            field="customer_status",
        )
    try:
        chosen = parse_period(period, fiscal_start_month=get_settings().fiscal_year_start_month)
    except PeriodError as error:
        raise InvalidInput(str(error), field="period") from None
    codes = [item.kpi.code for item in rated_kpis(session, list(dict.fromkeys(kpi_codes)))]
    asks_score = ask_score and kind == CampaignKind.CUSTOMER
    if not codes and not asks_score:
        raise InvalidInput(_("The survey asks nothing: choose KPIs to rate."), field="kpis")
    campaign = SurveyCampaign(
        name=name.strip(),
        kind=kind,
        period=chosen.label,
        unit_id=unit.id,
        customer_status=customer_status or None if kind == CampaignKind.CUSTOMER else None,
        kpi_codes=codes,
        ask_score=asks_score,
        message=message.strip()[:2000],
        status=RoundStatus.OPEN,
        expires_at=utcnow() + timedelta(days=days or get_settings().survey_days),
        created_by_id=actor.user.id if actor.user else None,
    )
    session.add(campaign)
    session.flush()
    audit.record(
        session,
        actor=actor.user,
        action="create",
        entity="survey_campaign",
        entity_id=str(campaign.id),
        after={"name": campaign.name, "kind": kind, "period": chosen.label, "kpis": codes},
    )
    return campaign


def visible_campaigns(session: Session, *, actor: Actor) -> list[SurveyCampaign]:
    """Return the campaigns of units the actor manages (every one for leaders)."""
    query = select(SurveyCampaign).order_by(SurveyCampaign.created_at.desc())
    if actor.sees_all:
        return list(session.scalars(query))
    if not actor.managed_unit_ids:
        return []
    return list(
        session.scalars(query.where(SurveyCampaign.unit_id.in_(sorted(actor.managed_unit_ids))))
    )


def get_campaign(session: Session, *, actor: Actor, campaign_id: int) -> SurveyCampaign:
    """Return the campaign; NotFound when the actor does not manage its unit."""
    campaign = session.get(SurveyCampaign, campaign_id)
    if campaign is None or not actor.can_manage_unit(campaign.unit_id):
        raise NotFound(_("There is no survey campaign %(id)s that you may see.", id=campaign_id))
    return campaign


def customer_statuses(
    session: Session, account_ids: list[int], *, today: date | None = None
) -> dict[int, str]:
    """Return each account's customer status from its deals.

    existing: a won deal within the last year, or an open deal after a win; lost: won
    before, but nothing won in the last year and nothing open; prospect: never won, and
    an open deal or no deal closed yet; lost prospect: never won, only lost deals.
    """
    today = today or company_today()
    since = today - timedelta(days=ACTIVE_CUSTOMER_DAYS)
    rows = session.execute(
        select(
            Deal.account_id,
            func.max(Deal.close_date).filter(Deal.status == "won"),
            func.count().filter(Deal.status == "open"),
            func.count().filter(Deal.status == "lost"),
        )
        .where(Deal.account_id.in_(account_ids))
        .group_by(Deal.account_id)
    ).all()
    found = dict.fromkeys(account_ids, CustomerStatus.PROSPECT.value)
    for account_id, last_win, open_deals, lost_deals in rows:
        if account_id is None:
            continue
        if last_win is not None:
            recent = last_win >= since or open_deals > 0
            found[account_id] = (CustomerStatus.EXISTING if recent else CustomerStatus.LOST).value
        elif open_deals == 0 and lost_deals > 0:
            found[account_id] = CustomerStatus.LOST_PROSPECT.value
    return found


@dataclass(frozen=True)
class Contact:
    """A row of a contact list: who rates which seller, in which language."""

    line: int
    seller: str
    name: str
    email: str
    account: str = ""
    language: str = ""


@dataclass
class IssuedLink:
    """A link made for an invitation: shown once, to copy or to send."""

    invitation: SurveyInvitation
    seller_name: str
    url: str


@dataclass
class ContactsAdded:
    """What adding a contact list did: the links issued and the rows left out (why)."""

    links: list[IssuedLink] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)


def parse_contacts(data: bytes, *, filename: str = "contacts.csv") -> list[Contact]:
    """Read a contact list: a UTF-8 CSV with the columns seller_id, contact_name, email,
    and optionally account_id and language. Refuses, naming file, line and column, a file
    that is not UTF-8, lacks a column, or has an empty required field or a bad e-mail;
    every problem is listed at once."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(
            _("%(file)s is not UTF-8 text: save it as UTF-8 CSV.", file=filename), field="file"
        ) from None
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in ("seller_id", "contact_name", "email") if name not in header]
    if missing:
        raise InvalidInput(
            _(
                "%(file)s lacks the column %(column)s (it needs seller_id, contact_name, email).",
                file=filename,
                column=", ".join(missing),
            ),
            field="file",
        )
    contacts: list[Contact] = []
    problems: list[str] = []
    for line, row in enumerate(reader, start=2):
        values = {(key or "").strip(): (value or "").strip() for key, value in row.items()}
        for column in ("seller_id", "contact_name", "email"):
            if not values.get(column):
                problems.append(
                    _(
                        "%(file)s line %(line)s, %(column)s: empty.",
                        file=filename,
                        line=line,
                        column=column,
                    )
                )
        email = values.get("email", "")
        if email and not EMAIL.match(email):
            problems.append(
                _(
                    "%(file)s line %(line)s, email: %(value)s is not an e-mail address.",
                    file=filename,
                    line=line,
                    value=email,
                )
            )
        language = values.get("language", "")
        if language and language not in LANGUAGES:
            problems.append(
                _(
                    "%(file)s line %(line)s, language: %(value)s is not en, da, nb or it.",
                    file=filename,
                    line=line,
                    value=language,
                )
            )
        contacts.append(
            Contact(
                line=line,
                seller=values.get("seller_id", ""),
                name=values.get("contact_name", ""),
                email=email.lower(),
                account=values.get("account_id", ""),
                language=language,
            )
        )
    if problems:
        raise InvalidInput(
            " ".join(problems[:20]) + (" …" if len(problems) > 20 else ""), field="file"
        )
    if not contacts:
        raise InvalidInput(_("%(file)s holds no contact.", file=filename), field="file")
    return contacts


def _listed(problems: list[str], limit: int = 20) -> str:
    """Return the first ``limit`` problems in one message, saying how many more there are."""
    text = " ".join(problems[:limit])
    if len(problems) > limit:
        text += " " + _("… and %(count)s more.", count=len(problems) - limit)
    return text


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(24)
    return token, token_hash(token)


def _campaign_sellers(session: Session, campaign: SurveyCampaign) -> dict[str, Seller]:
    below = sorted(UnitTree.load(session).subtree(campaign.unit_id))
    return {
        seller.external_id: seller
        for seller in session.scalars(
            select(Seller).where(Seller.unit_id.in_(below), Seller.active)
        )
    }


def _open(campaign: SurveyCampaign) -> None:
    if campaign.status != RoundStatus.OPEN or campaign.expires_at <= utcnow():
        raise InvalidInput(
            _("This campaign is closed or has expired: open a new one."), field="campaign"
        )


def add_contacts(
    session: Session, *, actor: Actor, campaign: SurveyCampaign, contacts: list[Contact]
) -> ContactsAdded:
    """Invite ``contacts`` to the campaign and return their links (shown once).

    Every row is checked first; any problem refuses the whole list, naming its line, and
    nothing is stored. A customer's account must exist; when the campaign targets one
    customer status, contacts of accounts in another status are left out and listed
    with the reason, never dropped silently. Refuses a seller outside the campaign's
    unit and a contact invited twice for the same seller.
    """
    if not actor.can_manage_unit(campaign.unit_id):
        raise Forbidden(_("You may not survey the sellers of this unit."))
    _open(campaign)
    if campaign.kind == CampaignKind.PEER:
        raise InvalidInput(
            _("Peers are chosen among the sellers' colleagues, not from a list."), field="file"
        )
    sellers = _campaign_sellers(session, campaign)
    accounts = {
        account.external_id: account
        for account in session.scalars(
            select(Account).where(
                Account.external_id.in_({c.account for c in contacts if c.account})
            )
        )
    }
    statuses = customer_statuses(session, [a.id for a in accounts.values()])
    invited: set[tuple[int, str]] = {
        (seller_id, email)
        for seller_id, email in session.execute(
            select(SurveyInvitation.seller_id, SurveyInvitation.contact_email).where(
                SurveyInvitation.campaign_id == campaign.id
            )
        )
    }
    problems: list[str] = []
    result = ContactsAdded()
    wanted: list[tuple[Contact, Seller, Account | None, str | None]] = []
    for contact in contacts:
        seller = sellers.get(contact.seller)
        if seller is None:
            problems.append(
                _(
                    "line %(line)s, seller_id: %(value)s is not a seller of this campaign's unit.",
                    line=contact.line,
                    value=contact.seller,
                )
            )
            continue
        account = accounts.get(contact.account) if contact.account else None
        status = None
        if campaign.kind == CampaignKind.CUSTOMER:
            if account is None:
                problems.append(
                    _(
                        "line %(line)s, account_id: %(value)s is not a known account.",
                        line=contact.line,
                        value=contact.account or "–",
                    )
                )
                continue
            status = statuses[account.id]
            if campaign.customer_status and status != campaign.customer_status:
                result.skipped.append(
                    (
                        contact.line,
                        _(
                            "%(account)s is a %(status)s customer, this campaign asks %(wanted)s.",
                            account=account.name,
                            status=status,
                            wanted=campaign.customer_status,
                        ),
                    )
                )
                continue
        key = (seller.id, contact.email)
        if key in invited:
            problems.append(
                _(
                    "line %(line)s, email: %(value)s is invited about %(seller)s already.",
                    line=contact.line,
                    value=contact.email,
                    seller=seller.name,
                )
            )
            continue
        invited.add(key)
        wanted.append((contact, seller, account, status))
    if problems:
        raise InvalidInput(
            " ".join(problems[:20]) + (" …" if len(problems) > 20 else ""), field="file"
        )
    default_language = get_settings().default_language
    for contact, seller, account, status in wanted:
        token, hashed = _new_token()
        invitation = SurveyInvitation(
            campaign_id=campaign.id,
            seller_id=seller.id,
            account_id=account.id if account else None,
            customer_status=status,
            contact_name=contact.name,
            contact_email=contact.email,
            language=contact.language or default_language,
            token_hash=hashed,
        )
        session.add(invitation)
        result.links.append(IssuedLink(invitation, seller.name, survey_url(token)))
    session.flush()
    audit.record(
        session,
        actor=actor.user,
        action="invite",
        entity="survey_campaign",
        entity_id=str(campaign.id),
        after={"invited": len(result.links), "skipped": len(result.skipped)},
    )
    return result


def add_peers(
    session: Session, *, actor: Actor, campaign: SurveyCampaign, per_seller: int = PEERS_PER_SELLER
) -> ContactsAdded:
    """Invite, for every seller of a peer campaign, up to ``per_seller`` colleagues of the
    same team (taken in turn, so the asking is spread) and return their links."""
    if not actor.can_manage_unit(campaign.unit_id):
        raise Forbidden(_("You may not survey the sellers of this unit."))
    _open(campaign)
    if campaign.kind != CampaignKind.PEER:
        raise InvalidInput(_("Only a peer campaign invites colleagues."), field="kind")
    sellers = sorted(_campaign_sellers(session, campaign).values(), key=lambda s: s.external_id)
    languages = dict(
        session.execute(
            select(User.seller_id, User.language).where(User.seller_id.is_not(None))
        ).all()
    )
    invited: set[tuple[int, str]] = {
        (seller_id, email)
        for seller_id, email in session.execute(
            select(SurveyInvitation.seller_id, SurveyInvitation.contact_email).where(
                SurveyInvitation.campaign_id == campaign.id
            )
        )
    }
    by_team: dict[int, list[Seller]] = {}
    for seller in sellers:
        by_team.setdefault(seller.unit_id, []).append(seller)
    result = ContactsAdded()
    default_language = get_settings().default_language
    for team in by_team.values():
        for position, seller in enumerate(team):
            colleagues = team[position + 1 :] + team[:position]
            for colleague in colleagues[:per_seller]:
                if (seller.id, colleague.email.lower()) in invited:
                    continue
                token, hashed = _new_token()
                invitation = SurveyInvitation(
                    campaign_id=campaign.id,
                    seller_id=seller.id,
                    contact_name=colleague.name,
                    contact_email=colleague.email.lower(),
                    language=languages.get(colleague.id) or default_language,
                    token_hash=hashed,
                )
                session.add(invitation)
                result.links.append(IssuedLink(invitation, seller.name, survey_url(token)))
    session.flush()
    audit.record(
        session,
        actor=actor.user,
        action="invite",
        entity="survey_campaign",
        entity_id=str(campaign.id),
        after={"invited": len(result.links)},
    )
    return result


def reissue_links(session: Session, *, actor: Actor, campaign: SurveyCampaign) -> list[IssuedLink]:
    """Make new links for every unanswered invitation (the old ones stop working)."""
    if not actor.can_manage_unit(campaign.unit_id):
        raise Forbidden(_("You may not survey the sellers of this unit."))
    _open(campaign)
    names = dict(session.execute(select(Seller.id, Seller.name)).all())
    links = []
    for invitation in session.scalars(
        select(SurveyInvitation)
        .where(SurveyInvitation.campaign_id == campaign.id, SurveyInvitation.answered_at.is_(None))
        .order_by(SurveyInvitation.id)
    ):
        token, invitation.token_hash = _new_token()
        links.append(IssuedLink(invitation, names.get(invitation.seller_id, ""), survey_url(token)))
    audit.record(
        session,
        actor=actor.user,
        action="reissue",
        entity="survey_campaign",
        entity_id=str(campaign.id),
        after={"links": len(links)},
    )
    session.flush()
    return links


def close_campaign(session: Session, *, actor: Actor, campaign: SurveyCampaign) -> None:
    """Close the campaign: its links stop working; answers given stay."""
    if not actor.can_manage_unit(campaign.unit_id):
        raise Forbidden(_("You may not survey the sellers of this unit."))
    campaign.status = RoundStatus.CLOSED
    audit.record(
        session,
        actor=actor.user,
        action="close",
        entity="survey_campaign",
        entity_id=str(campaign.id),
    )
    session.flush()


@dataclass
class SellerTracking:
    """How a campaign stands for one seller: invited, sent, answered."""

    seller: Seller
    invited: int
    sent: int
    answered: int


@dataclass
class CampaignView:
    campaign: SurveyCampaign
    unit: Unit
    kpi_names: list[str]
    sellers: list[SellerTracking]
    invitations: list[SurveyInvitation]

    @property
    def totals(self) -> tuple[int, int, int]:
        return (
            sum(s.invited for s in self.sellers),
            sum(s.sent for s in self.sellers),
            sum(s.answered for s in self.sellers),
        )

    @property
    def expired(self) -> bool:
        return self.campaign.expires_at <= utcnow()


def campaign_view(session: Session, *, actor: Actor, campaign: SurveyCampaign) -> CampaignView:
    """Return the campaign's response tracking: per seller how many were invited, sent
    and answered, and every invitation (never what anyone answered)."""
    unit = session.get(Unit, campaign.unit_id)
    assert unit is not None
    invitations = list(
        session.scalars(
            select(SurveyInvitation)
            .where(SurveyInvitation.campaign_id == campaign.id)
            .order_by(SurveyInvitation.seller_id, SurveyInvitation.id)
        )
    )
    sellers = {
        seller.id: seller
        for seller in session.scalars(
            select(Seller).where(Seller.id.in_({i.seller_id for i in invitations}))
        )
    }
    tracking: dict[int, SellerTracking] = {}
    for invitation in invitations:
        entry = tracking.setdefault(
            invitation.seller_id, SellerTracking(sellers[invitation.seller_id], 0, 0, 0)
        )
        entry.invited += 1
        entry.sent += invitation.sent_at is not None
        entry.answered += invitation.answered_at is not None
    names = [item.name for item in rated_kpis(session, campaign.kpi_codes)]
    return CampaignView(
        campaign,
        unit,
        names,
        sorted(tracking.values(), key=lambda t: t.seller.name),
        invitations,
    )


def invitations_to_predict(
    session: Session, *, actor: Actor, today: datetime | None = None
) -> list[tuple[SurveyInvitation, SurveyCampaign, str]]:
    """Return the actor's own open customer invitations, with the campaign and the
    customer's account name, for the seller to predict each customer's score."""
    if actor.own_seller_id is None:
        return []
    now = today or utcnow()
    rows = session.execute(
        select(SurveyInvitation, SurveyCampaign, Account.name)
        .join(SurveyCampaign, SurveyCampaign.id == SurveyInvitation.campaign_id)
        .outerjoin(Account, Account.id == SurveyInvitation.account_id)
        .where(
            and_(
                SurveyInvitation.seller_id == actor.own_seller_id,
                SurveyCampaign.kind == CampaignKind.CUSTOMER,
                SurveyCampaign.ask_score,
                SurveyCampaign.status == RoundStatus.OPEN,
                SurveyCampaign.expires_at > now,
            )
        )
        .order_by(SurveyCampaign.id, SurveyInvitation.id)
    )
    return [(invitation, campaign, name or "") for invitation, campaign, name in rows]

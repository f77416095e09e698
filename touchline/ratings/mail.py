"""Survey invitations by e-mail, through the SMTP server of the settings.

Each invitation is written in the rater's language and carries their single-use link.
Without ``TOUCHLINE_SMTP_HOST`` nothing is sent: the campaign page gives the links to
copy instead.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage

from sqlalchemy.orm import Session

from touchline import i18n
from touchline.audit import service as audit
from touchline.auth.policy import Actor
from touchline.config import get_settings
from touchline.db import utcnow
from touchline.errors import Forbidden, InvalidInput
from touchline.i18n import gettext as _
from touchline.ratings.campaigns import IssuedLink
from touchline.ratings.models import CampaignKind, SurveyCampaign


def mail_configured() -> bool:
    """True when an SMTP server is set up to send invitations."""
    return bool(get_settings().smtp_host)


def _message(campaign: SurveyCampaign, link: IssuedLink, company: str) -> EmailMessage:
    invitation = link.invitation
    with i18n.language(invitation.language):
        if campaign.kind == CampaignKind.CUSTOMER:
            subject = _("How did %(seller)s serve you?", seller=link.seller_name)
            intro = _(
                "%(company)s asks for your view of %(seller)s. The survey takes two minutes; "
                "your answer is anonymous and is shown only together with at least two other "
                "answers.",
                company=company,
                seller=link.seller_name,
            )
        elif campaign.kind == CampaignKind.PEER:
            subject = _("Your view of your colleague %(seller)s", seller=link.seller_name)
            intro = _(
                "Please rate how your colleague %(seller)s works. Your answer is anonymous "
                "and is shown only together with at least two other answers.",
                seller=link.seller_name,
            )
        else:
            subject = _("Mystery shopping: %(seller)s", seller=link.seller_name)
            intro = _(
                "Please rate your visit with %(seller)s for %(company)s.",
                seller=link.seller_name,
                company=company,
            )
        lines = [
            _("Hello %(name)s,", name=invitation.contact_name or ""),
            "",
            intro,
        ]
        if campaign.message:
            lines += ["", campaign.message]
        lines += [
            "",
            link.url,
            "",
            _(
                "The link can be used once and works until %(date)s.",
                date=f"{campaign.expires_at:%Y-%m-%d}",
            ),
        ]
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = get_settings().smtp_from
    message["To"] = invitation.contact_email
    message.set_content("\n".join(lines))
    return message


@dataclass
class Sent:
    """What sending did: how many went out, and who could not be reached (why)."""

    sent: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


def send_invitations(
    session: Session,
    *,
    actor: Actor,
    campaign: SurveyCampaign,
    links: list[IssuedLink],
    company: str,
) -> Sent:
    """E-mail each link to its rater and mark it sent; return what went out.

    Refuses when no SMTP server is set up. A recipient the server refuses is listed and
    the rest still go out; a server that cannot be reached at all is refused as a whole.
    """
    if not actor.can_manage_unit(campaign.unit_id):
        raise Forbidden(_("You may not survey the sellers of this unit."))
    settings = get_settings()
    if not settings.smtp_host:
        raise InvalidInput(
            _("No e-mail server is set up (TOUCHLINE_SMTP_HOST): copy the links instead."),
            field="send",
        )
    result = Sent()
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as server:
            if settings.smtp_starttls:
                server.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                server.login(settings.smtp_username, settings.smtp_password or "")
            for link in links:
                if not link.invitation.contact_email:
                    continue
                try:
                    server.send_message(_message(campaign, link, company))
                except smtplib.SMTPRecipientsRefused as error:
                    result.failed.append((link.invitation.contact_email, str(error.recipients)))
                    continue
                link.invitation.sent_at = utcnow()
                result.sent += 1
    except (OSError, smtplib.SMTPException) as error:
        raise InvalidInput(
            _(
                "The e-mail server %(host)s did not take the invitations: %(reason)s",
                host=settings.smtp_host,
                reason=str(error) or type(error).__name__,
            ),
            field="send",
        ) from None
    audit.record(
        session,
        actor=actor.user,
        action="send",
        entity="survey_campaign",
        entity_id=str(campaign.id),
        after={"sent": result.sent, "failed": len(result.failed)},
    )
    session.flush()
    return result

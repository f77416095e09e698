"""A conversation's record as a PDF both parties can keep (fpdf2, as the scorecard).

It is printed from the record the reader may see: the coach's private note appears only
when the coach asks for it, never for anyone else.
"""

from __future__ import annotations

from fpdf import FPDF

from touchline.coaching.impediments import category_label
from touchline.coaching.models import Side
from touchline.coaching.record import ConversationRecord, status_label
from touchline.i18n import gettext as _
from touchline.kpis.printing import _text
from touchline.web.templating import environment

_date = environment.filters["date"]


def _heading(pdf: FPDF, text: str, size: int = 12) -> None:
    pdf.ln(2)
    pdf.set_font("Helvetica", style="B", size=size)
    pdf.multi_cell(0, 7, _text(text), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)


def _para(pdf: FPDF, text: str, *, style: str = "") -> None:
    pdf.set_font("Helvetica", style=style, size=9)
    pdf.multi_cell(0, 4.8, _text(text), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)


def _side(side: str) -> str:
    return _("Manager") if side == Side.MANAGER else _("Seller")


def conversation_pdf(record: ConversationRecord) -> bytes:
    """Return the conversation as an A4 PDF: agenda with both sides' notes, impediments,
    action items, reflection, summary, sign-offs and addenda."""
    conversation = record.conversation
    pdf = FPDF(orientation="portrait", format="A4")
    pdf.set_title(_text(f"{record.seller.name} {conversation.id}"))
    pdf.set_creator("Touchline")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=16)
    pdf.multi_cell(
        0,
        9,
        _text(f"{_('Coaching conversation')}: {record.seller.name}"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    held = _date(conversation.held_on) if conversation.held_on else "–"
    _para(
        pdf,
        f"{_('Coach')}: {record.coach_name} · {_('Held on')}: {held} · "
        f"{status_label(conversation.status)} · {_('Version')} {conversation.version}",
    )
    _heading(pdf, _("Agenda"))
    for number, view in enumerate(record.items, start=1):
        title = f"{number}. {view.described.title}"
        if view.item.dropped:
            title += f" ({_('dropped')})"
        _para(pdf, title, style="B")
        if view.described.detail:
            _para(pdf, view.described.detail, style="I")
        for side in (Side.MANAGER, Side.SELLER):
            note = view.notes.get(side)
            if note is not None and note.text:
                _para(pdf, f"{_side(side)} ({note.author_name}): {note.text}")
        for impediment in view.impediments:
            control = (
                _("within the seller's control")
                if impediment.within_control
                else _("outside the seller's control")
            )
            _para(
                pdf,
                f"{_('Impediment')}: {category_label(impediment.category)}, {control}. "
                f"{impediment.description}",
            )
    if record.actions:
        _heading(pdf, _("Action items"))
        for action in record.actions:
            owner = _side(action.owner)
            _para(
                pdf,
                f"- {action.title} · {owner} · {_('due')} {_date(action.due_on)} · {action.status}",
            )
    _heading(pdf, _("The seller's reflection"))
    _para(pdf, conversation.seller_reflection or "–")
    _heading(pdf, _("Agreed summary"))
    _para(pdf, conversation.summary or "–")
    if record.private_note is not None:
        _heading(pdf, _("Private note (only you see this)"))
        _para(pdf, record.private_note or "–")
    if record.addenda:
        _heading(pdf, _("Addenda"))
        for addendum in record.addenda:
            when = _date(addendum.created_at)
            _para(pdf, f"{_side(addendum.side)} ({addendum.author_name}, {when}): {addendum.text}")
    _heading(pdf, _("Sign-off"))
    for label, signed_at, version in (
        (_("Manager"), conversation.manager_signed_at, conversation.manager_signed_version),
        (_("Seller"), conversation.seller_signed_at, conversation.seller_signed_version),
    ):
        signed = (
            _("signed %(when)s (version %(version)s)", when=_date(signed_at), version=version)
            if signed_at
            else _("not signed")
        )
        _para(pdf, f"{label}: {signed}")
    return bytes(pdf.output())

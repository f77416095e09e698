"""A seller's scorecard as a PDF, to keep from the performance conversation."""

from __future__ import annotations

from fpdf import FPDF
from fpdf.fonts import FontFace

from touchline.i18n import gettext as _
from touchline.kpis.display import format_kpi_value
from touchline.kpis.scorecards import Scorecard, level_label

# The PDF core fonts hold Latin-1, which covers Danish, Norwegian, Swedish and Italian
# names; the few typographic marks outside it are written plainly.
_PLAIN = str.maketrans({"–": "-", "—": "-", "…": "...", "‘": "'", "’": "'", "“": '"', "”": '"'})


def _text(value: str) -> str:
    return value.translate(_PLAIN).encode("latin-1", "replace").decode("latin-1")


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} %"


def _light(word: str) -> str:
    return {
        "green": _("on track"),
        "amber": _("watch"),
        "red": _("off track"),
        "none": "-",
    }[word]


def scorecard_pdf(card: Scorecard) -> bytes:
    """Return the scorecard as an A4 PDF: levels, KPIs, rules, governance, signatures."""
    pdf = FPDF(orientation="portrait", format="A4")
    pdf.set_title(_text(f"{card.seller.name} {card.period.label}"))
    pdf.set_creator("Touchline")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=16)
    pdf.cell(0, 10, _text(f"{_('Scorecard')}: {card.seller.name}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    template = card.template.name if card.template else _("No scorecard template is assigned yet.")
    pdf.cell(0, 6, _text(f"{card.period.label} · {template}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    summary = [
        (_("Balanced index"), _percent(card.balanced_index)),
        *[(level_label(level), _percent(score)) for level, score in card.level_scores.items()],
    ]
    if card.capacity is not None:
        summary.append((_("Capacity (Will × Foundation)"), _percent(card.capacity)))
    with pdf.table(
        col_widths=(60, 30), width=90, align="LEFT", first_row_as_headings=False
    ) as table:
        for label, value in summary:
            row = table.row()
            row.cell(_text(label))
            row.cell(value)
    if card.capacity_weak:
        pdf.set_font("Helvetica", style="I", size=9)
        pdf.multi_cell(
            0,
            5,
            _text(
                _(
                    "Half times half is not a whole: weak Will or Foundation holds back "
                    "everything above it."
                )
            ),
            new_x="LMARGIN",
            new_y="NEXT",
        )
    headings = (_("KPI"), _("Actual"), _("Target"), _("Attainment"), _("Light"), _("Weight"))
    for level, lines in card.by_level():
        pdf.ln(3)
        pdf.set_font("Helvetica", style="B", size=12)
        pdf.cell(0, 8, _text(level_label(level)), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=9)
        if not lines:
            pdf.cell(0, 6, _text(_("No KPI on this level.")), new_x="LMARGIN", new_y="NEXT")
            continue
        with pdf.table(
            col_widths=(62, 28, 28, 24, 22, 16),
            headings_style=FontFace(emphasis="BOLD"),
            text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT", "LEFT", "RIGHT"),
        ) as table:
            head = table.row()
            for heading in headings:
                head.cell(_text(heading))
            for line in lines:
                row = table.row()
                row.cell(_text(line.name))
                row.cell(_text(format_kpi_value(line.actual, line.kpi)))
                row.cell(_text(format_kpi_value(line.target, line.kpi)))
                row.cell(_percent(line.attainment))
                row.cell(_text(_light(line.light)))
                row.cell(f"{line.weight:g}")
        for line in lines:
            if line.decision_rule:
                pdf.set_font("Helvetica", style="I", size=8)
                pdf.multi_cell(
                    0,
                    4.5,
                    _text(f"{line.name}: {line.decision_rule}"),
                    new_x="LMARGIN",
                    new_y="NEXT",
                )
    if card.warnings:
        pdf.ln(3)
        pdf.set_font("Helvetica", style="B", size=11)
        pdf.cell(0, 7, _text(_("Governance")), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=8)
        for warning in card.warnings:
            pdf.multi_cell(0, 4.5, _text(f"- {warning}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(12)
    pdf.set_font("Helvetica", size=9)
    width = (pdf.epw - 10) / 2
    pdf.cell(width, 6, "_" * 40)
    pdf.cell(10, 6, "")
    pdf.cell(width, 6, "_" * 40, new_x="LMARGIN", new_y="NEXT")
    pdf.cell(width, 5, _text(_("Seller")))
    pdf.cell(10, 5, "")
    pdf.cell(width, 5, _text(_("Manager")), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())

"""Translations: English is the source; Danish, Norwegian Bokmål and Italian are catalogues.

The catalogues are the ``.po`` files in ``touchline/locales``; they are compiled in
memory at start-up, so no build step is needed. The language of the running request
or command lives in a context variable, so concurrent requests never mix languages.
"""

from __future__ import annotations

import gettext as stdlib_gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from touchline.config import LANGUAGES

LOCALES_DIR = Path(__file__).parent / "locales"
_language: ContextVar[str] = ContextVar("touchline_language", default="en")


@cache
def translations(language: str) -> stdlib_gettext.NullTranslations:
    """Return the compiled catalogue of ``language``; English passes text through."""
    po_file = LOCALES_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == "en" or not po_file.exists():
        return stdlib_gettext.NullTranslations()
    with po_file.open("rb") as source:
        catalog = read_po(source, locale=language)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def current_language() -> str:
    """Return the language of the running request or command."""
    return _language.get()


def set_language(language: str) -> None:
    """Make ``language`` (en, da, nb, it) the language of the running context."""
    _language.set(language if language in LANGUAGES else "en")


@contextmanager
def language(code: str) -> Iterator[None]:
    """Run a block in ``code``'s language, then restore the one before."""
    token = _language.set(code if code in LANGUAGES else "en")
    try:
        yield
    finally:
        _language.reset(token)


def gettext(message: str, **variables: Any) -> str:
    """Return ``message`` in the current language, with ``%(name)s`` variables filled in."""
    text = translations(current_language()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: Any) -> str:
    """Return the singular or plural form for ``n`` in the current language, filled in."""
    text = translations(current_language()).ngettext(singular, plural, n)
    variables.setdefault("num", n)
    return text % variables


_ = gettext


def _l(message: str) -> str:
    """Return ``message`` unchanged: marks a string kept in data for translation on display."""
    return message


def raw_gettext(message: str) -> str:
    """Return ``message`` in the current language, unformatted (Jinja formats it itself)."""
    return translations(current_language()).gettext(message)


def raw_ngettext(singular: str, plural: str, n: int) -> str:
    """Return the form for ``n`` in the current language, unformatted (for Jinja)."""
    return translations(current_language()).ngettext(singular, plural, n)


def negotiate(accept_language: str | None) -> str | None:
    """Return the best of our languages for an Accept-Language header, or None."""
    if not accept_language:
        return None
    wanted: list[tuple[float, str]] = []
    for part in accept_language.split(","):
        tag, _sep, quality = part.strip().partition(";q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            continue
        wanted.append((weight, tag.strip()))
    for _weight, tag in sorted(wanted, key=lambda item: -item[0]):
        base = tag.lower().replace("_", "-").split("-")[0]
        if base in ("no", "nn"):
            base = "nb"
        if base in LANGUAGES:
            return base
    return None


def babel_locale() -> Locale:
    """Return the Babel locale of the current language, for numbers and dates."""
    return Locale.parse(current_language())

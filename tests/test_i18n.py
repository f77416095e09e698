"""Translations: every visible string is in each catalogue, translated, with its placeholders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from touchline import i18n

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "touchline"
LANGUAGES = ("da", "nb", "it")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None}


def extracted_ids() -> set[str | tuple[str, ...]]:
    found: set[str | tuple[str, ...]] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(PACKAGE), METHODS, OPTIONS, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


def catalogue(language: str):
    path = PACKAGE / "locales" / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as source:
        # A malformed entry (a second msgstr after a bad merge) fails instead of
        # silently replacing a translation.
        return read_po(source, locale=language, abort_invalid=True)


def test_the_sources_have_messages_to_translate():
    assert len(extracted_ids()) > 100


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_visible_string_is_translated(language):
    catalog = catalogue(language)
    missing = []
    for message_id in sorted(extracted_ids(), key=str):
        key = message_id[0] if isinstance(message_id, tuple) else message_id
        entry = catalog.get(key)
        texts = (
            entry.string if entry and isinstance(entry.string, tuple) else (entry and entry.string,)
        )
        forms = catalog.num_plurals if isinstance(message_id, tuple) else 1
        if entry is None or entry.fuzzy or len(texts) != forms or not all(texts):
            missing.append(key)
    assert not missing, f"{language}: {len(missing)} untranslated: {missing}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders(language):
    wrong = []
    for entry in catalogue(language):
        if not entry.id:
            continue
        sources = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        texts = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        wanted = set(PLACEHOLDER.findall(" ".join(sources)))
        for text in texts:
            if set(PLACEHOLDER.findall(text)) != wanted:
                wrong.append((sources[0], text))
    assert not wrong, wrong


def test_gettext_follows_the_language_of_the_context():
    assert i18n.gettext("Sign in") == "Sign in"
    with i18n.language("da"):
        assert i18n.gettext("Sign in") == "Log ind"
        assert i18n.gettext("Hello, %(name)s", name="Mette") == "Hej, Mette"
    with i18n.language("nb"):
        assert i18n.ngettext("%(num)d seller", "%(num)d sellers", 3) == "3 selgere"
    with i18n.language("it"):
        assert i18n.gettext("Sign out") == "Esci"
    assert i18n.current_language() == "en"
    assert i18n.gettext("Sign in") == "Sign in"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("nb-NO,nb;q=0.9", "nb"),
        ("no", "nb"),
        ("nn-NO", "nb"),
        ("it-IT", "it"),
        ("da, en;q=0.5", "da"),
        ("fr", None),
        ("", None),
    ],
)
def test_the_browser_language_picks_one_of_ours(header, expected):
    assert i18n.negotiate(header) == expected

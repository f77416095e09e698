"""Browser tests: the paths a person takes, in Debian's Chromium driven by Playwright.

One real server on a migrated SQLite file holding the factories' company (see
tests/factories.py) serves the whole module; each test opens its own browser context,
so cookies and language never leak from one test into the next.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.factories import PASSWORD, make_org
from tests.live_server import chromium, chromium_missing, migrated_sqlite, serve
from touchline.db import make_engine, make_sessionmaker

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(chromium_missing() is not None, reason=str(chromium_missing())),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a running Touchline holding the factories' small company."""
    url = migrated_sqlite(tmp_path_factory.mktemp("browser") / "site.db")
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        make_org(session)
    engine.dispose()
    with serve(url) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def new_page(browser):
    """Open a page in a fresh browser context (own cookies) with the given options."""
    contexts = []

    def open_page(**options):
        context = browser.new_context(**options)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def sign_in(page, email: str, password: str, button: str) -> None:
    """Fill the login form already on ``page`` and press its button, named ``button``."""
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.get_by_role("button", name=button).click()


def horizontal_overflow(page) -> int:
    """How many pixels the page is wider than the viewport (0 when nothing scrolls sideways)."""
    return int(
        page.evaluate(
            "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
            " - window.innerWidth"
        )
    )


def test_a_manager_in_danish_sees_the_team_not_another_team_and_signs_out(site, new_page):
    from playwright.sync_api import expect

    page = new_page(locale="da-DK")
    page.goto(f"{site}/")
    expect(page).to_have_url(f"{site}/login?next=/")
    expect(page.locator("html")).to_have_attribute("lang", "da")
    sign_in(page, "manager@example.com", PASSWORD, button="Log ind")

    expect(page).to_have_url(f"{site}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hej, Mette Manager")
    team = page.locator("#team")
    expect(team.get_by_role("heading")).to_have_text("Dit team")
    expect(team).to_contain_text("Anne Andersen")
    expect(team).to_contain_text("Arne Aas")
    expect(page.locator("main")).not_to_contain_text("Bente Berg")

    page.locator("header").get_by_role("link", name="Sælgere", exact=True).click()
    expect(page).to_have_url(f"{site}/sellers")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sælgere")
    rows = page.locator("#seller-rows")
    expect(rows).to_contain_text("Anne Andersen")
    expect(rows).to_contain_text("Arne Aas")
    expect(rows).not_to_contain_text("Bente Berg")
    expect(rows).not_to_contain_text("Carla Conti")

    # Another team's seller, opened by address, is not found: not even their name shows.
    answer = page.goto(f"{site}/sellers/B1")
    assert answer is not None
    assert answer.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Ikke fundet")
    expect(page.locator("main")).to_contain_text("Der er ingen sælger 'B1'")
    expect(page.locator("body")).not_to_contain_text("Bente Berg")

    logout = page.locator("#logout")
    expect(logout).to_have_text("Log ud")
    logout.click()
    expect(page).to_have_url(f"{site}/login")
    expect(page.get_by_role("button", name="Log ind")).to_be_visible()
    expect(page.locator("#logout")).to_have_count(0)
    page.goto(f"{site}/sellers")
    expect(page).to_have_url(f"{site}/login?next=/sellers")


def test_the_language_chosen_in_the_header_stays_after_signing_in(site, new_page):
    from playwright.sync_api import expect

    page = new_page(locale="en-GB")
    page.goto(f"{site}/login")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    with page.expect_navigation():
        page.select_option("#language-select", "da")
    expect(page.get_by_role("button", name="Log ind")).to_be_visible()
    sign_in(page, "manager@example.com", PASSWORD, button="Log ind")
    expect(page.locator("#team").get_by_role("heading")).to_have_text("Dit team")
    with page.expect_navigation():
        page.select_option("#language-select", "it")
    expect(page.locator("#logout")).to_have_text("Esci")


def test_the_seller_search_filters_as_you_type(site, new_page):
    from playwright.sync_api import expect

    page = new_page()
    page.goto(f"{site}/login")
    sign_in(page, "admin@example.com", PASSWORD, button="Sign in")
    expect(page).to_have_url(f"{site}/")
    page.goto(f"{site}/sellers")
    rows = page.locator("#seller-rows tr")
    expect(rows).to_have_count(8)
    # A marker on the window survives only if the page is never reloaded.
    page.evaluate("() => { window.stillTheSamePage = true; }")

    page.locator("#seller-search").press_sequentially("bente", delay=40)
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Bente Berg")
    expect(page).to_have_url(f"{site}/sellers?q=bente")

    page.locator("#seller-search").fill("nobody-by-that-name")
    expect(rows).to_have_count(1)
    expect(rows).to_have_text("No seller matches “nobody-by-that-name”.")

    page.locator("#seller-search").fill("")
    expect(rows).to_have_count(8)
    assert page.evaluate("() => window.stillTheSamePage === true")


def test_a_wrong_password_on_a_phone_shows_the_error_and_nothing_scrolls_sideways(site, new_page):
    from playwright.sync_api import expect

    page = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page.goto(f"{site}/login")
    assert horizontal_overflow(page) <= 0
    sign_in(page, "seller@example.com", "wrong-password", button="Sign in")

    error = page.locator("#login-error")
    expect(error).to_have_text("Wrong e-mail address or password.")
    expect(error).to_be_in_viewport()
    expect(page.locator("input[name=email]")).to_have_value("seller@example.com")
    assert horizontal_overflow(page) <= 0

    sign_in(page, "seller@example.com", PASSWORD, button="Sign in")
    expect(page).to_have_url(f"{site}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Anne Andersen")
    assert horizontal_overflow(page) <= 0

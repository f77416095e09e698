"""Browser tests: the paths a person takes, in Debian's Chromium driven by Playwright."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import PASSWORD, make_org
from tests.live_server import CHROMIUM_ARGS, serve
from touchline.db import make_engine, make_sessionmaker
from touchline.migrations import upgrade

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'site.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with make_sessionmaker(engine)() as session:
        make_org(session)
    engine.dispose()
    with serve(url) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def test_a_manager_signs_in_in_danish_sees_the_team_and_not_another_team(site, browser):
    page = browser.new_page(locale="da-DK")
    page.goto(f"{site}/login")
    assert page.get_by_role("button", name="Log ind").is_visible()
    page.fill("input[name=email]", "manager@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_url(f"{site}/")
    team = page.locator("#team")
    assert "Dit team" in team.inner_text()
    assert "Anne Andersen" in team.inner_text()
    assert "Bente Berg" not in page.content()
    page.goto(f"{site}/sellers")
    rows = page.locator("#seller-rows").inner_text()
    assert "Arne Aas" in rows
    assert "Bente Berg" not in rows
    page.goto(f"{site}/sellers/B1")
    assert page.locator("h1").inner_text() == "Ikke fundet"
    page.locator("#logout").click()
    page.wait_for_url(f"{site}/login")
    assert page.get_by_role("button", name="Log ind").is_visible()
    page.close()


def test_the_language_switcher_changes_the_language(site, browser):
    page = browser.new_page()
    page.goto(f"{site}/login")
    with page.expect_navigation():
        page.select_option("#language-select", "it")
    assert page.get_by_role("button", name="Accedi").is_visible()
    page.close()


def test_the_seller_search_filters_as_you_type(site, browser):
    page = browser.new_page()
    page.goto(f"{site}/login")
    page.fill("input[name=email]", "admin@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{site}/")
    page.goto(f"{site}/sellers")
    page.fill("#seller-search", "bente")
    page.wait_for_function("() => document.querySelectorAll('#seller-rows tr').length === 1")
    assert "Bente Berg" in page.locator("#seller-rows").inner_text()
    page.close()


def test_a_wrong_password_on_a_phone_shows_the_error_without_side_scrolling(site, browser):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{site}/login")
    page.fill("input[name=email]", "seller@example.com")
    page.fill("input[name=password]", "wrong-password")
    page.get_by_role("button", name="Sign in").click()
    assert page.locator("#login-error").inner_text() == "Wrong e-mail address or password."
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390
    page.close()

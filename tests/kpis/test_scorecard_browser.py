"""Browser paths through the scorecards on the demo company, in Chromium driven by Playwright."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.live_server import chromium, chromium_missing, migrated_sqlite, serve
from touchline.db import make_engine, make_sessionmaker

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(chromium_missing() is not None, reason=str(chromium_missing())),
]


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """A running Touchline holding the small demo company; yields its URL and logins."""
    from touchline.demo.flows import build

    url = migrated_sqlite(tmp_path_factory.mktemp("demo") / "demo.db")
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        logins = {login.role.value: login for login in build(session, size="small")}
        session.commit()
    engine.dispose()
    with serve(url) as base:
        yield base, {role: f"{login.email}\n{login.password}" for role, login in logins.items()}


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


def _sign_in(page, base: str, login: str, button: str) -> None:
    email, password = login.split("\n")
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.get_by_role("button", name=button).click()


def test_a_manager_in_danish_goes_from_the_heatmap_to_a_scorecard_and_its_pdf(demo_site, browser):
    from playwright.sync_api import expect

    base, logins = demo_site
    context = browser.new_context(locale="da-DK", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    _sign_in(page, base, logins["manager"], "Log ind")
    warnings = page.locator("#warnings")
    expect(warnings.get_by_role("heading")).to_contain_text("Ude af kurs i dit team")
    page.locator("main").get_by_role("link", name="Team-heatmap").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Team-heatmap")
    heatmap = page.locator("table.heatmap")
    expect(heatmap.locator("tbody tr").first).to_be_visible()
    # Sort by the balanced index, best first: the first row's index is the highest.
    heatmap.get_by_role("link", name="Balanceret indeks").click()
    heatmap.get_by_role("link", name="Balanceret indeks").click()
    expect(page).to_have_url(re.compile(r"sort=index.*desc=1"))
    indexes = [
        float(text.replace("%", "").replace(".", "").replace(",", ".").strip() or "nan")
        for text in heatmap.locator("tbody tr td:nth-child(2)").all_inner_texts()
        if text.strip() != "–"
    ]
    assert indexes == sorted(indexes, reverse=True)
    heatmap.locator("tbody tr th a").first.click()
    expect(page.get_by_role("heading", level=2, name="Resultat")).to_be_visible()
    expect(page.locator("table.scorecard").first).to_be_visible()
    pdf_link = page.get_by_role("link", name="Download som PDF til præstationssamtalen")
    answer = page.request.get(f"{base}{pdf_link.get_attribute('href')}")
    assert answer.status == 200
    assert answer.body().startswith(b"%PDF")
    context.close()


def test_a_seller_sees_their_card_on_a_phone(demo_site, browser):
    from playwright.sync_api import expect

    base, logins = demo_site
    context = browser.new_context(locale="en-GB", viewport={"width": 390, "height": 844})
    page = context.new_page()
    _sign_in(page, base, logins["seller"], "Sign in")
    card = page.locator("#my-scorecard")
    expect(card.get_by_role("heading")).to_contain_text("My scorecard")
    expect(card).to_contain_text("Revenue won")
    wider = page.evaluate(
        "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - window.innerWidth"
    )
    assert wider <= 0
    context.close()

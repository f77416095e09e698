"""A manager and a seller prepare and hold a coaching conversation, in Italian, in
Chromium driven by Playwright, on the demo company."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.live_server import chromium, chromium_missing, migrated_sqlite, serve
from touchline.coaching.access import today
from touchline.db import make_engine, make_sessionmaker

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(chromium_missing() is not None, reason=str(chromium_missing())),
]


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict]]:
    """A running Touchline holding the small demo company; yields its URL and logins."""
    from touchline.demo.flows import build

    url = migrated_sqlite(tmp_path_factory.mktemp("coaching") / "demo.db")
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        logins = {login.role.value: login for login in build(session, size="small")}
        session.commit()
    engine.dispose()
    with serve(url) as base:
        yield base, logins


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


def signed_in(browser, base: str, login, **options):
    context = browser.new_context(locale="it-IT", **options)
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=email]", login.email)
    page.fill("input[name=password]", login.password)
    page.get_by_role("button", name="Accedi").click()
    return context, page


def test_a_manager_and_a_seller_prepare_and_hold_a_conversation_in_italian(demo_site, browser):
    from playwright.sync_api import expect

    base, logins = demo_site
    seller_context, seller = signed_in(
        browser, base, logins["seller"], viewport={"width": 390, "height": 844}
    )
    manager_context, manager = signed_in(
        browser, base, logins["manager"], viewport={"width": 1300, "height": 900}
    )

    # The seller prepares: a topic for the next conversation, from the dashboard.
    coaching = seller.locator("#my-coaching")
    expect(coaching.get_by_role("heading", level=2)).to_have_text(
        "Il mio prossimo colloquio di coaching"
    )
    coaching.get_by_label("Un argomento per il prossimo colloquio").fill(
        "Aiuto con la gara d'appalto"
    )
    coaching.get_by_role("button", name="Aggiungi l'argomento").click()
    expect(seller).to_have_url(f"{base}/")

    # The manager sees who is due and why, and prepares the seller's conversation.
    expect(manager.locator("#coaching-due").get_by_role("heading", level=2)).to_have_text(
        "Coaching in scadenza e in ritardo"
    )
    seller_id = re.search(
        r"/sellers/([^/]+)/", seller.locator("#my-coaching a").last.get_attribute("href")
    ).group(1)
    manager.goto(f"{base}/sellers/{seller_id}/coaching")
    prepare = manager.get_by_role("link", name="Prepara il colloquio")
    if prepare.count():
        prepare.click()
    else:
        manager.get_by_role("button", name="Apri un colloquio").click()
    expect(manager.get_by_role("heading", level=1)).to_contain_text("Colloquio di coaching")
    agenda = manager.locator("ol.agenda")
    expect(agenda).to_contain_text("Aiuto con la gara d'appalto")
    expect(agenda).to_contain_text("Regola decisionale")
    first = agenda.locator("li.agenda-item").first
    first.get_by_label("La mia nota").fill("Prepariamo insieme le domande")
    first.get_by_role("button", name="Salva la nota").click()
    manager.locator("#actions summary", has_text="Concorda un'azione").click()
    form = manager.locator("#action-form")
    form.get_by_label("Che cosa va fatto").fill("Due incontri a settimana con nuovi clienti")
    form.get_by_label("Scadenza").fill((today() + timedelta(days=14)).isoformat())
    form.get_by_role("button", name="Concorda").click()
    expect(manager.locator("#actions table")).to_contain_text("Due incontri a settimana")
    manager.get_by_role("button", name="L'abbiamo tenuto oggi").click()
    expect(manager.locator("#status")).to_have_text("tenuto, in attesa di firma")
    conversation = manager.url.split("#")[0]

    # The seller reads the manager's note, writes a reflection and signs off.
    seller.goto(conversation)
    expect(seller.locator("ol.agenda")).to_contain_text("Prepariamo insieme le domande")
    reflection = seller.locator("#seller_reflection")
    reflection.get_by_role("textbox").fill("Mi serve più tempo per la prospezione")
    reflection.get_by_role("button", name="Salva").click()
    seller.get_by_role("button", name="Firma questa versione").click()
    expect(seller.locator("#sign-off")).to_contain_text("firmato il")

    # The manager signs the same version: the conversation is locked for both.
    manager.goto(conversation)
    expect(manager.locator("#seller_reflection")).to_contain_text("Mi serve più tempo")
    manager.get_by_role("button", name="Firma questa versione").click()
    expect(manager.locator("#status")).to_have_text("firmato e bloccato")
    seller.reload()
    expect(seller.locator(".locked")).to_have_text(
        "Firmato da entrambi e bloccato. Le osservazioni successive sono addenda."
    )
    expect(seller.get_by_role("button", name="Salva la nota")).to_have_count(0)
    pdf = seller.request.get(f"{conversation}/record.pdf")
    assert pdf.status == 200
    assert pdf.body().startswith(b"%PDF")
    seller_context.close()
    manager_context.close()

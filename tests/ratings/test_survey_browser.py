"""A customer answers a survey link on a phone, in Norwegian, in Chromium driven by Playwright.

The texts expected are the Norwegian catalogue's, so the test follows changes of wording.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.factories import make_org
from tests.live_server import chromium, chromium_missing, migrated_sqlite, serve
from tests.ratings.conftest import actor, add_accounts, token_of
from touchline import i18n
from touchline.db import make_engine, make_sessionmaker, transaction
from touchline.ratings import campaigns
from touchline.ratings.scales import sync_builtin_scales

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(chromium_missing() is not None, reason=str(chromium_missing())),
]


def norwegian(message: str, **variables: str) -> str:
    with i18n.language("nb"):
        return i18n.gettext(message, **variables)


@pytest.fixture(scope="module")
def survey_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A running Touchline with one customer invited, in Norwegian, to rate Anne; yields
    its address and the link's token."""
    url = migrated_sqlite(tmp_path_factory.mktemp("survey") / "survey.db")
    engine = make_engine(url)
    with transaction(make_sessionmaker(engine)) as session:
        org = make_org(session)
        sync_builtin_scales(session)
        add_accounts(session, org)
        manager = actor(session, org, "manager")
        campaign = campaigns.create_campaign(
            session,
            actor=manager,
            name="Kundens stemme",
            kind="customer",
            period="2026-Q4",
            unit=org.units["T1"],
            kpi_codes=["first_impression", "needs_discovery"],
            customer_status="existing",
        )
        (link,) = campaigns.add_contacts(
            session,
            actor=manager,
            campaign=campaign,
            contacts=[campaigns.Contact(2, "A1", "Ane Nilsen", "ane@acme.no", "ACME", "nb")],
        ).links
        token = token_of(link.url)
    engine.dispose()
    with serve(url) as base:
        yield base, token


def test_a_customer_answers_on_a_phone_in_norwegian_and_the_link_then_says_answered(
    survey_site,
):
    from playwright.sync_api import expect

    base, token = survey_site
    with chromium() as browser:
        # An English phone: the invitation's language decides, not the browser's.
        context = browser.new_context(
            locale="en-GB",
            viewport={"width": 390, "height": 844},
            is_mobile=True,
            has_touch=True,
        )
        page = context.new_page()
        page.goto(f"{base}/survey/{token}")
        expect(page.locator("html")).to_have_attribute("lang", "nb")
        heading = norwegian("How did %(seller)s serve you?", seller="Anne Andersen")
        assert heading != "How did Anne Andersen serve you?"
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        expect(page.locator("footer")).to_contain_text("Vurder hvordan resultatene nås")
        wider = page.evaluate(
            "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
            " - window.innerWidth"
        )
        assert wider <= 0, "the survey does not fit a phone's width"

        def choice(field: str, value: str):
            return page.locator(f"#{field} label.scale-point").filter(
                has=page.locator(f"input[value='{value}']")
            )

        choice("score-field", "8").tap()
        choice("score_first_impression-field", "4").tap()
        choice("score_needs_discovery-field", "3").tap()
        expect(page.locator("input[name=score][value='8']")).to_be_checked()
        expect(page.locator("input[name=score_first_impression][value='4']")).to_be_checked()
        expect(page.locator("input[name=score_needs_discovery][value='3']")).to_be_checked()
        page.get_by_role("button", name=norwegian("Send my answer")).tap()
        expect(page.locator("#survey-thanks")).to_have_text(
            norwegian(
                "Your answer about %(seller)s has been received. You may close this page.",
                seller="Anne Andersen",
            )
        )
        expect(page.locator("html")).to_have_attribute("lang", "nb")

        page.goto(f"{base}/survey/{token}")
        expect(page.get_by_role("heading", level=1)).to_have_text(norwegian("Already answered"))
        state = page.locator("#survey-state")
        expect(state).to_have_attribute("data-state", "answered")
        expect(state).to_have_text(norwegian("This survey has been answered already. Thank you!"))
        expect(page.locator("form[action^='/survey/']")).to_have_count(0)
        context.close()

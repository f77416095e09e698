"""Take the README's screenshot: the demo company's manager dashboard, 1280x800.

.venv/bin/python scripts/screenshot.py [docs/dashboard.png]

Builds the demo company in a temporary SQLite file, serves it on a free local port,
signs in as the demo's team manager in Debian's Chromium and writes the PNG.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.live_server import CHROMIUM, CHROMIUM_ARGS, chromium_missing, migrated_sqlite, serve
from touchline.auth.models import Role
from touchline.db import make_engine, make_sessionmaker, transaction
from touchline.demo import flows


def main() -> None:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/dashboard.png")
    missing = chromium_missing()
    if missing:
        sys.exit(f"cannot take the screenshot: {missing}")
    from playwright.sync_api import expect, sync_playwright

    with tempfile.TemporaryDirectory(prefix="touchline-screenshot-") as folder:
        url = migrated_sqlite(Path(folder) / "demo.db")
        engine = make_engine(url)
        with transaction(make_sessionmaker(engine)) as session:
            logins = flows.build(session, size="small", seed=7)
        engine.dispose()
        manager = next(login for login in logins if login.role is Role.MANAGER)
        with serve(url) as base, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="en-GB")
            page.goto(f"{base}/login")
            page.fill("input[name=email]", manager.email)
            page.fill("input[name=password]", manager.password)
            page.get_by_role("button", name="Sign in").click()
            expect(page.locator("#team")).to_be_visible()
            target.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(target))
            browser.close()
    print(f"wrote {target} (signed in as {manager.who}, {manager.email})")


if __name__ == "__main__":
    main()

"""Take the README's screenshot: the demo company's manager dashboard, 1280x800.

.venv/bin/python scripts/screenshot.py [docs/dashboard.png]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.live_server import CHROMIUM_ARGS, serve
from touchline.db import make_engine, make_sessionmaker, transaction
from touchline.demo import flows
from touchline.migrations import upgrade


def main() -> None:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/dashboard.png")
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'demo.db'}"
        engine = make_engine(url)
        upgrade(engine)
        with transaction(make_sessionmaker(engine)) as session:
            logins = flows.build(session, size="small", seed=7)
        engine.dispose()
        manager = next(login for login in logins if login.role == "manager")
        with serve(url) as base, sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{base}/login")
            page.fill("input[name=email]", manager.email)
            page.fill("input[name=password]", manager.password)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{base}/")
            page.screenshot(path=str(target))
            browser.close()
    print(f"wrote {target}")


if __name__ == "__main__":
    main()

"""A real Touchline server on a free local port, for the browser tests and screenshots.

Debian's Chromium drives the pages; ``CHROMIUM`` and ``CHROMIUM_ARGS`` are how every
caller launches it, and ``chromium_missing()`` says why the browser tests must skip.
"""

from __future__ import annotations

import importlib.util
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from touchline.app import create_app
from touchline.config import Settings
from touchline.db import make_engine
from touchline.migrations import upgrade

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SECRET_KEY = "live-server-" + "k" * 40


def chromium_missing() -> str | None:
    """Return why no browser can run here (Chromium or Playwright absent), or None."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed"
    return None


def migrated_sqlite(path: Path) -> str:
    """Create a SQLite file at ``path`` migrated to the newest revision; return its URL."""
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:  # noqa: S310 (a local http URL)
            return bool(answer.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@contextmanager
def serve(database_url: str, *, timeout: float = 20) -> Iterator[str]:
    """Serve the app on ``database_url`` in a thread; yield its base URL, then stop it.

    Refuses with RuntimeError when /healthz does not answer within ``timeout`` seconds.
    """
    settings = Settings(database_url=database_url, secret_key=SECRET_KEY)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name=f"touchline-{port}", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while not _answers(f"{base}/healthz"):
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(timeout=5)
            raise RuntimeError(f"the test server at {base} did not answer /healthz")
        time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def chromium() -> Iterator[Any]:
    """Launch Debian's Chromium through Playwright; yield the browser, close it after."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()

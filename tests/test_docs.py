"""The documentation covers what exists: settings, commands, API routes, links."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.routing import iter_route_contexts
from typer.main import get_command

from touchline.cli import app as cli
from touchline.config import Settings

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def test_every_setting_is_documented():
    text = (DOCS / "configuration.md").read_text()
    missing = [name for name in Settings.model_fields if f"TOUCHLINE_{name.upper()}" not in text]
    assert not missing


def test_every_command_is_documented():
    text = (DOCS / "cli.md").read_text()
    stack = [((), get_command(cli))]
    missing = []
    while stack:
        path, command = stack.pop()
        children = getattr(command, "commands", {})
        if path and not children and f"touchline {' '.join(path)}" not in text:
            missing.append(" ".join(path))
        stack.extend(((*path, name), child) for name, child in children.items())
    assert not missing


def test_every_api_route_is_documented(app):
    text = (DOCS / "api.md").read_text()
    missing = sorted(
        {
            route.path
            for route in iter_route_contexts(app.routes)
            if (route.path or "").startswith("/api/v1") and route.path not in text
        }
    )
    assert not missing


def test_the_readme_shows_the_two_commands():
    text = (ROOT / "README.md").read_text()
    assert "make demo" in text
    assert "make test" in text


def test_every_relative_link_leads_somewhere():
    broken = []
    for page in [ROOT / "README.md", *DOCS.glob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            if not (page.parent / target).exists():
                broken.append(f"{page.name}: {target}")
    assert not broken


def test_every_builtin_kpi_is_documented():
    from touchline.kpis.builtin import BUILTIN_KPIS

    text = (DOCS / "kpis.md").read_text()
    assert not [code for code in BUILTIN_KPIS if f"`{code}`" not in text]

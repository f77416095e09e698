"""A Scandinavian B2B company: three regions, twelve teams, about 120 sellers.

Deterministic for a given seed, so tests and screenshots see the same company.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

COMPANY = ("NORDLYS", "Nordlys Industri A/S")
REGIONS = [
    ("DK", "Danmark", ["København", "Aarhus", "Odense", "Aalborg"]),
    ("NO", "Norge", ["Oslo", "Bergen", "Trondheim", "Stavanger"]),
    ("SE", "Sverige", ["Stockholm", "Göteborg", "Malmö", "Uppsala"]),
]
FIRST_NAMES = {
    "DK": [
        "Mette",
        "Jens",
        "Anne",
        "Søren",
        "Louise",
        "Rasmus",
        "Camilla",
        "Mads",
        "Line",
        "Anders",
        "Ida",
        "Frederik",
        "Sofie",
        "Niels",
        "Julie",
        "Kasper",
        "Maja",
        "Henrik",
    ],
    "NO": [
        "Ingrid",
        "Ola",
        "Kari",
        "Lars",
        "Silje",
        "Håkon",
        "Marte",
        "Eirik",
        "Ragnhild",
        "Bjørn",
        "Tone",
        "Sindre",
        "Hanne",
        "Øystein",
        "Nora",
        "Torbjørn",
        "Solveig",
        "Espen",
    ],
    "SE": [
        "Astrid",
        "Erik",
        "Karin",
        "Johan",
        "Elin",
        "Magnus",
        "Linnea",
        "Oskar",
        "Sara",
        "Gustav",
        "Maria",
        "Nils",
        "Frida",
        "Per",
        "Emma",
        "Axel",
        "Klara",
        "Fredrik",
    ],
}
LAST_NAMES = {
    "DK": [
        "Nielsen",
        "Jensen",
        "Hansen",
        "Pedersen",
        "Andersen",
        "Christensen",
        "Larsen",
        "Sørensen",
        "Rasmussen",
        "Jørgensen",
        "Madsen",
        "Kristensen",
        "Østergaard",
        "Holm",
    ],
    "NO": [
        "Hansen",
        "Johansen",
        "Olsen",
        "Larsen",
        "Andersen",
        "Berg",
        "Haugen",
        "Bakken",
        "Solberg",
        "Dahl",
        "Lund",
        "Strand",
        "Moen",
        "Aasen",
    ],
    "SE": [
        "Andersson",
        "Johansson",
        "Karlsson",
        "Nilsson",
        "Eriksson",
        "Larsson",
        "Olsson",
        "Persson",
        "Svensson",
        "Gustafsson",
        "Lindberg",
        "Lindqvist",
        "Åberg",
        "Sjöberg",
    ],
}
SELLERS_PER_TEAM = 9
DEMO_DOMAIN = "nordlys.example"


@dataclass
class DemoUnit:
    external_id: str
    name: str
    kind: str
    parent: str | None
    manager: str | None = None


@dataclass
class DemoTerritory:
    external_id: str
    name: str
    market_potential: Decimal
    region: str


@dataclass
class DemoSeller:
    external_id: str
    name: str
    email: str
    unit: str
    manager: str | None
    territory: str | None
    hire_date: date


@dataclass
class DemoCompany:
    """The organisation of the demo company, in external ids, ready to be written."""

    units: list[DemoUnit] = field(default_factory=list)
    territories: list[DemoTerritory] = field(default_factory=list)
    sellers: list[DemoSeller] = field(default_factory=list)


def _ascii(text: str) -> str:
    replaced = text.replace("ø", "o").replace("Ø", "O").replace("æ", "ae").replace("å", "a")
    decomposed = unicodedata.normalize("NFKD", replaced)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def generate(seed: int = 7, *, today: date | None = None) -> DemoCompany:
    """Return the demo organisation for ``seed``: the same seed gives the same company."""
    rng = random.Random(seed)
    today = today or date(2026, 11, 1)
    company = DemoCompany()
    company.units.append(DemoUnit(COMPANY[0], COMPANY[1], "company", None))
    used_emails: set[str] = set()
    counter = 0

    def person(country: str) -> tuple[str, str, str]:
        nonlocal counter
        while True:
            first = rng.choice(FIRST_NAMES[country])
            last = rng.choice(LAST_NAMES[country])
            email = f"{_ascii(first)}.{_ascii(last)}@{DEMO_DOMAIN}"
            if email not in used_emails:
                used_emails.add(email)
                counter += 1
                return f"S{counter:04d}", f"{first} {last}", email

    def hired(min_years: float, max_years: float) -> date:
        return today - timedelta(days=int(rng.uniform(min_years, max_years) * 365))

    director_id, director_name, director_email = person("DK")
    company.units[0].manager = director_id
    company.sellers.append(
        DemoSeller(director_id, director_name, director_email, COMPANY[0], None, None, hired(8, 20))
    )
    for code, country_name, cities in REGIONS:
        region_id = f"R-{code}"
        region = DemoUnit(region_id, f"{country_name}", "region", COMPANY[0])
        company.units.append(region)
        region_head_id, region_head_name, region_head_email = person(code)
        region.manager = region_head_id
        company.sellers.append(
            DemoSeller(
                region_head_id,
                region_head_name,
                region_head_email,
                region_id,
                None,
                None,
                hired(6, 15),
            )
        )
        for city in cities:
            team_id = f"T-{code}-{_ascii(city)[:3].upper()}"
            team = DemoUnit(team_id, f"{city}", "team", region_id)
            company.units.append(team)
            lead_id, lead_name, lead_email = person(code)
            team.manager = lead_id
            company.sellers.append(
                DemoSeller(
                    lead_id, lead_name, lead_email, region_id, region_head_id, None, hired(4, 12)
                )
            )
            for _n in range(SELLERS_PER_TEAM):
                seller_id, name, email = person(code)
                territory_id = f"TER-{seller_id}"
                potential = Decimal(rng.randrange(4_000, 30_000) * 1000)
                company.territories.append(
                    DemoTerritory(
                        territory_id,
                        f"{city} {len(company.territories) + 1}",
                        potential,
                        country_name,
                    )
                )
                company.sellers.append(
                    DemoSeller(
                        seller_id, name, email, team_id, lead_id, territory_id, hired(0.3, 12)
                    )
                )
    return company

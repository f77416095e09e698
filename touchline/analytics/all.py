"""Imports every analysis module, so that each registers itself (one line per module)."""

from touchline.analytics import fairness  # noqa: F401

# isort: split
from touchline.analytics import behaviours  # noqa: F401

# isort: split
from touchline.analytics import training  # noqa: F401

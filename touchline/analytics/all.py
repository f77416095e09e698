"""Imports every analysis module, so that each registers itself (one line per module)."""

from touchline.analytics import (
    effectiveness,  # noqa: F401
    fairness,  # noqa: F401
)

"""Imports every analysis module, so that each registers itself (one line per module)."""

from touchline.analytics import (
    fairness,  # noqa: F401
    funnel,  # noqa: F401
    recognition,  # noqa: F401
    warnings,  # noqa: F401
)

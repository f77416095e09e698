"""Imports every analysis module, so that each registers itself (one line per module)."""

# isort: off
from touchline.analytics import fairness  # noqa: F401
from touchline.analytics import effectiveness  # noqa: F401
from touchline.analytics import behaviours  # noqa: F401
from touchline.analytics import training  # noqa: F401
from touchline.analytics import warnings  # noqa: F401
from touchline.analytics import recognition  # noqa: F401
from touchline.analytics import funnel  # noqa: F401
# isort: on

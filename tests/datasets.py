"""Where the tests find the two public CRM data sets, and the skip when they are absent.

They live beside the repository (``../shared/datasets``), or wherever
``TOUCHLINE_DATASETS`` points; they are not copied into it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("TOUCHLINE_DATASETS") or ROOT.parent / "shared" / "datasets")
MAPPINGS = ROOT / "examples" / "mappings"


def dataset(name: str) -> Path:
    """Return the folder of the public data set ``name``; skip the test, saying why, if absent."""
    folder = DATASETS / name
    if not folder.is_dir():
        pytest.skip(
            f"the public data set {name} is not at {folder} (set TOUCHLINE_DATASETS to its folder)"
        )
    return folder

"""Figures a benchmark hands to `python -m benchmarks`, which prints them in one table.

A benchmark run on its own prints only its own report; run by `python -m benchmarks`, it is
given a folder (in CONVBOT_BENCH_FIGURES) and also leaves its figures there as JSON.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

FOLDER = "CONVBOT_BENCH_FIGURES"


def save(name: str, figures: dict[str, Any]) -> None:
    folder = os.environ.get(FOLDER)
    if folder:
        (Path(folder) / f"{name}.json").write_text(json.dumps(figures))


def load(folder: Path, name: str) -> dict[str, Any] | None:
    """A benchmark's figures, or None when it left none (it failed, or was not run)."""
    path = folder / f"{name}.json"
    if not path.exists():
        return None
    found: dict[str, Any] = json.loads(path.read_text())
    return found

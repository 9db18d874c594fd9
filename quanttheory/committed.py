"""Committed results of the explicit-only experiments (too long for ``quanttheory figures``).

An experiment with ``EXPLICIT_ONLY = True`` (the QAT study, the 200-epoch float CNN anchors) is
computed only by ``quanttheory run NAME``. Its ``plot`` writes every ``(point, result)`` pair to
``figures/NAME/results.json`` (:func:`write`), and ``quanttheory run`` writes
``figures/NAME/provenance.json`` beside it (:func:`provenance`: seed, grid, code version, git
commit, library versions and wall time per point, from the cache). ``quanttheory figures`` then
redraws the figures and takes the ledger rows from the committed file (:func:`read`) without
recomputing, so a full regeneration stays within its time budget and ``git status`` stays clean.

JSON keeps float64 exactly (``repr`` round-trips), so the redrawn figures and ledger rows equal
those of the run that wrote the file.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from .plotting import atomic_write_text

#: Where the committed files of experiment NAME live (the repository's figures/ directory).
FIGURES = Path(__file__).resolve().parent.parent / "figures"


def results_file(name: str) -> Path:
    return FIGURES / name / "results.json"


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def write(path: Path, name: str, results: list[tuple[dict, dict]], **extra: Any) -> Path:
    """Write ``results`` (arrays as nested lists) and ``extra`` keys to ``path`` atomically."""
    rows = [(p, {k: _plain(v) for k, v in r.items()}) for p, r in results]
    payload = {"experiment": name, **extra, "results": rows}
    return atomic_write_text(Path(path), json.dumps(payload) + "\n")


def read(path: Path) -> list[tuple[dict, dict]]:
    """The ``(point, result)`` pairs of a committed file (lists back to float64 arrays); ``[]`` if absent."""
    path = Path(path)
    if not path.is_file():
        return []
    rows = json.loads(path.read_text())["results"]
    return [(p, {k: np.asarray(v, dtype=np.float64) if isinstance(v, list) else v for k, v in r.items()})
            for p, r in rows]


def committed_seed(name: str) -> int | None:
    """The ``--seed`` of the committed run of ``name`` (from its provenance.json), if recorded."""
    path = FIGURES / name / "provenance.json"
    if not path.is_file():
        return None
    seed = json.loads(path.read_text()).get("seed")
    return None if seed is None else int(seed)


def provenance(name: str, seed: int, points: list[dict], per_point: list[dict], *, command: str,
               wall_seconds: float, note: str = "") -> dict[str, Any]:
    """The provenance record of one explicit run: what ran, where, with which code, how long."""
    return {
        "experiment": name, "command": command, "seed": seed, "grid": points,
        "per_point": per_point,
        "compute_seconds_total": float(sum(p.get("wall_seconds", 0.0) for p in per_point)),
        "wall_seconds": round(float(wall_seconds), 1),
        "finished_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        **({"note": note} if note else {}),
    }


def write_provenance(path: Path, record: dict[str, Any]) -> Path:
    return atomic_write_text(Path(path), json.dumps(record, indent=1) + "\n")

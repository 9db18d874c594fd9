"""The claims ledger: one row per paper claim, computed by code in the run that prints it.

Every verdict is computed from a measured number and a threshold (never written as a literal),
so a different seed or a code change can flip it, and the ledger then says so.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Claim:
    """One row of the ledger.

    Attributes
    ----------
    id : str
        Stable identifier, e.g. ``"li2017-3"`` (paper key + claim number of the spec).
    paper : str
        Paper and section/figure, e.g. ``"Li et al. 2017, Thm. 1 (SR floor)"``.
    statement : str
        The claim in one sentence, as the paper (or our derivation) states it.
    measured : float
        The number measured in this run.
    threshold : str
        What ``measured`` is compared with, in words with the number, e.g. ``"<= 0.05"``.
    holds : bool
        The verdict, computed from ``measured`` and the threshold.
    detail : str
        How it was measured (problem, sizes, seeds) and, if it does not hold, why.
    """

    id: str
    paper: str
    statement: str
    measured: float
    threshold: str
    holds: bool
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["holds"] = bool(self.holds)
        d["measured"] = float(self.measured)
        return d


def to_json(claims: list[Claim]) -> str:
    """Serialise a ledger to JSON (a list of objects, one per claim)."""
    return json.dumps([c.to_dict() for c in claims], indent=2)


def to_markdown(claims: list[Claim]) -> str:
    """Render a ledger as a GitHub-flavoured markdown table."""
    rows = [
        "| id | paper | claim | measured | threshold | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for c in claims:
        verdict = "holds" if c.holds else "**does not hold**"
        rows.append(
            f"| {c.id} | {c.paper} | {c.statement} | {c.measured:.4g} | {c.threshold} | {verdict} |"
        )
    return "\n".join(rows)

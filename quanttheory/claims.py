"""The claims ledger: one row per paper claim, computed by code in the run that prints it.

Every verdict is computed from a measured number and a threshold (never written as a literal),
so a different seed or a code change can flip it, and the ledger then says so.

Verdicts have three values (:mod:`quanttheory.stats`): ``holds`` / ``fails`` / ``inconclusive``,
decided from a confidence interval (``ci``) against a ``margin`` declared in the experiment's
source. Rows also carry a ``kind``:

* ``empirical`` — a measured effect that could have come out either way;
* ``sanity`` — a property that follows from a definition (kept as a regression check);
* ``derived`` — a statement of our own derivation (e.g. a bound we proved), checked numerically.

Older two-valued rows (``holds=True/False`` without a CI) are still accepted; their verdict is
derived from ``holds``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from .stats import KINDS, VERDICTS, Interval


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
        ``verdict == "holds"`` (kept for readers of the two-valued ledger). May be given instead
        of ``verdict`` by rows without a CI.
    detail : str
        How it was measured (problem, sizes, seeds) and, if it does not hold, why.
    verdict : {"holds", "fails", "inconclusive"}
        The three-valued verdict (derived from ``holds`` when not given).
    kind : {"empirical", "sanity", "derived"}
        What sort of statement the row checks (see the module docstring).
    ci : tuple of float or None
        The 95 % confidence interval of ``measured`` (or of the statistic the verdict uses).
    margin : str
        The margin declared in the experiment's source, with its reason, e.g.
        ``"±5 % (the SR floor is α-free)"``. Empty for rows without a CI.
    """

    id: str
    paper: str
    statement: str
    measured: float
    threshold: str
    holds: bool | None = None
    detail: str = ""
    verdict: str = ""
    kind: str = "empirical"
    ci: tuple[float, float] | None = None
    margin: str = ""

    def __post_init__(self) -> None:
        if not self.verdict and self.holds is None:
            raise ValueError(f"claim {self.id!r}: give verdict= or holds=")
        if not self.verdict:
            object.__setattr__(self, "verdict", "holds" if self.holds else "fails")
        if self.verdict not in VERDICTS:
            raise ValueError(f"claim {self.id!r}: verdict={self.verdict!r}; valid: {VERDICTS}")
        if self.holds is not None and bool(self.holds) != (self.verdict == "holds"):
            raise ValueError(f"claim {self.id!r}: holds={self.holds!r} contradicts verdict={self.verdict!r}")
        object.__setattr__(self, "holds", self.verdict == "holds")
        if self.kind not in KINDS:
            raise ValueError(f"claim {self.id!r}: kind={self.kind!r}; valid: {KINDS}")
        if self.ci is not None:
            lo, hi = (float(v) for v in self.ci)
            object.__setattr__(self, "ci", (lo, hi))

    @classmethod
    def from_interval(cls, id: str, paper: str, statement: str, interval: Interval, threshold: str,
                      verdict: str, *, margin: str, detail: str = "", kind: str = "empirical") -> Claim:
        """A row whose measured value and CI come from one :class:`~quanttheory.stats.Interval`."""
        return cls(id, paper, statement, interval.estimate, threshold, detail=detail, verdict=verdict,
                   kind=kind, ci=interval.as_tuple(), margin=margin)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["holds"] = bool(self.holds)
        d["measured"] = float(self.measured)
        d["ci"] = None if self.ci is None else [float(v) for v in self.ci]
        return d


def to_json(claims: list[Claim]) -> str:
    """Serialise a ledger to JSON (a list of objects, one per claim)."""
    return json.dumps([c.to_dict() for c in claims], indent=2)


def to_markdown(claims: list[Claim]) -> str:
    """Render a ledger as a GitHub-flavoured markdown table."""
    rows = [
        "| id | kind | paper | claim | measured [95 % CI] | threshold / margin | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in claims:
        measured = f"{c.measured:.4g}" + ("" if c.ci is None else f" [{c.ci[0]:.3g}, {c.ci[1]:.3g}]")
        bound = c.threshold + (f"; margin {c.margin}" if c.margin else "")
        rows.append(f"| {c.id} | {c.kind} | {c.paper} | {c.statement} | {measured} | {bound} | "
                    f"{verdict_markdown(c.verdict)} |")
    return "\n".join(rows) + "\n\n" + counts_markdown(claims)


def verdict_markdown(verdict: str) -> str:
    """``holds`` plain, ``fails`` in bold, ``inconclusive`` in italics."""
    return {"holds": "holds", "fails": "**fails**", "inconclusive": "*inconclusive*"}[verdict]


def counts(claims: list[Claim]) -> dict[str, dict[str, int]]:
    """``{kind: {verdict: count}}`` over the ledger (every kind and verdict present, zeros included)."""
    out = {k: dict.fromkeys(VERDICTS, 0) for k in KINDS}
    for c in claims:
        out[c.kind][c.verdict] += 1
    return out


def counts_markdown(claims: list[Claim]) -> str:
    """One line per kind: how many rows hold, fail and are inconclusive."""
    parts = []
    for kind, vs in counts(claims).items():
        if sum(vs.values()):
            parts.append(f"{kind}: {vs['holds']} hold, {vs['fails']} fail, {vs['inconclusive']} inconclusive")
    return "Verdicts by kind — " + "; ".join(parts) + "." if parts else "No claims."

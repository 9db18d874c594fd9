"""Closed-form bounds of Li et al. (2017) §3 and the exact SR Markov chain of §4.

See :mod:`quanttheory.theory.bounds` and :mod:`quanttheory.theory.markov` for the derivations,
and :mod:`quanttheory.theory.floatgrid` for the same on floating-point grids (bf16, fp8, …);
:mod:`quanttheory.theory.evidence` gives the slope CIs and control-gated equivalence verdicts
that the Li et al. theory rows of the claims ledger use.
"""

from . import bounds, evidence, floatgrid, markov
from .bounds import (
    PAPER_FORMS,
    REPLACED,
    bc_convex_bound,
    bc_floor,
    bc_strong_floor,
    bc_strongly_convex_bound,
    estimate_D,
    estimate_G,
    lemma1_bound,
    sr_constant_step_bound,
    sr_convex_bound,
    sr_floor,
    sr_strongly_convex_bound,
)
from .markov import (
    alpha_threshold,
    gibbs,
    sr_temperature,
    stationary_birth_death,
    stationary_distribution,
    total_variation,
    transition_matrix_1d,
    transition_matrix_2d,
)

__all__ = [
    "PAPER_FORMS", "REPLACED", "alpha_threshold", "bc_convex_bound", "bc_floor", "bc_strong_floor",
    "bc_strongly_convex_bound", "bounds", "estimate_D", "estimate_G", "evidence", "floatgrid", "gibbs",
    "lemma1_bound", "markov", "sr_constant_step_bound",
    "sr_convex_bound", "sr_floor", "sr_strongly_convex_bound", "sr_temperature",
    "stationary_birth_death", "stationary_distribution", "total_variation", "transition_matrix_1d",
    "transition_matrix_2d",
]

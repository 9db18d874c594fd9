r"""The training rules of Li et al. (2017) §2 as Optax-shaped pure functions.

=====  ==================================  ===========  =====================
rule   update                              stored       gradient taken at
=====  ==================================  ===========  =====================
SGD    w ← w − α_t g(w)                    float w      w
R      w ← Q_d(w − α_t g(w))               grid w       w
SR     w ← Q_s(w − α_t g(w))               grid w       w
BC     w_r ← w_r − α_t g(Q(w_r))           float w_r    Q(w_r), Q = Q_s or Q_d
=====  ==================================  ===========  =====================

The ``*_adam`` variants replace α_t g by the Adam step α_t m̂_t/(√v̂_t + ε) (Kingma & Ba 2015,
Alg. 1) computed from the same gradients; the moments stay float. ``delta="binary"`` uses the
grid {−1, +1}: Q_d = sign (0 → +1), Q_s = hard-sigmoid stochastic binarisation (BinaryConnect
Eqs. 1–3), and BC clips its float buffer to [−1, 1] unless told otherwise.

Usage (``w``: float array of shape (chains, d); ``rng``: numpy Generator)::

    state = rule.init(w)                          # RuleState(count=0, mu, nu)
    q = rule.query(w, state, rng)                 # where to take the gradient
    w, state = rule.update(g, state, w, rng)      # g = problem.grad(q, rng, batch)
    deployed = rule.deploy(w, state)              # Q_d(w_r) for BC, w otherwise

Randomness is explicit: ``rng`` is passed to the two calls that may round stochastically
(BC-Q_s's ``query``, SR's ``update``), each drawing one uniform per element in C order.

References
----------
.. [1] Li, De, Xu, Studer, Samet, Goldstein. NeurIPS 2017, arXiv:1706.02379, §2 and §5.
.. [2] Courbariaux, Bengio, David. "BinaryConnect". NeurIPS 2015 (clipping w_r to [−1, 1]).
.. [3] Kingma, Ba. "Adam". ICLR 2015, Algorithm 1.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .. import quantizers as Q
from ._validate import check_grads
from .schedules import Schedule, as_schedule

MAX_GRID_INDEX = 2.0**62  # beyond this |w|/Δ the run has diverged (see Rule._quantize)


class RuleState(NamedTuple):
    count: int  # type: ignore[assignment]  # t, updates done so far (Optax's name; shadows tuple.count)
    mu: np.ndarray | None  # Adam first moment, (chains, d); None without Adam
    nu: np.ndarray | None  # Adam second moment, (chains, d)


@dataclass(frozen=True)
class Rule:
    """A training rule (see the module docstring); build one with the factories below."""

    name: str
    schedule: Schedule
    kind: str  # "sgd" | "r" | "sr" | "bc"
    delta: float | None = None  # grid spacing Δ (2.0 in the binary case)
    binary: bool = False
    stochastic_query: bool = False  # BC with Q = Q_s
    clip: float | None = None  # BC: clip w_r to [−clip, clip]
    adam: tuple[float, float, float] | None = None  # (b1, b2, eps)

    def init(self, params, rng=None) -> RuleState:
        """Initial state for ``params`` of shape (chains, d). ``rng`` is unused (Optax parity)."""
        params = np.asarray(params, dtype=np.float64)
        zeros = None if self.adam is None else np.zeros_like(params)
        return RuleState(0, zeros, None if zeros is None else zeros.copy())

    def query(self, params, state: RuleState, rng=None) -> np.ndarray:
        """Where the gradient is evaluated: Q(w_r) for BC, ``params`` otherwise."""
        if self.kind != "bc":
            return params
        return self._quantize(params, self.stochastic_query, rng)

    def update(self, grads, state: RuleState, params, rng=None) -> tuple[np.ndarray, RuleState]:
        """One step: returns the new stored parameters and state (inputs are not mutated)."""
        grads = check_grads(grads, params)
        alpha = float(self.schedule(state.count))
        mu, nu = state.mu, state.nu
        if self.adam is None:
            step = alpha * grads
        else:
            b1, b2, eps = self.adam
            assert mu is not None and nu is not None, "state from init() of an Adam rule"
            t = float(state.count + 1)
            mu = b1 * mu + (1.0 - b1) * grads
            nu = b2 * nu + (1.0 - b2) * (grads * grads)
            # bias corrections as Python floats: CPython's float ** float is libm pow, as numba's
            m_hat, v_hat = mu / (1.0 - b1**t), nu / (1.0 - b2**t)
            step = alpha * m_hat / (np.sqrt(v_hat) + eps)
        u = params - step
        if self.kind == "r":
            u = self._quantize(u, False, None)
        elif self.kind == "sr":
            u = self._quantize(u, True, rng)
        elif self.kind == "bc" and self.clip is not None:
            u = np.minimum(np.maximum(u, -self.clip), self.clip)
        return u, RuleState(state.count + 1, mu, nu)

    def deploy(self, params, state: RuleState | None = None) -> np.ndarray:
        """Deployed weights: Q_d(w_r) (nearest grid point; sign if binary) for BC, else ``params``."""
        if self.kind != "bc":
            return params
        return self._quantize(params, False, None)

    def _quantize(self, x, stochastic, rng):
        if stochastic and rng is None:
            raise TypeError(f"rule {self.name!r} rounds stochastically: pass rng=np.random.Generator")
        with np.errstate(over="ignore", invalid="ignore"):
            # |w|/Δ ≥ 2^62 (or inf/NaN) means the run diverged: the grid index no longer fits the
            # int64 that numba's floor returns, so say so rather than round garbage
            if not np.all(np.abs(x / self.delta) < MAX_GRID_INDEX):
                raise FloatingPointError(f"the iterates diverged (|w|/delta >= 2^62 with delta={self.delta}); "
                                         "lower the learning rate")
        if self.binary:
            return Q.stochastic_binarize(x, rng) if stochastic else Q.binarize(x)
        return Q.stochastic_round(x, self.delta, rng) if stochastic else Q.round_nearest(x, self.delta)


def _grid(delta):
    """(Δ, binary) from ``delta`` = a finite number > 0 or the string "binary"."""
    if isinstance(delta, str):
        if delta == "binary":
            return 2.0, True
        raise ValueError(f"delta={delta!r} is invalid; valid: a number > 0 or 'binary'")
    if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not (np.isfinite(delta) and delta > 0):
        raise ValueError(f"delta={delta!r} is out of range; valid: a finite number > 0 or 'binary'")
    return float(delta), False


def _adam_config(b1, b2, eps):
    for name, value in (("b1", b1), ("b2", b2)):
        if not (isinstance(value, numbers.Real) and 0 <= value < 1):
            raise ValueError(f"{name}={value!r} is out of range; valid: [0, 1)")
    if not (isinstance(eps, numbers.Real) and np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps={eps!r} is out of range; valid: a finite number > 0")
    return float(b1), float(b2), float(eps)


def _bc(name, learning_rate, delta, quantizer, clip, adam):
    d, binary = _grid(delta)
    if quantizer not in ("stochastic", "deterministic"):
        raise ValueError(f"quantizer={quantizer!r} is invalid; valid: 'stochastic' or 'deterministic'")
    if clip is None and binary:
        clip = 1.0  # original BinaryConnect clips w_r to the binary range
    if clip is not None and not (isinstance(clip, numbers.Real) and clip > 0):
        raise ValueError(f"clip={clip!r} is out of range; valid: None or a number > 0")
    clip = None if clip is None or not np.isfinite(clip) else float(clip)
    return Rule(name, as_schedule(learning_rate), "bc", d, binary, quantizer == "stochastic", clip, adam)


def sgd(learning_rate) -> Rule:
    """Float SGD, w ← w − α_t g(w). ``learning_rate``: a number or a schedule."""
    return Rule("sgd", as_schedule(learning_rate), "sgd")


def rounded(learning_rate, delta) -> Rule:
    """R: w ← Q_d(w − α_t g(w)), deterministic rounding onto ΔZ (or {−1, +1})."""
    d, binary = _grid(delta)
    return Rule("r", as_schedule(learning_rate), "r", d, binary)


def sr(learning_rate, delta) -> Rule:
    """SR: w ← Q_s(w − α_t g(w)), stochastic rounding onto ΔZ (or hard-sigmoid binary)."""
    d, binary = _grid(delta)
    return Rule("sr", as_schedule(learning_rate), "sr", d, binary)


def bc(learning_rate, delta, quantizer="stochastic", clip=None) -> Rule:
    """BinaryConnect: w_r ← clip(w_r − α_t g(Q(w_r))); deploy Q_d(w_r).

    Parameters
    ----------
    quantizer : {"stochastic", "deterministic"}
        Q = Q_s (converges on quadratics) or Q_d (practical BinaryConnect; can stall).
    clip : float or None
        Clip w_r to [−clip, clip]; None = no clip, except [−1, 1] when ``delta="binary"``
        (pass ``np.inf`` to disable it there).
    """
    return _bc("bc", learning_rate, delta, quantizer, clip, None)


def adam(learning_rate, b1=0.9, b2=0.999, eps=1e-8) -> Rule:
    """Float Adam (Kingma & Ba 2015, Alg. 1) with step size schedule α_t."""
    return Rule("adam", as_schedule(learning_rate), "sgd", adam=_adam_config(b1, b2, eps))


def r_adam(learning_rate, delta, b1=0.9, b2=0.999, eps=1e-8) -> Rule:
    """R-ADAM: w ← Q_d(w − Adam step)."""
    d, binary = _grid(delta)
    return Rule("r_adam", as_schedule(learning_rate), "r", d, binary, adam=_adam_config(b1, b2, eps))


def sr_adam(learning_rate, delta, b1=0.9, b2=0.999, eps=1e-8) -> Rule:
    """SR-ADAM: w ← Q_s(w − Adam step). "Big SR-ADAM" is this with a much larger batch."""
    d, binary = _grid(delta)
    return Rule("sr_adam", as_schedule(learning_rate), "sr", d, binary, adam=_adam_config(b1, b2, eps))


def bc_adam(learning_rate, delta, quantizer="stochastic", clip=None, b1=0.9, b2=0.999, eps=1e-8) -> Rule:
    """BC-ADAM: Adam on the float buffer w_r with gradients at Q(w_r) (arguments as :func:`bc`)."""
    return _bc("bc_adam", learning_rate, delta, quantizer, clip, _adam_config(b1, b2, eps))

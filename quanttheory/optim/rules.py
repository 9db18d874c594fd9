r"""The training rules of Li et al. (2017) §2 as Optax-shaped pure functions.

=====  ==================================  ===========  =====================
rule   update                              stored       gradient taken at
=====  ==================================  ===========  =====================
SGD    w ← w − α_t g(w)                    float w      w
R      w ← Q_d(w − α_t g(w))               grid w       w
SR     w ← Q_s(w − α_t g(w))               grid w       w
BC     w_r ← w_r − α_t g(Q(w_r))           float w_r    Q(w_r), Q = Q_s or Q_d
Kahan  y = Q_d(−α_t g − c), s = Q_d(w + y)  grid w, c    w
       c ← Q_d((s − w) − y), w ← s
=====  ==================================  ===========  =====================

The ``*_adam`` variants replace α_t g by the Adam step α_t m̂_t/(√v̂_t + ε) (Kingma & Ba 2015,
Alg. 1) computed from the same gradients; the moments stay float. ``delta="binary"`` uses the
grid {−1, +1}: Q_d = sign (0 → +1), Q_s = hard-sigmoid stochastic binarisation (BinaryConnect
Eqs. 1–3), and BC clips its float buffer to [−1, 1] unless told otherwise.

**Floating-point grids.** ``delta`` may also be a :class:`~quanttheory.quantizers.FloatFormat`
or a preset name (``"bf16"``, ``"fp16"``, ``"e4m3"``, ``"e5m2"``, ``"e2m3"``, ``"e3m2"``,
``"e2m1"``): then Q_d is round-to-nearest-even and Q_s stochastic rounding onto that format
(:func:`~quanttheory.quantizers.round_float`, :func:`~quanttheory.quantizers.stochastic_round_float`),
whose spacing ulp(w) grows with |w|. ``optim.sr(lr, "bf16")`` is SR training with bf16 weights and
no float master copy; ``optim.bc(lr, "bf16")`` keeps float64 masters (the "fp32 master weights"
recipe); ``optim.kahan(lr, "bf16")`` is round-to-nearest with a Kahan-compensated update [4]_,
whose compensation c is stored in the same format. An iterate past the format's largest value
counts as divergence unless the format saturates (``FloatFormat("bf16", saturate=True)``).

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
.. [4] Zamirai, Zhang, Aberger, De Sa. "Revisiting BFloat16 Training". arXiv:2010.06192, 2020,
   §3 (Kahan summation of the weight update, compensation kept in 16 bits).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .. import quantizers as Q
from ..quantizers.floatfmt import PRESETS
from ._validate import check_grads
from .schedules import Schedule, as_schedule

MAX_GRID_INDEX = 2.0**62  # beyond this |w|/Δ the run has diverged (see Rule._quantize)


class RuleState(NamedTuple):
    count: int  # type: ignore[assignment]  # t, updates done so far (Optax's name; shadows tuple.count)
    mu: np.ndarray | None  # Adam first moment, (chains, d); None without Adam
    nu: np.ndarray | None  # Adam second moment, (chains, d)
    comp: np.ndarray | None = None  # Kahan compensation c, (chains, d), on the grid; None otherwise


@dataclass(frozen=True)
class Rule:
    """A training rule (see the module docstring); build one with the factories below."""

    name: str
    schedule: Schedule
    kind: str  # "sgd" | "r" | "sr" | "bc" | "kahan"
    delta: float | None = None  # grid spacing Δ (2.0 in the binary case)
    binary: bool = False
    stochastic_query: bool = False  # BC with Q = Q_s
    clip: float | None = None  # BC: clip w_r to [−clip, clip]
    adam: tuple[float, float, float] | None = None  # (b1, b2, eps)
    fmt: Q.FloatFormat | None = None  # floating-point grid (then delta is None)

    def init(self, params, rng=None) -> RuleState:
        """Initial state for ``params`` of shape (chains, d). ``rng`` is unused (Optax parity)."""
        params = np.asarray(params, dtype=np.float64)
        zeros = None if self.adam is None else np.zeros_like(params)
        comp = np.zeros_like(params) if self.kind == "kahan" else None
        return RuleState(0, zeros, None if zeros is None else zeros.copy(), comp)

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
        if self.kind == "kahan":
            return self._kahan(params, step, state, mu, nu)
        u = params - step
        if self.kind == "r":
            u = self._quantize(u, False, None)
        elif self.kind == "sr":
            u = self._quantize(u, True, rng)
        elif self.kind == "bc" and self.clip is not None:
            u = np.minimum(np.maximum(u, -self.clip), self.clip)
        return u, RuleState(state.count + 1, mu, nu)

    def _kahan(self, params, step, state, mu, nu):
        """Kahan-compensated rounding [4]_: the part of the step lost to rounding is carried in c."""
        y = self._quantize(-step - state.comp, False, None)
        s = self._quantize(params + y, False, None)
        comp = self._quantize((s - params) - y, False, None)
        return s, RuleState(state.count + 1, mu, nu, comp)

    def deploy(self, params, state: RuleState | None = None) -> np.ndarray:
        """Deployed weights: Q_d(w_r) (nearest grid point; sign if binary) for BC, else ``params``."""
        if self.kind != "bc":
            return params
        return self._quantize(params, False, None)

    def _quantize(self, x, stochastic, rng):
        if stochastic and rng is None:
            raise TypeError(f"rule {self.name!r} rounds stochastically: pass rng=np.random.Generator")
        if self.fmt is not None:
            return _quantize_float(x, self.fmt, stochastic, rng)
        with np.errstate(over="ignore", invalid="ignore"):
            # |w|/Δ ≥ 2^62 (or inf/NaN) means the run diverged: the grid index no longer fits the
            # int64 that numba's floor returns, so say so rather than round garbage
            if not np.all(np.abs(x / self.delta) < MAX_GRID_INDEX):
                raise FloatingPointError(f"the iterates diverged (|w|/delta >= 2^62 with delta={self.delta}); "
                                         "lower the learning rate")
        if self.binary:
            return Q.stochastic_binarize(x, rng) if stochastic else Q.binarize(x)
        return Q.stochastic_round(x, self.delta, rng) if stochastic else Q.round_nearest(x, self.delta)


def _quantize_float(x, fmt, stochastic, rng):
    """Round onto a float format; leaving its range (or non-finite values) means divergence."""
    with np.errstate(invalid="ignore"):
        inside = np.abs(x) <= (np.inf if fmt.saturate else fmt.max_value)
    if not np.all(inside):
        raise FloatingPointError(f"the iterates diverged (|w| > {fmt.max_value:g}, the range of {fmt}); "
                                 "lower the learning rate or use a saturating format")
    return Q.stochastic_round_float(x, fmt, rng) if stochastic else Q.round_float(x, fmt)


def _grid(delta):
    """(Δ, binary, fmt) from ``delta`` = a number > 0, "binary", a FloatFormat or a preset name."""
    if isinstance(delta, Q.FloatFormat):
        return None, False, delta
    if isinstance(delta, str):
        if delta == "binary":
            return 2.0, True, None
        if delta in PRESETS:
            return None, False, Q.FloatFormat(delta)
        raise ValueError(f"delta={delta!r} is invalid; valid: a number > 0, 'binary', a FloatFormat "
                         f"or one of {sorted(PRESETS)}")
    if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not (np.isfinite(delta) and delta > 0):
        raise ValueError(f"delta={delta!r} is out of range; valid: a finite number > 0, 'binary' or a FloatFormat")
    return float(delta), False, None


def _adam_config(b1, b2, eps):
    for name, value in (("b1", b1), ("b2", b2)):
        if not (isinstance(value, numbers.Real) and 0 <= value < 1):
            raise ValueError(f"{name}={value!r} is out of range; valid: [0, 1)")
    if not (isinstance(eps, numbers.Real) and np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps={eps!r} is out of range; valid: a finite number > 0")
    return float(b1), float(b2), float(eps)


def _bc(name, learning_rate, delta, quantizer, clip, adam):
    d, binary, fmt = _grid(delta)
    if quantizer not in ("stochastic", "deterministic"):
        raise ValueError(f"quantizer={quantizer!r} is invalid; valid: 'stochastic' or 'deterministic'")
    if clip is None and binary:
        clip = 1.0  # original BinaryConnect clips w_r to the binary range
    if clip is not None and not (isinstance(clip, numbers.Real) and clip > 0):
        raise ValueError(f"clip={clip!r} is out of range; valid: None or a number > 0")
    clip = None if clip is None or not np.isfinite(clip) else float(clip)
    return Rule(name, as_schedule(learning_rate), "bc", d, binary, quantizer == "stochastic", clip, adam, fmt)


def sgd(learning_rate) -> Rule:
    """Float SGD, w ← w − α_t g(w). ``learning_rate``: a number or a schedule."""
    return Rule("sgd", as_schedule(learning_rate), "sgd")


def rounded(learning_rate, delta) -> Rule:
    """R: w ← Q_d(w − α_t g(w)), deterministic rounding onto ΔZ (or {−1, +1})."""
    d, binary, fmt = _grid(delta)
    return Rule("r", as_schedule(learning_rate), "r", d, binary, fmt=fmt)


def sr(learning_rate, delta) -> Rule:
    """SR: w ← Q_s(w − α_t g(w)), stochastic rounding onto ΔZ (or hard-sigmoid binary)."""
    d, binary, fmt = _grid(delta)
    return Rule("sr", as_schedule(learning_rate), "sr", d, binary, fmt=fmt)


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
    d, binary, fmt = _grid(delta)
    return Rule("r_adam", as_schedule(learning_rate), "r", d, binary, adam=_adam_config(b1, b2, eps), fmt=fmt)


def sr_adam(learning_rate, delta, b1=0.9, b2=0.999, eps=1e-8) -> Rule:
    """SR-ADAM: w ← Q_s(w − Adam step). "Big SR-ADAM" is this with a much larger batch."""
    d, binary, fmt = _grid(delta)
    return Rule("sr_adam", as_schedule(learning_rate), "sr", d, binary, adam=_adam_config(b1, b2, eps), fmt=fmt)


def bc_adam(learning_rate, delta, quantizer="stochastic", clip=None, b1=0.9, b2=0.999, eps=1e-8) -> Rule:
    """BC-ADAM: Adam on the float buffer w_r with gradients at Q(w_r) (arguments as :func:`bc`)."""
    return _bc("bc_adam", learning_rate, delta, quantizer, clip, _adam_config(b1, b2, eps))


def kahan(learning_rate, delta) -> Rule:
    r"""Round-to-nearest with a Kahan-compensated update (Zamirai et al. 2020 [4]_, §3).

    .. math::
        y = Q_d(-\alpha_t g - c),\quad s = Q_d(w + y),\quad c \leftarrow Q_d((s - w) - y),
        \quad w \leftarrow s

    c holds what rounding removed from the last update (Kahan 1965), so steps below half a
    spacing accumulate in c until they move w: R's freeze (:func:`rounded`) disappears at the
    cost of one more stored number per weight. Every quantity is stored on the grid (the 16-bit
    recipe of [4]_); the arithmetic between roundings is float64.

    Parameters
    ----------
    learning_rate : float or schedule
    delta : float, FloatFormat or preset name
        The grid (``"bf16"`` for the paper's setting).
    """
    d, binary, fmt = _grid(delta)
    if binary:
        raise ValueError("delta='binary' has no Kahan variant (the compensation needs a fine grid)")
    return Rule("kahan", as_schedule(learning_rate), "kahan", d, fmt=fmt)

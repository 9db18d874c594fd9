r"""JAX adapter: the reference quantizers as differentiable JAX functions (optional extra).

Install with ``pip install "quanttheory[jax]"``. Every function has the numpy reference's name
and keywords (:mod:`quanttheory.quantizers`) plus ``axis`` (per-channel / per-group parameters,
the reference's shape rules) and, where the papers offer both, ``backward``:

=================  ==========================================  ==================================
function           forward (bit-identical to the reference)    backward (``jax.custom_vjp``)
=================  ==========================================  ==================================
dsq                DSQ hard map                                "soft": Q_S partials; "ste": STE
apot               APoT RCF                                    apot_partials (clipped STE, Eq. 7)
uniform            clipped uniform                             uniform_partials (clipped STE)
lsq                LSQ (uniform at α = Q_P·s)                  lsq_partials (Eq. 3, grad_scale)
qn                 "soft": sigmoid map at T; "ste": steps      qn_partials at T
round_nearest      Q_d, ties away from zero                    STE (∂q/∂x = 1)
stochastic_round   Q_s with an explicit ``jax.random`` key     STE (∂q/∂x = 1)
=================  ==========================================  ==================================

Precision. Under ``jax.config.update("jax_enable_x64", True)`` everything is computed in
float64 like the reference (float32 inputs too, cast back at the end), and the forward maps
agree with it bit for bit; without x64, JAX has no float64 and the maps run in float32 (the
agreement measured for that case is stated in tests/jax/test_api.py (test_float32_without_x64)).

Subnormal numbers. XLA:CPU flushes subnormal inputs and results to zero (FTZ/DAZ), numpy does
not: inputs, parameters or intermediate quotients (x/α, x/Δ) below 2.2e-308 in magnitude
(1.2e-38 for float32) may give a different zero sign, level or partial than the reference. The
bit-exactness claims above and in the tests are for normal numbers.

Compilation. Each function is a ``jax.jit`` cached on its static arguments and shapes (the
bit-width of DSQ, uniform, APoT and LSQ is a run-time argument, so changing it does not
recompile); differentiate inside your own ``jax.jit`` step, as eager ``jax.grad`` re-traces.

Checks. Static arguments (bits, signed, levels, axis, backward, parameter *shapes*) are checked
at trace time and raise ``ValueError``/``TypeError`` naming the argument, under ``jax.jit`` too.
Values (NaN or ±inf in x, α ≤ 0, l ≥ u, ...) can only be checked when the call is eager (no
tracer among the arguments): then they raise ``ValueError`` like the reference. Under
``jax.jit`` or ``jax.grad`` nothing is checked: NaN in x gives NaN in the output and in the
gradients (it is never mapped to a level), and invalid parameters give NaN or meaningless
values. To check a batch before a jitted step, call the function once eagerly on it.
"""

from __future__ import annotations

try:
    import jax  # noqa: F401  (absolute import: the real jax, not this package)
except ImportError as err:  # pragma: no cover - exercised by simulating a missing jax
    raise ImportError(
        'quanttheory.jax needs JAX, which is an optional extra: pip install "quanttheory[jax]"'
    ) from err

from ._dsq import dsq
from ._qn import qn
from ._rcf import apot, lsq, uniform
from ._rounding import round_nearest, stochastic_round

__all__ = ["apot", "dsq", "lsq", "qn", "round_nearest", "stochastic_round", "uniform"]

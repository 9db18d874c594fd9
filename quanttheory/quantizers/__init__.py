"""Reference numpy quantizers (with a numba fast path in :mod:`quanttheory.quantizers.fast`).

Every function accepts array-likes, returns a new array of the input's shape, never mutates its
input, and raises ``ValueError``/``TypeError`` naming the offending value for bad arguments
(NaN/±inf input, α out of range, lower ≥ upper, unsupported bits, non-real dtypes). Empty
arrays give empty outputs.

Per-channel and per-group parameters. ``uniform``, ``lsq``, ``apot``, ``dsq``, ``qn``, their
``*_partials`` and the numba twins in :mod:`~quanttheory.quantizers.fast` take ``axis`` (None, an
int or an increasing tuple of ints; negative allowed). With ``axis=None`` every parameter is a
scalar (QN's ``biases`` a vector of steps), exactly as before. With ``axis``, each parameter
(α, s, l, u, β, QN biases ``P + (n,)``) is a scalar shared by all channels or an array of
shape P = (p_1, …, p_k), one entry per axis, p_i dividing C_i = x.shape[axis[i]]: p_i = C_i is
per-channel, p_i < C_i per-group (channel c uses index c // (C_i // p_i)). A per-channel call
equals the Python loop of per-tensor calls over the channels bit for bit (tested). The shape
rules live in :mod:`quanttheory.quantizers._validate` (``check_axis``, ``param_layout``), pure
shape arithmetic shared with the JAX and torch adapters.

``*_partials(..., axis=None, cotangent=None)``: with neither given, elementwise partials of
x.shape (as before); otherwise the vector–Jacobian product: ``"x"`` is cotangent·∂q/∂x and each
parameter comes back in its own shape, the sum over the elements it governs of
cotangent·∂q/∂param (cotangent defaults to ones).

>>> import numpy as np
>>> from quanttheory.quantizers import uniform
>>> w = np.array([[0.3, -1.2, 0.7], [2.0, 0.1, -0.4]])
>>> alpha = np.array([1.0, 2.0])                       # one clip per row (output channel)
>>> per_channel = uniform(w, alpha=alpha, bits=3, signed=True, axis=0)
>>> looped = np.stack([uniform(w[c], alpha=alpha[c], bits=3, signed=True) for c in range(2)])
>>> bool(np.array_equal(per_channel, looped))
True

=====================  ==============================================  ======================
function               what                                            paper
=====================  ==============================================  ======================
round_nearest          Q_d, ties away from zero                        Li et al. 2017 §2
stochastic_round       Q_s, unbiased                                   Li et al. 2017 §2
binarize               sign, 0 → +1                                    BinaryConnect Eq. 1
stochastic_binarize    hard-sigmoid binarisation                       BinaryConnect Eq. 2–3
uniform(_partials)     clipped uniform, STE                            APoT Eq. 2
lsq(_partials)         uniform grid, learned step s                    LSQ Eqs. 1, 3
lsq_grad_scale         step-gradient scale 1/√(N·Q_P)                  LSQ §2.2
dsq(_partials)         DSQ hard/soft map                               DSQ Eqs. 3–6
apot(_partials)        APoT RCF                                        APoT Eq. 5, §2.2
apot_levels(_eq5)      APoT level sets                                 APoT Eq. 5 / code
apot_normalize         weight normalisation                            APoT §2.3
qn(_partials)          QN sigmoid/step map                             QN Eqs. 1–3
qn_init                β = 5p/(4q), α = 1/β, k-means biases            QN §3.3
qn_temperature         T = rate × epoch                                QN §4
optimal_alpha          MSE-optimal clipping of a level set             APoT §2.1–2.2
FloatFormat            bf16/fp16/fp8/fp6/fp4 or any (e, m) format      IEEE 754, OCP OFP8/MX
round_float            round to nearest even onto a float format       IEEE 754 §4.3
stochastic_round_float unbiased SR onto a float format                 Li et al. 2017 §2 (float)
=====================  ==============================================  ======================
"""

from . import fast
from .apot import apot, apot_levels, apot_levels_eq5, apot_normalize, apot_partials
from .binary import binarize, stochastic_binarize
from .clipping import optimal_alpha, project_levels
from .dsq import dsq, dsq_partials
from .floatfmt import FloatFormat, round_float, stochastic_round_float
from .lsq import lsq, lsq_grad_scale, lsq_partials
from .qn import qn, qn_init, qn_partials, qn_steps, qn_temperature
from .rounding import round_nearest, stochastic_round
from .uniform import uniform, uniform_levels, uniform_partials

__all__ = [
    "apot", "apot_levels", "apot_levels_eq5", "apot_normalize", "apot_partials",
    "binarize", "stochastic_binarize", "dsq", "dsq_partials", "fast", "lsq", "lsq_grad_scale", "lsq_partials",
    "optimal_alpha", "project_levels",
    "qn", "qn_init", "qn_partials", "qn_steps", "qn_temperature",
    "round_nearest", "stochastic_round", "uniform", "uniform_levels", "uniform_partials",
    "FloatFormat", "round_float", "stochastic_round_float",
]

r"""PyTorch adapter: the reference quantizers as ``torch.autograd.Function``\ s (optional extra).

Install with ``pip install "quanttheory[torch]"`` (pins ``torch==2.13.0``, the CPU build).
``import quanttheory`` never imports torch; importing this module without torch raises
ImportError naming that command.

=================  =====================================  ==========================================
function           forward                                backward (the reference partials)
=================  =====================================  ==========================================
dsq                hard grid l + jΔ (DSQ Fig. 1)          soft map, :func:`~.quantizers.dsq_partials`
                                                          (DSQ Eqs. 3–6); ``"ste"``: STE, l/u through
                                                          the grid index (``nn.layers`` ``dsq_ste``)
apot               RCF on APoT levels (APoT Eq. 5)        :func:`~.quantizers.apot_partials` (Eq. 7)
uniform            clipped uniform (APoT Eq. 2)           :func:`~.quantizers.uniform_partials` (STE)
lsq                LSQ Eq. 1                              :func:`~.quantizers.lsq.lsq_partials` (Eq. 3)
qn                 ``"soft"``: sigmoid map at T (QN       :func:`~.quantizers.qn_partials` (QN Eqs.
                   Eq. 3); ``"ste"``: step map (Eq. 1)    5–8, re-derived) of the sigmoid map at T
stochastic_round   Q_s (Li et al. 2017 §2), generator     identity (STE; E[Q_s(x)] = x)
round_nearest      Q_d, ties away from zero               identity (STE)
=================  =====================================  ==========================================

Keywords and parameter layouts are those of the numpy reference and of :mod:`quanttheory.jax`:
with ``axis`` (int or increasing tuple) a parameter is a scalar or a tensor of shape
P = (p_1, …, p_k), p_i dividing C_i = x.shape[axis[i]] (per channel or per group; QN ``biases``
has shape P + (n_steps,)); the shape rules and messages are those of
:func:`quanttheory.quantizers._validate.param_layout`. Parameters are tensors (Python numbers
are accepted as constants); ``bits``, ``signed``, ``levels``, ``temperature``, ``axis`` and
``backward`` are static.

Numerics. x must be float32 or float64 and finite; every map is evaluated in float64 with the
reference's operations in the reference's order and cast back to x's dtype, as the numpy
reference does for float32. Forward maps of dsq, apot, uniform, lsq and round_nearest therefore
equal the reference bit for bit in both dtypes (tested). QN's sigmoid is ``torch.sigmoid``
(within 2 ulp of scipy's ``expit``, measured) and its Σ s_i σ_i is a matmul whose summation
order differs from numpy's BLAS; DSQ's soft partials use ``torch.tanh`` and ``torch.log1p``
(within 1 ulp of numpy's, measured). The tests bound those differences explicitly. Parameter
gradients are sums over the governed elements, so they match the reference only up to
summation order (bounded in the tests by γ_{n−1}·Σ|terms| per implementation).
"""

from __future__ import annotations

import numpy as np

try:
    import torch
except ImportError as err:  # pragma: no cover - exercised by monkeypatching sys.modules
    raise ImportError(
        'quanttheory.torch needs PyTorch, an optional extra: pip install "quanttheory[torch]"'
    ) from err

from . import _torch_maps as M
from ._torch_core import F64, Identity, apply, check_backward, check_grid, check_x, expand, param
from .quantizers import _validate as V
from .quantizers.apot import _weight_magnitudes, apot_levels
from .quantizers.dsq import BITS as DSQ_BITS
from .quantizers.lsq import lsq_qp
from .quantizers.qn import qn_steps
from .quantizers.uniform import _magnitudes as _uniform_magnitudes

__all__ = ["apot", "dsq", "lsq", "qn", "round_nearest", "stochastic_round", "uniform"]


# --------------------------------------------------------------------------- uniform, APoT, LSQ
def _rcf(name, x, alpha, levels, signed, axis):
    check_x(x)
    axes = V.check_axis(axis, x.ndim)
    a, lay = param(alpha, "alpha", x, axes, low=0.0)
    return apply(name, x, lambda x64, al: M.project(x64, al, levels, signed),
                 lambda x64, q, al: M.rcf_partials(x64, q, al, signed), [(a, lay, 0)], axes)


def uniform(x, *, alpha, bits, signed, axis=None):
    r"""Clipped uniform quantizer, :math:`q = \alpha\,\mathrm{round}(\mathrm{clip}(x/\alpha)m)/m`
    (APoT [Li, Dong, Wang 2020] Eq. 2), with the clipped STE and the RCF α-gradient (Eq. 7).

    Parameters
    ----------
    x : Tensor, shape (...), float32 or float64
    alpha : Tensor, shape () or P, or float
        Clip α > 0, shared or per channel/group along ``axis``.
    bits : int
        2–16 (signed) or 1–16 (unsigned).
    signed : bool
    axis : None, int or tuple of int

    Returns
    -------
    q : Tensor, shape (...), dtype of x; equal to :func:`quanttheory.quantizers.uniform` bit
    for bit. Backward: ∂q/∂x = 1 inside the clip range, ∂q/∂α = q/α − x/α inside, sign(x)
    (signed) or 1[x > α] (unsigned) outside, summed over the elements each α governs.
    """
    signed = V.check_bool(signed, "signed")
    return _rcf("uniform", x, alpha, _uniform_magnitudes(bits, signed), signed, axis)


def apot(x, *, alpha, bits, signed, axis=None):
    r"""APoT forward with the reparameterised clipping function (APoT §2.2, levels Eq. 5 in the
    official code's convention), backward the RCF partials of Eq. 7.

    Parameters and returns as :func:`uniform`; ``bits`` 2–7 (signed) or 1–6 (unsigned).
    Equal to :func:`quanttheory.quantizers.apot` bit for bit.
    """
    signed = V.check_bool(signed, "signed")
    levels = _weight_magnitudes(bits) if signed else apot_levels(bits, signed=False)
    return _rcf("apot", x, alpha, levels, signed, axis)


def lsq(x, *, step, bits, signed, axis=None, grad_scale=1.0):
    r"""Learned Step Size Quantization (Esser et al. 2020): forward Eq. 1,
    :math:`\hat v = s\lfloor\mathrm{clip}(v/s, -Q_N, Q_P)\rceil`, evaluated as :func:`uniform` at
    α = Q_P·s; backward STE in x and the step gradient of Eq. 3 times ``grad_scale``
    (§2.2's g = 1/√(N·Q_P), see :func:`quanttheory.quantizers.lsq.lsq_grad_scale`).

    Parameters
    ----------
    x : Tensor, float32 or float64
    step : Tensor, shape () or P, or float
        s > 0.
    bits, signed, axis
        As :func:`uniform`.
    grad_scale : float, default 1.0

    Returns
    -------
    q : Tensor, dtype of x; equal to :func:`quanttheory.quantizers.lsq.lsq` bit for bit.
    """
    check_x(x)
    signed = V.check_bool(signed, "signed")
    qp = lsq_qp(bits, signed)
    gs = V.check_scalar(grad_scale, "grad_scale", low=0.0)
    levels = _uniform_magnitudes(bits, signed)
    axes = V.check_axis(axis, x.ndim)
    s, lay = param(step, "step", x, axes, low=0.0)

    def partials(x64, q, s64):
        dx, da = M.rcf_partials(x64, q, qp * s64, signed)
        return dx, gs * (qp * da) if gs != 1.0 else qp * da

    return apply("lsq", x, lambda x64, s64: M.project(x64, qp * s64, levels, signed), partials,
                  [(s, lay, 0)], axes)


# --------------------------------------------------------------------------- DSQ
def _check_range(lower, llay, upper, ulay, bits):
    """The reference's checks on (l, u) per channel: l < u, u − l finite, Δ = (u − l)/N ≠ 0."""
    lo, up = (expand(t, lay).cpu().numpy() for t, lay in ((lower, llay), (upper, ulay)))
    lo, up = np.broadcast_arrays(lo, up)
    with np.errstate(over="ignore"):
        width = up - lo
    for bad, what in ((~(lo < up), "need lower < upper"),
                      (~np.isfinite(width), "upper - lower overflows float64"),
                      (width / (2**bits - 1) == 0.0, f"the step (upper - lower)/(2**{bits} - 1) underflows to 0")):
        if np.any(bad):
            idx = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.ndim else ()
            where = f" at channel index {idx}" if idx else ""
            raise ValueError(f"{what}; got lower={lo[idx]!r}, upper={up[idx]!r}{where}")


def dsq(x, *, lower, upper, bits, alpha, axis=None, backward="soft"):
    r"""Differentiable Soft Quantization (Gong et al. 2019): hard forward, soft backward (Fig. 1).

    Forward: the nearest point of the grid {l + jΔ}, Δ = (u − l)/(2^b − 1), ties up — equal to
    :func:`quanttheory.quantizers.dsq` (``soft=False``) bit for bit. Backward
    ``"soft"``: the partials of the soft map Q_S (Eqs. 3–6; :func:`~quanttheory.quantizers.dsq_partials`)
    in x, l, u and α; ``"ste"``: the straight-through estimator on the same grid, ∂x = 1 on
    [l, u], ∂l = 1 − j/N, ∂u = j/N through the grid index j, ∂α = 0 (the paper's baseline; the
    project's ``dsq_ste`` site, :mod:`quanttheory.nn.layers`).

    Parameters
    ----------
    x : Tensor, shape (...), float32 or float64
    lower, upper : Tensor, shape () or P, or float
        Clipping range l < u (per channel or group along ``axis``).
    bits : int
        1–16.
    alpha : Tensor, shape () or P, or float
        Characteristic variable α ∈ (0, 2) (the paper uses (0, 0.5]).
    axis : None, int or tuple of int
    backward : {"soft", "ste"}

    Returns
    -------
    q : Tensor, shape (...), dtype of x
    """
    check_x(x)
    soft = check_backward(backward) == "soft"
    bits = V.check_bits(bits, DSQ_BITS)
    axes = V.check_axis(axis, x.ndim)
    lo, llay = param(lower, "lower", x, axes)
    up, ulay = param(upper, "upper", x, axes)
    al, alay = param(alpha, "alpha", x, axes, low=0.0, high=2.0)
    _check_range(lo, llay, up, ulay, bits)

    def forward(x64, l64, u64, a64):
        return M.dsq_hard(x64, l64, u64, bits)[0]

    def partials(x64, q, l64, u64, a64):
        if soft:
            return M.dsq_soft_partials(x64, l64, u64, a64, bits)
        return M.dsq_ste_partials(x64, l64, u64, bits)

    return apply("dsq", x, forward, partials, [(lo, llay, 0), (up, ulay, 0), (al, alay, 0)], axes)


# --------------------------------------------------------------------------- QN
def qn(x, *, levels, biases, alpha, beta, temperature, axis=None, backward="soft"):
    r"""Quantization Networks (Yang et al. 2019): a sum of sigmoids at temperature T.

    .. math:: y = \alpha\Big(\sum_i s_i\,\sigma\big(T(\beta x - b_i)\big) - o\Big)

    ``backward="soft"``: forward the training map above (Eq. 3), backward its exact partials
    (Eqs. 5–8 re-derived; :func:`~quanttheory.quantizers.qn_partials`) — the paper's training.
    ``"ste"``: forward the step map (Eq. 1, A(0) = 1, the deployed network) and the same soft
    partials backward (straight through the sigmoid surrogate, as DSQ's Fig. 1 does).

    Parameters
    ----------
    x : Tensor, shape (...), float32 or float64
    levels : sequence of float, shape (n + 1,)
        Sorted target levels Y (static).
    biases : Tensor or array_like, shape (n,) or P + (n,)
    alpha, beta : Tensor, shape () or P, or float
        Output and input scales (> 0).
    temperature : float
        T > 0 (static; grows with the epoch, :func:`~quanttheory.quantizers.qn_temperature`).
    axis : None, int or tuple of int
    backward : {"soft", "ste"}

    Returns
    -------
    y : Tensor, shape (...), dtype of x. The soft map is within a few ulp of
    :func:`quanttheory.quantizers.qn` (sigmoid and summation order differ; see the module notes),
    the step map equal to it bit for bit.
    """
    check_x(x)
    soft = check_backward(backward) == "soft"
    steps, o = qn_steps(levels)
    scale = float(np.max(np.abs(np.asarray(levels, dtype=np.float64))))  # as qn._scale
    temperature = V.check_scalar(temperature, "temperature", low=0.0)
    axes = V.check_axis(axis, x.ndim)
    a, alay = param(alpha, "alpha", x, axes, low=0.0)
    b, blay = param(beta, "beta", x, axes, low=0.0)
    bi, bilay = param(biases, "biases", x, axes, trailing=1)
    if bi.ndim == 0 or bi.shape[-1] != steps.size:
        raise ValueError(f"need one bias per step: {steps.size} steps but biases has shape "
                         f"{tuple(bi.shape)} (valid: (n,) or P + (n,) with n = {steps.size})")
    s64 = torch.as_tensor(steps, dtype=F64, device=x.device)

    def forward(x64, a64, b64, bi64):
        return M.qn_map(x64, a64, b64, bi64, s64, o, scale, temperature, soft)

    def partials(x64, q, a64, b64, bi64):
        return M.qn_partials(x64, a64, b64, bi64, s64, o, scale, temperature)

    return apply("qn", x, forward, partials, [(a, alay, 0), (b, blay, 0), (bi, bilay, 1)], axes)


# --------------------------------------------------------------------------- rounding (Li et al. 2017 §2)
def round_nearest(x, *, delta):
    r"""Deterministic rounding :math:`Q_d(w) = \mathrm{sign}(w)\Delta\lfloor|w|/\Delta + ½\rfloor`
    (Li et al. 2017 §2), ties away from zero, decided on the exact fraction as in
    :func:`quanttheory.quantizers.round_nearest` (bit for bit). Backward: identity (STE).

    Parameters
    ----------
    x : Tensor, float32 or float64
    delta : float
        Grid spacing Δ > 0 (static).
    """
    delta = check_grid(x, delta)
    with torch.no_grad():
        w = x.to(F64)
        a = torch.abs(w / delta)
        r = torch.floor(a)
        q = torch.sign(w) * delta * (r + (a - r >= 0.5).to(F64))
    return Identity.apply(x, q.to(x.dtype))


def stochastic_round(x, *, delta, generator):
    r"""Stochastic rounding :math:`Q_s(w) = \Delta\lfloor w/\Delta\rfloor + \Delta[U < w/\Delta -
    \lfloor w/\Delta\rfloor]`, U ~ U[0, 1) (Li et al. 2017 §2): unbiased, E[Q_s(w)] = w.

    One float64 uniform per element from ``torch.rand(x.shape, generator=generator)`` (torch's
    stream, not numpy's: same generator state → same result, but not the numpy reference's
    draws). Backward: identity (STE; the derivative of E[Q_s(w)] = w).

    Parameters
    ----------
    x : Tensor, float32 or float64
    delta : float
        Grid spacing Δ > 0 (static).
    generator : torch.Generator
        Explicit PRNG (no global random state), on x's device.
    """
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator (e.g. torch.Generator().manual_seed(0)); "
                        f"got {generator!r}")
    delta = check_grid(x, delta)
    with torch.no_grad():
        scaled = x.to(F64) / delta
        low = torch.floor(scaled)  # scaled − low is exact: P(up) is the exact fractional part
        u = torch.rand(x.shape, generator=generator, dtype=F64, device=x.device)
        q = delta * (low + (u < scaled - low).to(F64))
    return Identity.apply(x, q.to(x.dtype))



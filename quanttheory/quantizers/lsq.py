r"""Learned Step Size Quantization (LSQ): a uniform grid whose step s is the learned parameter.

References
----------
.. [1] S. K. Esser, J. L. McKinstry, D. Bablani, R. Appuswamy, D. S. Modha. "Learned Step Size
   Quantization". ICLR 2020, arXiv:1902.08153. Eq. 1 (forward), Eq. 3 (step gradient), §2.1
   (initialisation 2⟨|v|⟩/√Q_P), §2.2 (step-gradient scale g = 1/√(N·Q_P)).

Conventions (ours; the same as the project's :func:`uniform`): signed tensors use the symmetric
grid Q_N = Q_P = 2^{b−1} − 1 (2 bits: ternary; the paper's signed grid has one extra negative
level, Q_N = 2^{b−1}); unsigned ones Q_N = 0, Q_P = 2^b − 1. The map is evaluated as the clipped
uniform quantizer at clip α = Q_P·s, so ``lsq(x, step=s, ...)`` equals
``uniform(x, alpha=Q_P*s, ...)`` bit for bit, and ties go away from zero (round_nearest's rule).
"""

from __future__ import annotations

import numpy as np

from . import _projection
from ._validate import (
    as_float_array,
    channel_param,
    channel_param_shaped,
    check_axis,
    check_bool,
    check_cotangent,
    check_finite_result,
    check_scalar,
    vjp_partials,
)
from .uniform import _magnitudes


def lsq_qp(bits, signed) -> int:
    """Q_P, the largest integer level (2^{b−1} − 1 signed, 2^b − 1 unsigned); validates ``bits``."""
    lv = _magnitudes(bits, signed)  # validates bits (2–16 signed, 1–16 unsigned) and signed
    return lv.size - 1


def lsq_grad_scale(n, bits, signed) -> float:
    """The paper's step-gradient scale g = 1/√(N·Q_P) [1]_ §2.2.

    N is the number of weights in the layer (weights) or of features per sample (activations),
    per step value: per-channel steps divide N by the number of channels. Pass the result as
    ``grad_scale`` to :func:`lsq_partials`.
    """
    n = check_scalar(n, "n", low=0.0)
    return float(1.0 / np.sqrt(n * lsq_qp(bits, signed)))


def lsq(x, *, step, bits, signed, axis=None):
    r"""LSQ forward map [1]_ Eq. 1: :math:`\hat v = s\,\lfloor \mathrm{clip}(v/s, -Q_N, Q_P) \rceil`.

    Parameters
    ----------
    x : array_like, shape (...)
    step : float or array_like, shape P
        Step size s > 0: a scalar, or (with ``axis``) one value per channel or group, shape
        P = (p_1, …, p_k) with p_i dividing x.shape[axis[i]] (channel c uses c // (C_i // p_i)).
    bits : int
        2–16 (signed) or 1–16 (unsigned).
    signed : bool
    axis : None, int or tuple of int
        The axes the per-channel ``step`` runs along (negative allowed, increasing order).

    Returns
    -------
    q : ndarray, shape (...), float32 if ``x`` is float32 else float64

    Examples
    --------
    >>> lsq([-1.0, 0.26, 0.4], step=0.25, bits=3, signed=True)
    array([-0.75,  0.25,  0.5 ])
    """
    arr = as_float_array(x)
    axes = check_axis(axis, arr.ndim)
    step = channel_param(step, arr.shape, axes, "step", low=0.0)
    qp = lsq_qp(bits, signed)
    return _projection.project(arr, clip_of(step, qp), _magnitudes(bits, signed), check_bool(signed, "signed"))


def clip_of(step, qp):
    """The clip α = Q_P·s; ValueError naming ``step`` if it overflows float64."""
    with np.errstate(over="ignore"):
        alpha = qp * step
    if not np.all(np.isfinite(alpha)):
        raise ValueError(f"step={float(np.max(step))!r} is too large: Q_P*step overflows float64 "
                         f"(Q_P={qp}); valid: step <= {np.finfo(np.float64).max / qp:.4g}")
    return alpha


def lsq_partials(x, *, step, bits, signed, axis=None, cotangent=None, grad_scale=1.0):
    r"""Partials of :func:`lsq`: STE in x and the step gradient of [1]_ Eq. 3.

    .. math::
        \frac{\partial \hat v}{\partial v} = \mathbb{1}[-Q_N \le v/s \le Q_P],\qquad
        \frac{\partial \hat v}{\partial s} = \begin{cases}
            \lfloor v/s \rceil - v/s & -Q_N \le v/s \le Q_P \\
            -Q_N & v/s < -Q_N \\ Q_P & v/s > Q_P \end{cases}

    The step partial is computed as Q_P·(q/α − v/α) with α = Q_P s (the uniform/APoT clip
    partial times dα/ds), so it is bit-identical to the chain rule through :func:`uniform`.
    At the clip boundary v/s = ±Q_P exactly we count v as inside (STE 1, step partial 0, the
    limit from inside), as :func:`uniform_partials` does; Eq. 3 assigns ±Q_P there. The two
    conventions differ on a set of measure zero.

    Parameters
    ----------
    x, step, bits, signed, axis
        As in :func:`lsq`.
    cotangent : array_like, shape x.shape, optional
        With ``axis`` or ``cotangent`` given the result is the vector–Jacobian product: "x" is
        cotangent·∂q/∂x and "step" has step's shape, the sum over the elements each step value
        governs of cotangent·∂q/∂s (cotangent defaults to ones).
    grad_scale : float, default 1.0
        Multiplies the step partial: LSQ's g = 1/√(N·Q_P) (:func:`lsq_grad_scale`), or 1 for the
        plain gradient.

    Returns
    -------
    partials : dict
        ``{"x", "step"}``: both of shape x.shape (elementwise) when ``axis`` and ``cotangent``
        are None; else "x" of shape x.shape and "step" of shape P (``()`` for a scalar step).
    """
    arr = as_float_array(x)
    axes = check_axis(axis, arr.ndim)
    ct = check_cotangent(cotangent, arr.shape)
    step, shape = channel_param_shaped(step, arr.shape, axes, "step", low=0.0)
    signed = check_bool(signed, "signed")
    qp = lsq_qp(bits, signed)
    grad_scale = check_scalar(grad_scale, "grad_scale", low=0.0)
    alpha = clip_of(step, qp)
    q = _projection.project(arr, alpha, _magnitudes(bits, signed), signed)
    parts = step_partials(arr, alpha, q, qp, signed)
    if grad_scale != 1.0:
        with np.errstate(over="ignore"):
            parts["step"] = grad_scale * parts["step"]
    out = vjp_partials(parts, {"step": shape}, arr.shape, axes, ct)
    check_finite_result(out, "lsq_partials", grad_scale=grad_scale, step=step)
    return out


def step_partials(x, alpha, q, qp, signed):
    """``{"x", "step"}`` elementwise from the forward output ``q`` at clip α = Q_P·s (no checks).

    :mod:`quanttheory.nn.layers` calls this with the fast path's ``q`` (bit-identical to
    :func:`lsq`'s) so a training step projects once.
    """
    parts = _projection.partials(x, alpha, q, signed)
    return {"x": parts["x"], "step": qp * parts["alpha"]}

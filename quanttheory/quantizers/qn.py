r"""Quantization Networks (QN): quantization as a sum of sigmoids with a growing temperature.

References
----------
.. [1] J. Yang, X. Shen, J. Xing, X. Tian, H. Li, B. Deng, J. Huang, X. Hua. "Quantization
   Networks". CVPR 2019, arXiv:1911.09464, §3.1 Eqs. 1–3 (step and sigmoid maps), Eqs. 5–8
   (gradients; the printed versions are garbled in text copies, ours are re-derived), §3.3
   (initialisation β = 5p/(4q), biases from k-means) and §4 (temperature schedule).

Notation: sorted integer target levels Y, n = |Y| − 1 steps, s_i = Y_{i+1} − Y_i, offset
o = −Y_0 (= ½Σs_i for symmetric sets, 0 for activation sets starting at 0).

Per-channel parameters (``axis``): α, β may be scalars or one value per channel or group, the
biases of shape P + (n,). The map is then evaluated channel by channel with the per-tensor code:
the weighted sum Σ s_i σ_i is a BLAS matrix–vector product whose rounding depends on the number
of rows (a row can differ in the last bit between a 1-row and a 17-row product), so a single
vectorised call would not equal the loop of per-tensor calls bit for bit; the loop does, by
construction. The temperature is one scalar (a schedule, not a learned parameter).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from ._kmeans import kmeans_1d
from ._validate import (
    as_float_array,
    as_levels,
    channel_slices,
    check_axis,
    check_bool,
    check_cotangent,
    check_finite_result,
    check_param,
    check_scalar,
    check_scalar_param,
    param_index,
    param_layout,
    reduce_to_param,
)


def qn_steps(levels):
    """Steps s_i and offset o of a sorted level set Y: ``(s, o)``. Y must be strictly increasing,
    real (complex or string levels are refused, not cast) and its steps finite."""
    y = as_levels(levels)
    if y.ndim != 1 or y.size < 2 or not np.all(np.isfinite(y)):
        raise ValueError(f"levels must be a 1-D finite sequence of >= 2 values; got {levels!r}")
    with np.errstate(over="ignore"):
        s = np.diff(y)
    if np.any(s <= 0):
        raise ValueError(f"levels must be strictly increasing; got {levels!r}")
    if not np.all(np.isfinite(s)):
        raise ValueError(f"levels={levels!r} has a step that overflows float64; valid: "
                         f"max(levels) - min(levels) <= {np.finfo(np.float64).max:.4g}")
    return s, float(-y[0])


def _weighted_sum(a, s, o, y0_scale):
    """Σ s_i a_i − o; if the sum overflows, in units of max|Y| (each term is then ≤ 1)."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = a @ s - o
    if np.all(np.isfinite(out)):
        return out
    return y0_scale * (a @ (s / y0_scale) - o / y0_scale)


def _check(x, levels, biases, alpha, beta, temperature):
    arr = as_float_array(x)
    s, o = qn_steps(levels)
    b = as_float_array(biases, "biases").astype(np.float64)
    if b.shape != s.shape:
        raise ValueError(f"need one bias per step: {s.size} steps but biases has shape {b.shape}")
    alpha = check_scalar_param(alpha, "alpha", low=0.0)
    beta = check_scalar_param(beta, "beta", low=0.0)
    temperature = check_scalar(temperature, "temperature", low=0.0)
    # u[..., i] = βx − b_i in float64; the sigmoid argument is T·u (expit saturates without
    # overflow warnings), the step map looks at the sign of u itself, so a huge or tiny T
    # cannot flip a step by overflowing or underflowing T·u
    u = beta * arr.astype(np.float64)[..., None] - b
    return arr, s, o, alpha, beta, temperature, u


def qn(x, *, levels, biases, alpha, beta, temperature, soft=True, axis=None):
    r"""QN forward map: the training (sigmoid) map or the inference step map [1]_ Eqs. 1–3.

    .. math::
        y = \alpha\Big(\sum_{i=1}^{n} s_i\,\sigma\big(T(\beta x - b_i)\big) - o\Big),
        \qquad \text{step map: } \sigma \to A,\ A(z) = \mathbb{1}[z \ge 0]

    A(0) = 1 as in the paper (the official code uses a strict >). ``temperature`` is ignored
    by the step map except for validation.

    Parameters
    ----------
    x : array_like, shape (...)
    levels : sequence of float, shape (n + 1,)
        Sorted target levels Y, e.g. ``[-1, 0, 1]``.
    biases : array_like, shape (n,) or P + (n,)
        Shape P + (n,) with ``axis``: one bias vector per channel or group.
    alpha, beta : float or array_like, shape P
        Output and input scales (> 0); with ``axis`` a scalar (shared) or one value per channel
        or group, P = (p_1, …, p_k) with p_i dividing C_i = x.shape[axis[i]] (channel c uses
        index c // (C_i // p_i)).
    temperature : float
        T > 0 (always one scalar).
    soft : bool, default True
    axis : None, int or tuple of int, default None
        Channel axes of per-channel parameters (negative allowed, increasing). The result is
        the loop of per-tensor calls over the channels (see the module notes).

    Returns
    -------
    y : ndarray, shape (...), float64
    """
    axes = check_axis(axis, np.ndim(as_float_array(x)))
    if axes is not None:
        arr, kws, _ = _channel_kwargs(x, levels, biases, alpha, beta, temperature, axes)
        soft = check_bool(soft, "soft")
        out = np.empty(arr.shape)
        for index, kw in kws:
            out[index] = qn(arr[index], levels=levels, soft=soft, **kw)
        return out
    arr, s, o, alpha, _, temperature, u = _check(x, levels, biases, alpha, beta, temperature)
    if check_bool(soft, "soft"):
        with np.errstate(over="ignore"):  # T·u = ±inf saturates expit to exactly 0 or 1
            a = expit(temperature * u)
    else:
        a = (u >= 0).astype(np.float64)
    with np.errstate(over="ignore"):
        y = alpha * _weighted_sum(a, s, o, _scale(levels))
    check_finite_result(y, "qn", alpha=alpha, beta=beta, temperature=temperature, levels=levels)
    return y


def _scale(levels):
    return float(np.max(np.abs(np.asarray(levels, dtype=np.float64))))


def _channel_kwargs(x, levels, biases, alpha, beta, temperature, axes):
    """Validate per-channel QN parameters: ``(arr, [(x_index, per-tensor kwargs), ...], shapes)``."""
    arr = as_float_array(x)
    s, _ = qn_steps(levels)
    b = as_float_array(biases, "biases").astype(np.float64)
    if b.ndim == 0 or b.shape[-1] != s.size:
        raise ValueError(f"need one bias per step: {s.size} steps, so biases must have shape P + ({s.size},) "
                         f"(P = () or the per-channel shape); got shape {b.shape}")
    params = {"alpha": check_param(alpha, "alpha", low=0.0), "beta": check_param(beta, "beta", low=0.0)}
    temperature = check_scalar(temperature, "temperature", low=0.0)
    shapes = {k: np.shape(v) for k, v in params.items()} | {"biases": b.shape[:-1]}
    for name, shape in shapes.items():
        param_layout(shape, arr.shape, axes, "biases (less its per-step dim)" if name == "biases" else name)
    params["biases"] = b
    kws = [(index, {k: v[param_index(chans, shapes[k], arr.shape, axes)] if isinstance(v, np.ndarray) else v
                    for k, v in params.items()} | {"temperature": temperature})
           for index, chans in channel_slices(arr.shape, axes)]
    return arr, kws, shapes


def qn_partials(x, *, levels, biases, alpha, beta, temperature, axis=None, cotangent=None):
    r"""Partials of the soft map [derived]:

    .. math::
        \partial_x y = \alpha\beta T\sum_i s_i\sigma_i(1-\sigma_i),\quad
        \partial_\alpha y = y/\alpha,\quad
        \partial_\beta y = \alpha T x\sum_i s_i\sigma_i(1-\sigma_i),\quad
        \partial_{b_i} y = -\alpha T s_i\sigma_i(1-\sigma_i)

    with :math:`\sigma_i = \sigma(T(\beta x - b_i))`; σ(1 − σ) is computed as
    expit(z)·expit(−z), which does not cancel to 0 − 0 for large |z|.

    Parameters
    ----------
    x, levels, biases, alpha, beta, temperature, axis
        As in :func:`qn`.
    cotangent : array_like, shape x.shape, optional
        The incoming gradient dL/dy of a vector–Jacobian product.

    Returns
    -------
    partials : dict
        ``axis`` and ``cotangent`` None: elementwise, ``"x"``, ``"alpha"``, ``"beta"`` of shape
        x.shape and ``"biases"`` of shape x.shape + (n,). Otherwise the VJP: "x" =
        cotangent·∂y/∂x (x.shape); "alpha", "beta" of their own shape P (``()`` for a scalar)
        and "biases" of shape P + (n,), each the sum over the elements the value governs of
        cotangent·∂y/∂param (cotangent defaults to ones).
    """
    arr = as_float_array(x)
    axes = check_axis(axis, arr.ndim)
    ct = check_cotangent(cotangent, arr.shape)
    if axes is None:
        parts = _partials(arr, levels, biases, alpha, beta, temperature)
        if ct is None:
            return parts
        shapes = {"alpha": (), "beta": (), "biases": ()}
    else:
        arr, kws, shapes = _channel_kwargs(arr, levels, biases, alpha, beta, temperature, axes)
        n = qn_steps(levels)[0].size
        parts = {k: np.empty(arr.shape) for k in ("x", "alpha", "beta")} | {"biases": np.empty((*arr.shape, n))}
        for index, kw in kws:
            for k, v in _partials(arr[index], levels, **kw).items():
                parts[k][index] = v
    ct = np.ones(arr.shape) if ct is None else ct
    db = parts["biases"]
    return {
        "x": ct * parts["x"],
        "alpha": reduce_to_param(ct * parts["alpha"], shapes["alpha"], arr.shape, axes),
        "beta": reduce_to_param(ct * parts["beta"], shapes["beta"], arr.shape, axes),
        "biases": np.stack([reduce_to_param(ct * db[..., k], shapes["biases"], arr.shape, axes)
                            for k in range(db.shape[-1])], axis=-1),
    }


def _partials(x, levels, biases, alpha, beta, temperature):
    """Elementwise partials of the per-tensor soft map (see :func:`qn_partials`)."""
    arr, s, o, alpha, beta, temperature, u = _check(x, levels, biases, alpha, beta, temperature)
    with np.errstate(over="ignore"):  # ±inf gives σ(1 − σ) = 0 exactly, no NaN
        z = temperature * u
    dsig = expit(z) * expit(-z)
    with np.errstate(over="ignore", invalid="ignore"):
        weighted = dsig @ s
        out = {
            # T·σ(1 − σ) first: it is 0 where σ saturates, so a product αβT that overflows
            # cannot meet that 0 and give inf·0 = NaN
            "x": alpha * beta * (temperature * weighted),
            "alpha": _weighted_sum(expit(z), s, o, _scale(levels)),  # ∂y/∂α = y/α, without y
            "beta": alpha * (temperature * weighted) * arr.astype(np.float64),
            "biases": -alpha * s * (temperature * dsig),
        }
    check_finite_result(out, "qn_partials", alpha=alpha, beta=beta, temperature=temperature, levels=levels)
    return out


def qn_init(x, levels):
    r"""The paper's initialisation [1]_ §3.3: ``(biases, alpha, beta)``.

    β = 5p/(4q) with p = max|Y| and q = max|x|, α = 1/β. Biases: binary {−1, 1} → one step at
    0; ternary {−1, 0, 1} → ±0.05; otherwise the midpoints of consecutive sorted centres of a
    1-D k-means of βx into n + 1 clusters. The k-means is solved exactly (global optimum,
    :func:`quanttheory.quantizers._kmeans.kmeans_1d`, O(k·n log n) time, O(k·n) int32
    memory), so the biases do not depend on an initialisation; Lloyd's algorithm can stop
    in a local optimum (up to 14 % higher within-cluster SSE on Gaussian weights, 7 clusters).

    Parameters
    ----------
    x : array_like
        Full-precision values (weights or activations) with max|x| > 0.
    levels : sequence of float, shape (n + 1,)

    Returns
    -------
    biases : ndarray, shape (n,)
    alpha, beta : float
    """
    arr = as_float_array(x).astype(np.float64).ravel()
    s, _ = qn_steps(levels)
    y = as_levels(levels)
    q = float(np.max(np.abs(arr))) if arr.size else 0.0
    if q == 0.0:
        raise ValueError("x must contain a non-zero value (beta = 5p/(4 max|x|) is undefined)")
    beta = _init_beta(float(np.max(np.abs(y))), q, levels)
    if np.array_equal(y, [-1.0, 1.0]):
        biases = np.zeros(1)
    elif np.array_equal(y, [-1.0, 0.0, 1.0]):
        biases = np.array([-0.05, 0.05])
    else:
        if np.unique(arr).size < s.size + 1:
            raise ValueError(f"x has fewer distinct values than the {s.size + 1} clusters needed")
        with np.errstate(over="ignore"):
            scaled = beta * arr
        check_finite_result(scaled, "beta * x", beta=beta, levels=levels)
        c, _ = kmeans_1d(scaled, s.size + 1)
        biases = (c[1:] + c[:-1]) / 2.0
    check_finite_result(biases, "qn_init biases", levels=levels, beta=beta)
    return biases, 1.0 / beta, beta


def _init_beta(p: float, q: float, levels) -> float:
    """β = 5p/(4q), evaluated as 1.25·(p/q) if 4q overflows; ValueError unless β and 1/β are
    finite and positive (a huge max|levels| / max|x| ratio, or a tiny one)."""
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        beta = 5.0 * p / (4.0 * q)
        if not (np.isfinite(beta) and beta > 0):
            beta = 1.25 * (p / q)
        ok = np.isfinite(beta) and beta > 0 and np.isfinite(1.0 / beta)
    if not ok:
        raise ValueError(f"beta = 5 max|levels| / (4 max|x|) = 5*{p!r}/(4*{q!r}) is not a positive finite "
                         f"float64 with a finite 1/beta; rescale x or levels={levels!r:.80}")
    return float(beta)


def qn_temperature(epoch, *, rate):
    r"""Linear temperature schedule T = rate × epoch (epochs counted from 1) [1]_ §4.

    The paper uses rate ∈ {5, 10, 20, 40}.
    """
    epoch = check_scalar(epoch, "epoch", low=1.0, low_open=False)
    rate = check_scalar(rate, "rate", low=0.0)
    t = rate * epoch
    check_finite_result(t, "qn_temperature", epoch=epoch, rate=rate)
    return t

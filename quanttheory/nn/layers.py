r"""Quantizer *sites* of a quantization-aware-trained network: one per method.

A site quantizes one tensor (a layer's weights, ``signed=True``, or its ReLU activations,
``signed=False``) and owns that quantizer's parameters. Four methods, each as its paper trains it:

==========  ====================================================  ==============================
method      forward (training / evaluation) and backward            learnable (frozen)
==========  ====================================================  ==============================
uniform     clipped uniform, STE (∂x = 1 inside the clip range)     α
dsq         hard map both; backward = partials of the soft map      l, u, α (α clamped to the
            (DSQ [1]_ Fig. 1)                                       implementations' (0, 0.5])
apot        weights: normalise, RCF, × fixed scale; acts: RCF;     α (weights: fixed scale)
            clipped STE (APoT [2]_ §2.2–2.3)
qn          soft map at temperature T / step map (QN [3]_ §3)       α, β (biases from qn_init)
float       identity (the full-precision baseline)                  —
==========  ====================================================  ==============================

Every backward pass multiplies the upstream gradient by the partials the quantizers export
(:func:`quanttheory.quantizers.dsq_partials` etc.); no derivative formula is duplicated here
except the weight normalisation's, which is not a quantizer.

Site state is a pair of dicts: ``learn`` (name → float, trained by Adam) and ``frozen``
(name → float or array: QN biases, APoT's weight scale).

References
----------
.. [1] Gong et al. "Differentiable Soft Quantization". ICCV 2019, arXiv:1908.05033, §3.2, Fig. 1.
.. [2] Li, Dong, Wang. "Additive Powers-of-Two Quantization". ICLR 2020, arXiv:1909.13144, §2.2–2.3.
.. [3] Yang et al. "Quantization Networks". CVPR 2019, arXiv:1911.09464, §3.1–3.3.
"""

from __future__ import annotations

import numpy as np

from quanttheory import quantizers as Q

METHODS = ("float", "uniform", "dsq", "apot", "qn")
MODES = ("train", "eval", "soft")
#: Methods whose "soft" map differs from the deployed ("eval") map.
SOFT_METHODS = ("dsq", "qn")

#: DSQ's α is kept in [ALPHA_MIN, 0.5]: implementations initialise it at 0.2 and clamp it at 0.5
#: (above that the "soft" map is closer to the identity than to rounding); the floor keeps
#: K = log(2/α − 1) finite.
DSQ_ALPHA_INIT, DSQ_ALPHA_MIN, DSQ_ALPHA_MAX = 0.2, 1e-4, 0.5
#: Positive parameters (α, β, scales) are floored here after every optimiser step.
POSITIVE_FLOOR = 1e-6
#: Minimal DSQ range u − l: below it Δ = (u − l)/N can underflow and the map degenerates.
DSQ_MIN_RANGE = 1e-6
#: Activations are clipped at this quantile of the first batch (the common initial range).
ACT_QUANTILE = 0.99
#: Weights are clipped at this many standard deviations (APoT's official weight α = 3.0
#: on normalised weights is the same rule).
WEIGHT_CLIP_STDS = 3.0
APOT_EPS = 1e-5


def check_method(method, bits):
    """Validate ``(method, bits)``; returns them. Weights are signed, so bits ≥ 2."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    if isinstance(bits, bool) or not isinstance(bits, int | np.integer) or not 2 <= bits <= 8:
        raise ValueError(f"bits must be an integer in 2..8; got {bits!r}")
    return method, int(bits)


def qn_levels(bits, signed):
    """QN integer target levels: ±(2^(b−1) − 1) for weights (2 bits: ternary), 0..2^b − 1 for acts."""
    m = 2 ** (bits - 1) - 1 if signed else 2**bits - 1
    return np.arange(-m if signed else 0, m + 1, dtype=np.float64)


def _clip_init(x, signed):
    if signed:
        return WEIGHT_CLIP_STDS * float(np.std(x))
    return float(np.quantile(x, ACT_QUANTILE))


def init_site(method, bits, x, *, signed, weight_scale=1.0):
    """Initial ``(learn, frozen)`` of one site from the tensor it will quantize.

    Parameters
    ----------
    method : str
        One of :data:`METHODS`.
    bits : int
        2–8.
    x : ndarray
        The float weights (``signed=True``) or a batch of ReLU activations.
    signed : bool
    weight_scale : float
        APoT only: the fixed factor the normalised quantized weights are multiplied by (our
        MLP has no batch-norm to absorb the scale of W̃ ~ N(0, 1)).

    Returns
    -------
    learn : dict of str to float
    frozen : dict of str to float or ndarray
    """
    method, bits = check_method(method, bits)
    c = _clip_init(x, signed)
    if c <= 0.0 and method != "float":
        raise ValueError(f"cannot initialise a {method} range from an all-zero tensor (clip {c})")
    if method == "float":
        return {}, {}
    if method == "uniform":
        return {"alpha": c}, {}
    if method == "dsq":
        lower = -c if signed else 0.0
        return {"lower": lower, "upper": c, "alpha": DSQ_ALPHA_INIT}, {}
    if method == "apot":
        if signed:
            return {"alpha": WEIGHT_CLIP_STDS}, {"scale": float(weight_scale)}
        return {"alpha": c}, {}
    biases, alpha, beta = Q.qn_init(x, qn_levels(bits, signed))
    return {"alpha": alpha, "beta": beta}, {"biases": biases}


def _qn_kw(bits, signed, p, temperature):
    return {"levels": qn_levels(bits, signed), "biases": p["biases"], "alpha": p["alpha"],
            "beta": p["beta"], "temperature": temperature}


def quantize(method, bits, x, p, *, signed, mode="train", temperature=1.0):
    """Forward map of one site. ``p`` = learn | frozen; ``mode`` in :data:`MODES`.

    ``"train"`` is what the training forward uses (DSQ: hard; QN: soft at ``temperature``),
    ``"eval"`` the deployed map (QN: step), ``"soft"`` the map whose derivative the backward
    pass computes (DSQ and QN: the soft maps; STE methods: the hard map itself).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}; got {mode!r}")
    if method == "float":
        return x
    if method == "uniform":
        return Q.uniform(x, alpha=p["alpha"], bits=bits, signed=signed)
    if method == "dsq":
        return Q.dsq(x, lower=p["lower"], upper=p["upper"], bits=bits, alpha=p["alpha"],
                     soft=mode == "soft")
    if method == "apot":
        if not signed:
            return Q.apot(x, alpha=p["alpha"], bits=bits, signed=False)
        w = Q.apot_normalize(x, eps=APOT_EPS)
        return p["scale"] * Q.apot(w, alpha=p["alpha"], bits=bits, signed=True)
    return Q.qn(x, soft=mode != "eval", **_qn_kw(bits, signed, p, temperature))


def normalize_vjp(w, g, eps=APOT_EPS):
    r"""Vector–Jacobian product of :func:`quanttheory.quantizers.apot_normalize` (APoT §2.3).

    With c = w − μ, σ the unbiased std and d = σ + ε, w̃ = c/d and

    .. math:: \frac{\partial L}{\partial w} = \frac{g - \bar g}{d}
              - \frac{\sum_j g_j c_j}{d^2}\,\frac{c}{(n-1)\,\sigma}

    (the μ-path of σ vanishes because Σc = 0). A constant tensor (σ = 0) has w̃ ≡ 0 for any
    small perturbation direction along c, so its σ term is dropped instead of dividing by 0.
    """
    n = w.size
    c = w - w.mean()
    sigma = float(np.sqrt(np.sum(c * c) / (n - 1)))
    d = sigma + eps
    out = (g - g.mean()) / d
    if sigma > 0.0:
        out -= float(np.sum(g * c)) / d**2 * c / ((n - 1) * sigma)
    return out


def _partials(method, bits, x, p, signed, temperature):
    if method == "uniform":
        return Q.uniform_partials(x, alpha=p["alpha"], bits=bits, signed=signed)
    if method == "dsq":
        return Q.dsq_partials(x, lower=p["lower"], upper=p["upper"], bits=bits, alpha=p["alpha"])
    if method == "apot":
        return Q.apot_partials(x, alpha=p["alpha"], bits=bits, signed=signed)
    return Q.qn_partials(x, **_qn_kw(bits, signed, p, temperature))


def site_vjp(method, bits, x, p, g, *, signed, temperature=1.0):
    """Backward pass of one site: ``(dL/dx, {learnable name: dL/dparam})``.

    ``g`` is dL/dq for q = :func:`quantize` of ``x``. The partials are those of the training
    map (DSQ, QN: soft maps; uniform, APoT: clipped straight-through estimator), evaluated at
    ``x`` — for APoT weights at the normalised weights, followed by :func:`normalize_vjp`.
    """
    if method == "float":
        return g, {}
    scale = 1.0
    if method == "apot" and signed:
        x_in = Q.apot_normalize(x, eps=APOT_EPS)
        scale = p["scale"]
    else:
        x_in = x
    parts = _partials(method, bits, x_in, p, signed, temperature)
    gs = g * scale
    grads = {k: float(np.sum(gs * parts[k])) for k in p if k in parts and k != "biases"}
    gx = gs * parts["x"]
    if method == "apot" and signed:
        gx = normalize_vjp(x, gx)
    return gx, grads


def step_scales(method, learn):
    """Per-parameter step-size multipliers: the optimiser runs on p / scale (returns a new dict).

    Adam moves every parameter by about the learning rate per step whatever its size, so a
    quantizer scale that is small in absolute terms (QN's β of a layer with large activations
    starts near 0.04) would be driven to 0 within a few steps while one near 20 would barely
    move. We therefore scale each site parameter's step by its initial size: α and β by their
    initial values, DSQ's l and u by the initial range u − l; DSQ's α is dimensionless
    (bounded in (0, 0.5]) and keeps multiplier 1.
    """
    if method == "dsq":
        width = learn["upper"] - learn["lower"]
        return {"lower": width, "upper": width, "alpha": 1.0}
    return {k: abs(float(v)) for k, v in learn.items()}


def project_site(method, learn):
    """Keep a site's learnable parameters valid after an optimiser step (returns a new dict).

    DSQ: α clamped to [DSQ_ALPHA_MIN, 0.5] and u − l ≥ DSQ_MIN_RANGE (widened about the
    midpoint); every α, β of the other methods floored at POSITIVE_FLOOR.
    """
    out = dict(learn)
    if method == "dsq":
        out["alpha"] = float(np.clip(out["alpha"], DSQ_ALPHA_MIN, DSQ_ALPHA_MAX))
        mid, half = (out["lower"] + out["upper"]) / 2, (out["upper"] - out["lower"]) / 2
        if half < DSQ_MIN_RANGE / 2:
            out["lower"], out["upper"] = mid - DSQ_MIN_RANGE / 2, mid + DSQ_MIN_RANGE / 2
        return out
    for k in ("alpha", "beta"):
        if k in out:
            out[k] = max(float(out[k]), POSITIVE_FLOOR)
    return out

r"""Quantizer *sites*: one tensor (a layer's weights or the activations feeding it), one quantizer.

A site's state is a pair of dicts: ``learn`` (name → float, trained with the network) and
``frozen`` (name → float or array: fixed clips, QN biases, APoT's output scale, the running
ranges of a statistics-based site). Every *kind* below is one quantizer with one backward rule;
:mod:`quanttheory.nn.recipes` assembles kinds, initialisations and optimiser settings into the
papers' recipes.

=============  ===========================================  =======================================
kind           forward (train / deployed)                   backward; learnable
=============  ===========================================  =======================================
uniform        clipped uniform at a fixed clip              clipped STE; — (clip frozen)
lsq            uniform, step s learned                      STE; s with LSQ's gradient scale [4]_
dsq            DSQ hard grid l + jΔ                         soft-map partials [1]_; l, u, α
dsq_ste        DSQ hard grid l + jΔ                         STE, l/u through the frozen grid index
dsq_stat       DSQ hard grid, l/u from running min/max      soft-map partial in x; — (α fixed)
apot           (weights: normalised) RCF on APoT levels     clipped STE + RCF α-gradient [2]_; α
uniform_rcf    (weights: normalised) RCF on uniform levels  as apot (the same-clip ablation)
qn             sigmoid sum at T / step map                  exact or released slope [3]_; α, β
float          identity                                     identity
=============  ===========================================  =======================================

Level counts at b bits: signed uniform/LSQ/APoT/QN sets have 2^b − 1 levels (2 bits: ternary);
DSQ's grid has 2^b (2 bits: four levels, none at 0). Activations have 2^b levels everywhere.

References
----------
.. [1] Gong et al. "Differentiable Soft Quantization". ICCV 2019, arXiv:1908.05033, §3.2, Fig. 1.
.. [2] Li, Dong, Wang. "Additive Powers-of-Two Quantization". ICLR 2020, arXiv:1909.13144, §2.2–2.3.
.. [3] Yang et al. "Quantization Networks". CVPR 2019, arXiv:1911.09464, §3.1–3.3.
.. [4] Esser et al. "Learned Step Size Quantization". ICLR 2020, arXiv:1902.08153, §2.1–2.2.
"""

from __future__ import annotations

import numpy as np

from quanttheory import quantizers as Q
from quanttheory.quantizers import _projection
from quanttheory.quantizers import fast as F
from quanttheory.quantizers._kmeans import kmeans_1d
from quanttheory.quantizers.lsq import step_partials

KINDS = ("float", "uniform", "lsq", "dsq", "dsq_ste", "dsq_stat", "apot", "uniform_rcf", "qn")
MODES = ("train", "eval", "soft")
#: Kinds whose "soft" map differs from the deployed ("eval") map.
SOFT_KINDS = ("dsq", "dsq_stat", "qn")
QN_GRADS = ("exact", "released")

#: DSQ's α: implementations initialise it at 0.2 and clamp it to (0, 0.5]; the floor keeps
#: K = log(2/α − 1) finite. MQBench's variant fixes it at 0.4.
DSQ_ALPHA_INIT, DSQ_ALPHA_MIN, DSQ_ALPHA_MAX, DSQ_ALPHA_FIXED = 0.2, 1e-4, 0.5, 0.4
#: Positive parameters (α, β, steps) are floored here after every optimiser step.
POSITIVE_FLOOR = 1e-6
#: Minimal DSQ range u − l: below it Δ can underflow and the map degenerates.
DSQ_MIN_RANGE = 1e-6
#: APoT's official initial weight clip on normalised weights (3 standard deviations).
APOT_WEIGHT_ALPHA = 3.0
APOT_EPS = 1e-5
#: Running-range momentum of the statistics-based DSQ site (MQBench's EMA observer, [recalled]).
EMA_MOMENTUM = 0.1
#: Candidate clips (fractions of max|x|) searched for the MSE-optimal clip.
_CLIP_FRACTIONS = np.linspace(0.05, 1.0, 96)


def check_kind(kind, bits):
    """Validate ``(kind, bits)``; returns them. Weights are signed, so bits ≥ 2."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
    if isinstance(bits, bool) or not isinstance(bits, int | np.integer) or not 2 <= bits <= 8:
        raise ValueError(f"bits must be an integer in 2..8; got {bits!r}")
    return kind, int(bits)


def qn_levels(bits, signed):
    """QN integer target levels: ±(2^(b−1) − 1) for weights (2 bits: ternary), 0..2^b − 1 for acts."""
    m = 2 ** (bits - 1) - 1 if signed else 2**bits - 1
    return np.arange(-m if signed else 0, m + 1, dtype=np.float64)


def qmax(bits, signed):
    """Largest integer level Q_p of the uniform grid (LSQ's notation; :func:`quanttheory.quantizers.lsq`)."""
    return 2 ** (bits - 1) - 1 if signed else 2**bits - 1


def _dsq_grid(x, c, bits, signed):
    lo = -c if signed else 0.0
    return Q.dsq(x, lower=lo, upper=c, bits=bits, alpha=DSQ_ALPHA_MAX)


def mse_clip(x, bits, *, signed, grid="uniform"):
    """The clip c minimising mean (Q(x) − x)² over c ∈ max|x|·{0.05, …, 1} (96 candidates).

    ``grid`` is ``"uniform"`` (levels ±c·j/Q_p, acts c·j/Q_p) or ``"dsq"`` (DSQ's grid on
    [−c, c], acts [0, c]). Computed on a subsample of at most 20 000 values (deterministic stride).
    """
    a = np.asarray(x, dtype=np.float64).ravel()
    a = a[:: max(1, a.size // 20_000)]
    top = float(np.max(np.abs(a)))
    if top == 0.0:
        raise ValueError("cannot choose a clip for an all-zero tensor")
    best, best_err = top, np.inf
    for c in top * _CLIP_FRACTIONS:
        q = _dsq_grid(a, c, bits, signed) if grid == "dsq" else Q.uniform(a, alpha=c, bits=bits, signed=signed)
        err = float(np.mean((q - a) ** 2))
        if err < best_err:
            best, best_err = float(c), err
    return best


def qn_kmeans_biases(x, levels, beta):
    """QN biases from k-means of βx into |Y| clusters: midpoints of sorted centres (all level sets).

    The paper's §3.3 uses ±0.05 for ternary sets; the released code runs the k-means for every
    set, which is what the recipes use.
    """
    a = np.asarray(x, dtype=np.float64).ravel()
    a = a[:: max(1, a.size // 20_000)]
    c, _ = kmeans_1d(beta * a, len(levels))
    return (c[1:] + c[:-1]) / 2.0


def _init_dsq(bits, x, signed, kind):
    c = mse_clip(x, bits, signed=signed, grid="dsq")
    lo = -c if signed else 0.0
    if kind == "dsq":
        return {"lower": lo, "upper": c, "alpha": DSQ_ALPHA_INIT}, {}
    if kind == "dsq_ste":
        return {"lower": lo, "upper": c}, {}
    a = np.asarray(x, dtype=np.float64)
    return {}, {"lower": float(a.min()), "upper": float(a.max()), "alpha": DSQ_ALPHA_FIXED}


def _init_rcf(bits, x, signed):
    if signed:
        return {"alpha": APOT_WEIGHT_ALPHA}, {"scale": float(np.std(x, ddof=1))}
    return {"alpha": mse_clip(x, bits, signed=False)}, {}


def init_site(kind, bits, x, *, signed):
    """Initial ``(learn, frozen)`` of one site from the tensor it will quantize.

    uniform: MSE-optimal clip (frozen). lsq: s = 2·mean|x|/√Q_p ([4]_ §2.1). dsq, dsq_ste:
    l, u = the MSE-optimal range of DSQ's grid, α = 0.2. dsq_stat: min/max, α = 0.4. apot,
    uniform_rcf: weights α = 3 on normalised weights, output scale = std(W) (we have no batch
    norm to absorb it); activations α = MSE-optimal clip. qn: β = 5p/(4q), α = 1/β ([3]_ §3.3),
    biases from k-means (:func:`qn_kmeans_biases`).
    """
    kind, bits = check_kind(kind, bits)
    if kind == "float":
        return {}, {}
    if not np.any(np.asarray(x)):
        raise ValueError(f"cannot initialise a {kind} site from an all-zero tensor")
    if kind == "uniform":
        return {}, {"alpha": mse_clip(x, bits, signed=signed)}
    if kind == "lsq":
        return {"step": 2.0 * float(np.mean(np.abs(x))) / np.sqrt(qmax(bits, signed))}, {}
    if kind.startswith("dsq"):
        return _init_dsq(bits, x, signed, kind)
    if kind in ("apot", "uniform_rcf"):
        return _init_rcf(bits, x, signed)
    levels = qn_levels(bits, signed)
    _, alpha, beta = Q.qn_init(x, levels)
    return {"alpha": alpha, "beta": beta}, {"biases": qn_kmeans_biases(x, levels, beta)}


def observe(kind, x, frozen, *, signed):
    """Update a statistics-based site's running range from a training batch (returns a new dict).

    dsq_stat weights take the current min/max (MQBench's MinMax observer); activations an
    exponential moving average of the batch min/max (its EMA observer) [recalled]. Other kinds
    return ``frozen`` unchanged.
    """
    if kind != "dsq_stat":
        return frozen
    lo, hi = float(np.min(x)), float(np.max(x))
    if not signed:
        m = EMA_MOMENTUM
        lo, hi = (1 - m) * frozen["lower"] + m * lo, (1 - m) * frozen["upper"] + m * hi
    hi = max(hi, lo + DSQ_MIN_RANGE)
    return frozen | {"lower": lo, "upper": hi}


def _qn_kw(bits, signed, p, temperature):
    return {"levels": qn_levels(bits, signed), "biases": p["biases"], "alpha": p["alpha"],
            "beta": p["beta"], "temperature": temperature}


def _rcf_quant(kind, bits, x, alpha, signed):
    if kind == "apot":
        return F.apot(x, alpha=alpha, bits=bits, signed=signed)
    return F.uniform(x, alpha=alpha, bits=bits, signed=signed)


def quantize(kind, bits, x, p, *, signed, mode="train", temperature=1.0):
    """Forward map of one site. ``p`` = learn | frozen; ``mode`` in :data:`MODES`.

    ``"train"`` is the training forward (DSQ: hard; QN: soft at ``temperature``), ``"eval"`` the
    deployed map (QN: step), ``"soft"`` the map whose derivative a soft backward computes.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}; got {mode!r}")
    if kind == "float":
        return x
    if kind == "uniform":
        return F.uniform(x, alpha=p["alpha"], bits=bits, signed=signed)
    if kind == "lsq":
        return F.lsq(x, step=p["step"], bits=bits, signed=signed)
    if kind.startswith("dsq"):
        if mode == "soft" and kind != "dsq_ste":
            return Q.dsq(x, lower=p["lower"], upper=p["upper"], bits=bits,
                         alpha=p.get("alpha", DSQ_ALPHA_FIXED), soft=True)
        return F.dsq(x, lower=p["lower"], upper=p["upper"], bits=bits, alpha=DSQ_ALPHA_MAX)
    if kind in ("apot", "uniform_rcf"):
        if not signed:
            return _rcf_quant(kind, bits, x, p["alpha"], False)
        w = Q.apot_normalize(x, eps=APOT_EPS)
        return p["scale"] * _rcf_quant(kind, bits, w, p["alpha"], True)
    if kind == "qn":
        return Q.qn(x, soft=mode != "eval", **_qn_kw(bits, signed, p, temperature))
    raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")


def normalize_vjp(w, g, eps=APOT_EPS):
    r"""Vector–Jacobian product of :func:`quanttheory.quantizers.apot_normalize` (APoT §2.3).

    With c = w − μ, σ the unbiased std and d = σ + ε, w̃ = c/d and
    ∂L/∂w = (g − ḡ)/d − (Σ_j g_j c_j / d²)·c/((n − 1)σ); the σ term is dropped when σ = 0.
    """
    n = w.size
    c = w - w.mean()
    sigma = float(np.sqrt(np.sum(c * c) / (n - 1)))
    d = sigma + eps
    out = (g - g.mean()) / d
    if sigma > 0.0:
        out -= float(np.sum(g * c)) / d**2 * c / ((n - 1) * sigma)
    return out


def _dsq_ste_partials(x, p, bits, q):
    lo, hi = p["lower"], p["upper"]
    n = 2**bits - 1
    j = np.rint((q - lo) / ((hi - lo) / n))
    inside = (x >= lo) & (x <= hi)
    return {"x": inside.astype(np.float64),
            "lower": np.where(inside, 1.0 - j / n, (x < lo).astype(np.float64)),
            "upper": np.where(inside, j / n, (x > hi).astype(np.float64))}


def _qn_partials(x, p, bits, signed, temperature, qn_grad):
    parts = Q.qn_partials(x, **_qn_kw(bits, signed, p, temperature))
    if qn_grad == "released" and signed:
        # released code: the slope of the T = 1 sigmoid, multiplied by T
        slope1 = Q.qn_partials(x, **_qn_kw(bits, signed, p, 1.0))["x"]
        parts["x"] = temperature * slope1
    return parts


def _partials(kind, bits, x, p, signed, temperature, qn_grad, q):
    if kind == "uniform":
        return {"x": _projection.partials(x, p["alpha"], q, signed)["x"]}
    if kind == "lsq":
        qp = qmax(bits, signed)
        return step_partials(x, qp * p["step"], q, qp, signed)
    if kind in ("dsq", "dsq_stat"):
        parts = Q.dsq_partials(x, lower=p["lower"], upper=p["upper"], bits=bits,
                               alpha=p.get("alpha", DSQ_ALPHA_FIXED))
        return parts if kind == "dsq" else {"x": parts["x"]}
    if kind == "dsq_ste":
        return _dsq_ste_partials(x, p, bits, q)
    if kind in ("apot", "uniform_rcf"):
        return _projection.partials(x, p["alpha"], q, signed)
    return _qn_partials(x, p, bits, signed, temperature, qn_grad)


def site_vjp(kind, bits, x, p, g, *, signed, learn=(), temperature=1.0, qn_grad="exact", per_sample=1,
             scaled=(), q=None):
    """Backward pass of one site: ``(dL/dx, {name: dL/dparam for name in learn})``.

    ``g`` is dL/dq for q = :func:`quantize` of ``x``. The gradients of the parameters named in
    ``scaled`` are multiplied by LSQ's 1/√(n·Q_p), n the number of values per sample
    (``x.size / per_sample``) ([4]_ §2.2); LSQ's step always is. ``q`` (optional) is the
    training forward's output, reused by the straight-through kinds (for APoT weights: before
    the output scale, i.e. the quantized normalised weights).
    ``qn_grad="released"`` uses, for weights, T × the slope of the T = 1 sigmoid (the released
    QN code) instead of the exact slope at T.
    """
    if kind == "float":
        return g, {}
    if qn_grad not in QN_GRADS:
        raise ValueError(f"qn_grad must be one of {QN_GRADS}; got {qn_grad!r}")
    rcf_w = kind in ("apot", "uniform_rcf") and signed
    x_in = Q.apot_normalize(x, eps=APOT_EPS) if rcf_w else x
    gs = g * p["scale"] if rcf_w else g
    if q is None and kind in ("uniform", "lsq", "dsq_ste", "apot", "uniform_rcf"):
        q = quantize(kind, bits, x, p, signed=signed, mode="eval")
        q = q / p["scale"] if rcf_w else q
    parts = _partials(kind, bits, x_in, p, signed, temperature, qn_grad, q)
    grads = {k: float(np.sum(gs * parts[k])) for k in learn}
    for name in set(scaled) | ({"step"} if kind == "lsq" else set()):
        if name in grads:
            grads[name] /= np.sqrt(x.size / per_sample * qmax(bits, signed))
    gx = gs * parts["x"]
    return (normalize_vjp(x, gx) if rcf_w else gx), grads


def project_site(kind, learn):
    """Keep a site's learnable parameters valid after an optimiser step (returns a new dict).

    DSQ: α clamped to [DSQ_ALPHA_MIN, 0.5] and u − l ≥ DSQ_MIN_RANGE (widened about the
    midpoint); every α, β, step of the other kinds floored at POSITIVE_FLOOR.
    """
    out = dict(learn)
    if kind.startswith("dsq"):
        if "alpha" in out:
            out["alpha"] = float(np.clip(out["alpha"], DSQ_ALPHA_MIN, DSQ_ALPHA_MAX))
        if "lower" in out:
            mid, half = (out["lower"] + out["upper"]) / 2, (out["upper"] - out["lower"]) / 2
            if half < DSQ_MIN_RANGE / 2:
                out["lower"], out["upper"] = mid - DSQ_MIN_RANGE / 2, mid + DSQ_MIN_RANGE / 2
        return out
    for k in ("alpha", "beta", "step"):
        if k in out:
            out[k] = max(float(out[k]), POSITIVE_FLOOR)
    return out

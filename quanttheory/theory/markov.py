r"""Stochastic rounding with a constant step is a Markov chain: its exact transition matrix.

SR iterates live on the lattice :math:`\Delta\mathbb Z^d`; with a constant step α the update
:math:`x \leftarrow Q_s(x - \alpha g)`, :math:`g = f'(x) + \sigma\xi`, is a time-homogeneous
Markov chain (Li et al. 2017 [1]_, §4 and Fig. 3). This module builds its transition matrix
exactly (scipy.sparse), its stationary distribution, and the effective-temperature prediction.

Notes
-----
**Rounding probabilities.** For a fixed pre-rounding point u, Q_s sends u to the grid point
:math:`x_j` with probability :math:`\Lambda((u - x_j)/\Delta)`, the hat function
:math:`\Lambda(z) = \max(0, 1 - |z|)`. Writing the hat as a second difference of ramps,

.. math::
    \Delta\,\Lambda\!\left(\frac{u - x_j}{\Delta}\right) = (u - x_j + \Delta)_+ - 2(u - x_j)_+
    + (u - x_j - \Delta)_+,

the transition probability is :math:`P(x \to x_j) = [G(x_j - \Delta) - 2G(x_j) +
G(x_j + \Delta)]/\Delta` with :math:`G(b) = \mathbb E(u - b)_+`. Two noise models are exact:

* ``"gaussian"``: :math:`u \sim \mathcal N(m, s^2)`, :math:`m = x - \alpha f'(x)`,
  :math:`s = \alpha\sigma`, and :math:`G(b) = (m-b)\Phi(z) + s\,\varphi(z)`,
  :math:`z = (m-b)/s` (closed form; targets further than 9s from m, probability < 1e-18,
  are dropped).
* discrete ``(values, probs)``: ξ takes finitely many values; G is a finite sum. With bounded
  noise, :math:`\alpha\max|g| \le \Delta` makes every move at most one cell, and then
  :math:`T_\alpha = I + (\alpha/\Delta) A` exactly, so π does not depend on α ([1]_, §4).

The second difference loses about :math:`\epsilon_{\rm mach}\,s/\Delta` of relative accuracy
when :math:`s \gg \Delta`; below the threshold (:math:`s \lesssim \Delta`) this is ~1e-16.

**Boundary.** The lattice :math:`x_0 < \dots < x_{n-1}` is bounded: u is *clipped* to
:math:`[x_0, x_{n-1}]` before rounding (so mass beyond an end lands on that end:
:math:`P(\to x_0) = 1 - [G(x_0) - G(x_1)]/\Delta`, :math:`P(\to x_{n-1}) = [G(x_{n-2}) -
G(x_{n-1})]/\Delta`). Choose the lattice wide enough that π is negligible at the ends; then
the chain agrees with the unbounded SR of :func:`quanttheory.optim.run`.

**Effective temperature [derived].** Below the threshold the 1-D chain is a birth–death chain,
so detailed balance gives :math:`\pi(x+\Delta)/\pi(x) = p_+(x)/p_-(x+\Delta)` with
:math:`p_+(x) = (\alpha/\Delta)\mathbb E(-g)_+`, :math:`p_-(x) = (\alpha/\Delta)\mathbb E g_+`
(α cancels). For symmetric noise and :math:`\sigma \gg |f'|`,
:math:`\mathbb E g_\pm = c \pm f'/2 + O(f'^2/\sigma)` with :math:`c = \sigma\,\mathbb E|\xi|/2`,
hence :math:`\log[\pi(x+\Delta)/\pi(x)] \approx -[f'(x) + f'(x+\Delta)]/(2c) \approx
-[f(x+\Delta) - f(x)]/(c\Delta)` (trapezoid rule), i.e.

.. math::
    \pi(x) \propto \exp\!\bigl(-f(x)/T_{SR}\bigr), \qquad
    T_{SR} = \frac{\sigma\,\Delta\,\mathbb E|\xi|}{2}.

For Gaussian ξ, :math:`\mathbb E|\xi| = \sqrt{2/\pi}` and :math:`T_{SR} = \sigma\Delta/\sqrt{2\pi}`:
the spec's constant is confirmed. For Rademacher ξ, :math:`T_{SR} = \sigma\Delta/2`.

References
----------
.. [1] Li, De, Xu, Studer, Samet, Goldstein. "Training Quantized Nets: A Deeper
   Understanding". NeurIPS 2017, arXiv:1706.02379, §4 (SR as a Markov chain), Fig. 3.
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.special import ndtr

_GAUSS_REACH = 9.0  # targets beyond 9 s carry probability < Φ(−8) ≈ 6e-16 in total


def _check_positive(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name}={value!r} is out of range; valid: a finite number > 0")
    return float(value)


def _check_lattice(points):
    x = np.asarray(points)
    if x.dtype.kind not in "fiu":
        raise TypeError(f"points must be a real numeric array; got dtype {x.dtype}")
    x = x.astype(np.float64)
    if x.ndim != 1 or x.size < 2 or not np.all(np.isfinite(x)):
        raise ValueError(f"points must be a finite 1-D array of >= 2 grid points; got shape {x.shape}")
    steps = np.diff(x)
    delta = float(steps.mean())
    if delta <= 0 or np.max(np.abs(steps - delta)) > 1e-9 * delta:
        raise ValueError("points must be evenly spaced and increasing (a lattice x0 + kΔ)")
    return x, delta


def _check_noise(noise):
    """Return None for Gaussian noise, else (values, probs) of a discrete ξ."""
    if isinstance(noise, str):
        if noise == "gaussian":
            return None
        if noise == "rademacher":
            return np.array([-1.0, 1.0]), np.array([0.5, 0.5])
        raise ValueError(f"noise={noise!r} is invalid; valid: 'gaussian', 'rademacher' or (values, probs)")
    values, probs = (np.asarray(a, dtype=np.float64) for a in noise)
    if values.ndim != 1 or values.shape != probs.shape or values.size == 0:
        raise ValueError("noise=(values, probs) must be two 1-D arrays of the same non-zero length")
    if not (np.all(np.isfinite(values)) and np.all(probs >= 0) and abs(probs.sum() - 1.0) < 1e-12):
        raise ValueError("noise probs must be >= 0 and sum to 1, and values must be finite")
    return values, probs


def mean_abs_noise(noise="gaussian") -> float:
    r"""E|ξ| of the noise model: :math:`\sqrt{2/\pi}` for Gaussian, Σ p_k |v_k| if discrete."""
    spec = _check_noise(noise)
    return float(np.sqrt(2.0 / np.pi)) if spec is None else float(spec[1] @ np.abs(spec[0]))


def _ramp_mean(m, s, b):
    """G(b) = E(u − b)_+ for u ~ N(m, s²) (closed form; the ramp itself when s = 0)."""
    diff = m - b
    if s == 0.0:
        return np.maximum(diff, 0.0)
    z = diff / s
    return diff * ndtr(z) + s * np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)


def _coordinate_weights(m, s, x, delta, spec):
    """Rounding probabilities of u = m − sξ onto the clipped lattice ``x``: (cols, vals), (N, W)."""
    n = x.size
    reach = _GAUSS_REACH * s if spec is None else s * float(np.max(np.abs(spec[0])))
    lo = np.clip(np.floor((m - reach - x[0]) / delta).astype(np.int64) - 1, 0, n - 1)
    hi = np.clip(np.ceil((m + reach - x[0]) / delta).astype(np.int64) + 1, 0, n - 1)
    cols = lo[:, None] + np.arange(int(np.max(hi - lo)) + 1)[None, :]
    valid = cols <= hi[:, None]
    cols = np.minimum(cols, n - 1)
    xj, mm = x[cols], np.broadcast_to(m[:, None], cols.shape)
    if spec is not None:
        # finitely many u: evaluate the hat directly (exact zeros, no second-difference round-off)
        u = np.clip(mm[..., None] - s * spec[0], x[0], x[-1])
        hat = np.maximum(1.0 - np.abs(u - xj[..., None]) / delta, 0.0)
        return cols, np.where(valid, hat @ spec[1], 0.0)
    g_lo, g_mid, g_hi = (_ramp_mean(mm, s, xj + k * delta) for k in (-1.0, 0.0, 1.0))
    vals = (g_lo - 2.0 * g_mid + g_hi) / delta
    # clipping u to [x_0, x_{n-1}]: the ends absorb the tails (module Notes, "Boundary")
    vals = np.where(cols == 0, 1.0 - (g_mid - g_hi) / delta, vals)
    vals = np.where(cols == n - 1, (g_lo - g_mid) / delta, vals)
    return cols, np.where(valid, np.maximum(vals, 0.0), 0.0)


def transition_matrix_1d(grad, points, alpha, sigma, noise="gaussian"):
    r"""Exact transition matrix of 1-D SR with constant step on a bounded lattice.

    .. math:: P_{ij} = \Pr\bigl[Q_s(\mathrm{clip}(x_i - \alpha(f'(x_i) + \sigma\xi))) = x_j\bigr]

    Parameters
    ----------
    grad : callable
        f', vectorised: ``grad(x)`` with x of shape (n,) returns shape (n,).
    points : array_like, shape (n,)
        The lattice x_0 + kΔ (evenly spaced, increasing).
    alpha : float
        Constant step α > 0.
    sigma : float
        Noise scale σ ≥ 0 of the stochastic gradient f'(x) + σξ.
    noise : {"gaussian", "rademacher"} or (values, probs)
        Law of ξ (see module Notes; both are exact, no sampling).

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n, n)
        Row-stochastic (rows sum to 1 up to ~1e-15).

    Examples
    --------
    >>> import numpy as np
    >>> P = transition_matrix_1d(lambda x: x, np.array([-1.0, 0.0, 1.0]), 0.5, 0.0)
    >>> P.toarray()[0]
    array([0.5, 0.5, 0. ])
    """
    x, delta = _check_lattice(points)
    alpha = _check_positive(alpha, "alpha")
    sigma = _nonneg(sigma, "sigma")
    spec = _check_noise(noise)
    m = x - alpha * _grad_values(grad, x[:, None])[:, 0]
    cols, vals = _coordinate_weights(m, alpha * sigma, x, delta, spec)
    rows = np.broadcast_to(np.arange(x.size)[:, None], cols.shape)
    P = sp.coo_matrix((vals.ravel(), (rows.ravel(), cols.ravel())), shape=(x.size, x.size)).tocsr()
    P.eliminate_zeros()
    return P


def transition_matrix_2d(grad, points_x, points_y, alpha, sigma, noise="gaussian"):
    r"""Exact transition matrix of 2-D SR, rounding each coordinate independently.

    .. math:: P\bigl((x,y) \to (x',y')\bigr) = P_1(x' \mid x, y)\,P_2(y' \mid x, y)

    with the 1-D probabilities of :func:`transition_matrix_1d` computed from the partial
    derivatives at (x, y) and independent noise per coordinate. States are ordered C-style:
    index = i·n_y + j for (x_i, y_j).

    Parameters
    ----------
    grad : callable
        ∇f: ``grad(p)`` with p of shape (N, 2) returns shape (N, 2).
    points_x, points_y : array_like
        The two 1-D lattices (same spacing Δ).
    alpha, sigma, noise
        As in :func:`transition_matrix_1d`.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n_x n_y, n_x n_y)
    """
    x, dx = _check_lattice(points_x)
    y, dy = _check_lattice(points_y)
    if abs(dx - dy) > 1e-9 * dx:
        raise ValueError(f"both lattices must have the same spacing; got {dx} and {dy}")
    alpha, sigma = _check_positive(alpha, "alpha"), _nonneg(sigma, "sigma")
    spec = _check_noise(noise)
    pts = np.stack(np.meshgrid(x, y, indexing="ij"), axis=-1).reshape(-1, 2)
    m = pts - alpha * _grad_values(grad, pts)
    cx, vx = _coordinate_weights(m[:, 0], alpha * sigma, x, dx, spec)
    cy, vy = _coordinate_weights(m[:, 1], alpha * sigma, y, dy, spec)
    cols = cx[:, :, None] * y.size + cy[:, None, :]
    vals = vx[:, :, None] * vy[:, None, :]
    rows = np.broadcast_to(np.arange(pts.shape[0])[:, None, None], cols.shape)
    n = pts.shape[0]
    P = sp.coo_matrix((vals.ravel(), (rows.ravel(), cols.ravel())), shape=(n, n)).tocsr()
    P.eliminate_zeros()
    return P


def _nonneg(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (np.isfinite(value) and value >= 0):
        raise ValueError(f"{name}={value!r} is out of range; valid: a finite number >= 0")
    return float(value)


def _grad_values(grad, pts):
    g = np.asarray(grad(pts[:, 0] if pts.shape[1] == 1 else pts), dtype=np.float64).reshape(pts.shape[0], -1)
    if g.shape != pts.shape or not np.all(np.isfinite(g)):
        want = pts.shape[:1] if pts.shape[1] == 1 else pts.shape
        raise ValueError(f"grad must return finite values of shape {want}")
    return g


def stationary_distribution(P):
    r"""Stationary distribution π of an irreducible row-stochastic sparse matrix.

    Solves :math:`\pi (P - I) = 0`, :math:`\sum_i \pi_i = 1` by one sparse LU solve (the last
    balance equation is replaced by the normalisation, which makes the system non-singular
    for an irreducible chain).

    Parameters
    ----------
    P : scipy.sparse matrix, shape (n, n)

    Returns
    -------
    ndarray, shape (n,)
        π ≥ 0 (tiny negative round-off is clipped to 0), summing to 1.
    """
    P = sp.csr_matrix(P, dtype=np.float64)
    n = P.shape[0]
    if P.shape != (n, n) or n == 0:
        raise ValueError(f"P must be a non-empty square matrix; got shape {P.shape}")
    if not np.allclose(np.asarray(P.sum(axis=1)).ravel(), 1.0, atol=1e-9):
        raise ValueError("P must be row-stochastic (rows summing to 1)")
    A = (P.T - sp.identity(n, format="csr")).tolil()
    A[n - 1, :] = np.ones(n)
    rhs = np.zeros(n)
    rhs[-1] = 1.0
    pi = spla.spsolve(A.tocsc(), rhs)
    if not np.all(np.isfinite(pi)):
        raise ValueError("the chain is not irreducible (singular balance equations)")
    pi = np.maximum(pi, 0.0)
    return pi / pi.sum()


def stationary_birth_death(P):
    r"""π of a tridiagonal (birth–death) chain by detailed balance, in log space.

    .. math:: \log\pi_{k+1} - \log\pi_k = \log P_{k,k+1} - \log P_{k+1,k}

    An independent check of :func:`stationary_distribution` below the SR threshold, where the
    1-D chain only moves to neighbours.
    """
    P = sp.csr_matrix(P, dtype=np.float64)
    if sp.triu(P, 2).nnz or sp.tril(P, -2).nnz:
        raise ValueError("P is not tridiagonal: the chain jumps more than one cell (above threshold)")
    up, down = P.diagonal(1), P.diagonal(-1)
    if np.any(up <= 0) or np.any(down <= 0):
        raise ValueError("a neighbour transition has probability 0: the chain is not irreducible")
    log_pi = np.concatenate([[0.0], np.cumsum(np.log(up) - np.log(down))])
    w = np.exp(log_pi - log_pi.max())  # shift by the max: no overflow, largest weight = 1
    return w / w.sum()


def sr_temperature(sigma, delta, noise="gaussian"):
    r"""Effective temperature :math:`T_{SR} = \sigma\Delta\,\mathbb E|\xi|/2` (module Notes).

    Gaussian ξ: :math:`\sigma\Delta/\sqrt{2\pi}`; independent of α.
    """
    return _nonneg(sigma, "sigma") * _check_positive(delta, "delta") * mean_abs_noise(noise) / 2.0


def gibbs(f_values, temperature):
    r"""Normalised Gibbs weights :math:`\pi_i \propto \exp(-f(x_i)/T)` on a lattice."""
    f = np.asarray(f_values, dtype=np.float64)
    temperature = _check_positive(temperature, "temperature")
    if f.size == 0 or not np.all(np.isfinite(f)):
        raise ValueError("f_values must be a non-empty finite array")
    w = np.exp(-(f - f.min()) / temperature)  # shift by the min: the largest weight is exactly 1
    return w / w.sum()


def total_variation(p, q):
    r"""Total variation distance :math:`\tfrac12\sum_i |p_i - q_i|` of two distributions."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if p.shape != q.shape or p.size == 0:
        raise ValueError(f"p and q must be non-empty with equal shapes; got {p.shape} and {q.shape}")
    if not (np.all(np.isfinite(p)) and np.all(np.isfinite(q))):
        raise ValueError("p and q must be finite")
    return 0.5 * float(np.abs(p - q).sum())


def alpha_threshold(grad, points, sigma, noise):
    r"""Largest α with :math:`\alpha \max_x |f'(x) + \sigma\xi| \le \Delta` (bounded noise only)."""
    x, delta = _check_lattice(points)
    spec = _check_noise(noise)
    if spec is None:
        raise ValueError("noise='gaussian' is unbounded: no α keeps every move within one cell")
    g = np.abs(_grad_values(grad, x[:, None])[:, 0])
    return delta / float(np.max(g) + _nonneg(sigma, "sigma") * np.max(np.abs(spec[0])))

r"""Convex objectives with unbiased stochastic gradients (Li et al. 2017, §2 setting).

All methods are vectorised over independent chains: ``w`` has shape ``(chains, d)`` (a 1-D
``(d,)`` is one chain). Draw order of ``grad`` (relied on by the numba fast path of
:func:`quanttheory.optim.run`): one ``rng.standard_normal((chains, d))`` for the additive-noise
problems, one ``rng.integers(0, n, (chains, batch_size))`` for the finite-sum problems, and
nothing when ``batch_size`` is None (full gradient).

References
----------
.. [1] Li, De, Xu, Studer, Samet, Goldstein. "Training Quantized Nets: A Deeper Understanding".
   NeurIPS 2017, arXiv:1706.02379, §2 (assumptions: convex f_i, E‖∇f̃‖² ≤ G², μ-strong
   convexity, L-smoothness).
"""

from __future__ import annotations

import math

import numpy as np

from ._base import (
    as_array,
    as_matrix,
    check_batch,
    check_count,
    check_nonneg,
    check_points,
    check_rng,
    finite_output,
    seq_sum,
)

QUADRATIC, LEAST_SQUARES, LOGISTIC, MULTIWELL = 0, 1, 2, 3  # kind codes of the numba oracle


class Quadratic:
    r"""Strongly convex quadratic with additive Gaussian gradient noise of controllable size.

    .. math::
        F(w) = \tfrac12 (w - w^\star)^\top H (w - w^\star),\qquad
        \tilde\nabla F(w) = H (w - w^\star) + \frac{\sigma}{\sqrt b}\,\xi,\quad \xi\sim\mathcal N(0, I_d)

    A minibatch of size b averages b independent noisy gradients (noise std σ/√b); ``batch_size``
    None gives the exact gradient. μ = λ_min(H), L = λ_max(H), F* = 0.

    Parameters
    ----------
    hessian : array_like, shape (d,) or (d, d)
        Diagonal of H, or the symmetric positive definite matrix H.
    minimizer : array_like, shape (d,)
    noise_sigma : float, default 0
        σ ≥ 0, the per-coordinate noise standard deviation of a single-sample gradient.
    """

    def __init__(self, hessian, minimizer, noise_sigma=0.0):
        h = as_array(hessian, "hessian")
        h = as_matrix(np.diag(h) if h.ndim == 1 else h, "hessian", ndim=2)
        w_star = as_matrix(minimizer, "minimizer", ndim=1)
        if h.shape != (w_star.size, w_star.size):
            raise ValueError(f"hessian shape {h.shape} does not match minimizer of size {w_star.size}")
        if not np.array_equal(h, h.T):
            raise ValueError("hessian must be symmetric")
        eig = np.linalg.eigvalsh(h)
        if eig[0] <= 0:
            raise ValueError(f"hessian must be positive definite; smallest eigenvalue {eig[0]:.3g}")
        self.hessian, self.minimizer, self.noise_sigma = h, w_star, check_nonneg(noise_sigma, "noise_sigma")
        self.dim, self.minimum = w_star.size, 0.0
        self.mu, self.lipschitz = float(eig[0]), float(eig[-1])

    @finite_output
    def loss(self, w):
        """F(w), shape (chains,)."""
        e = check_points(w, self.dim) - self.minimizer
        return 0.5 * seq_sum(e * seq_sum(self.hessian[None] * e[:, None, :], axis=2), axis=1)

    @finite_output
    def full_grad(self, w):
        """H (w − w*), shape (chains, d) (left-to-right sums, as the numba oracle)."""
        e = check_points(w, self.dim) - self.minimizer
        return seq_sum(self.hessian[None] * e[:, None, :], axis=2)

    @finite_output
    def grad(self, w, rng, batch_size=1):
        """Stochastic gradient H (w − w*) + (σ/√b) ξ; exact when ``batch_size`` is None."""
        g = self.full_grad(w)
        b = check_batch(batch_size)
        if b is None:
            return g
        xi = check_rng(rng).standard_normal(g.shape)
        return g + (self.noise_sigma / math.sqrt(b)) * xi

    def _numba_spec(self):
        return QUADRATIC, self.hessian, self.minimizer, np.array([self.noise_sigma])


class _FiniteSum:
    """Gradients of a finite sum F = (1/n) Σ f_i from a ``_batch_grad(w, idx)`` over row indices:
    the full gradient uses every row once, a minibatch samples rows with replacement (so it is
    unbiased for every batch size)."""

    @finite_output
    def full_grad(self, w):
        """∇F(w), shape (chains, d)."""
        w = check_points(w, self.dim)
        return self._batch_grad(w, np.broadcast_to(np.arange(self.n), (w.shape[0], self.n)))

    @finite_output
    def grad(self, w, rng, batch_size=1):
        """Minibatch gradient (indices with replacement); exact when ``batch_size`` is None."""
        w = check_points(w, self.dim)
        b = check_batch(batch_size)
        if b is None:
            return self.full_grad(w)
        return self._batch_grad(w, check_rng(rng).integers(0, self.n, (w.shape[0], b)))


class LeastSquares(_FiniteSum):
    r"""Least squares :math:`F(w) = \frac{1}{2n}\lVert A w - b\rVert^2` with minibatch gradients.

    The minibatch gradient :math:`\frac1B\sum_{k} a_{i_k}(a_{i_k}^\top w - b_{i_k})` samples the
    B row indices uniformly **with replacement**, so it is unbiased for ∇F. μ and L are the
    extreme eigenvalues of AᵀA/n; the minimizer is the least-squares solution.

    Parameters
    ----------
    A : array_like, shape (n, d)
    b : array_like, shape (n,)
    """

    def __init__(self, A, b):
        self.A, self.b = as_matrix(A, "A", ndim=2), as_matrix(b, "b", ndim=1)
        if self.b.size != self.A.shape[0]:
            raise ValueError(f"A has {self.A.shape[0]} rows but b has {self.b.size} entries")
        self.n, self.dim = self.A.shape
        eig = np.linalg.eigvalsh(self.A.T @ self.A / self.n)
        self.mu, self.lipschitz = float(eig[0]), float(eig[-1])
        self.minimizer = np.linalg.lstsq(self.A, self.b, rcond=None)[0]
        self.minimum = float(self.loss(self.minimizer)[0])

    @classmethod
    def random(cls, n, d, rng, *, noise=0.5):
        """A ~ N(0,1)^{n×d}, w_true ~ N(0, I), b = A w_true + noise·N(0, I) (drawn in that order).

        Signature shared by every ``random`` constructor: ``(n, d, rng, *, options)``.
        """
        n, d, rng = check_count(n, "n"), check_count(d, "d"), check_rng(rng)
        noise = check_nonneg(noise, "noise")
        A = rng.standard_normal((n, d))
        w_true = rng.standard_normal(d)
        return cls(A, A @ w_true + noise * rng.standard_normal(n))

    @finite_output
    def loss(self, w):
        """F(w), shape (chains,)."""
        r = check_points(w, self.dim) @ self.A.T - self.b
        return 0.5 * np.mean(r * r, axis=1)

    def _batch_grad(self, w, idx):
        # residuals and gradient with left-to-right sums over d and over the batch
        rows = self.A[idx]  # (chains, B, d)
        r = seq_sum(rows * w[:, None, :], axis=2) - self.b[idx]
        return seq_sum(rows * r[:, :, None], axis=1) / idx.shape[1]

    def _numba_spec(self):
        return LEAST_SQUARES, self.A, self.b, np.zeros(1)


class LogisticRegression(_FiniteSum):
    r"""l2-regularised logistic regression, labels y ∈ {−1, +1}.

    .. math:: F(w) = \frac1n\sum_i \log\bigl(1 + e^{-y_i x_i^\top w}\bigr) + \frac{\lambda}{2}\lVert w\rVert^2

    μ = λ, L = λ + λ_max(XᵀX)/(4n). The minimizer (for λ > 0) is computed once by Newton's
    method to machine precision. The per-sample gradient uses σ(−z) = 1/(1 + e^{z}) written as
    e^{−z}/(1 + e^{−z}) for z < 0 so that the exponential never overflows.

    Note: numpy's exp is SIMD-vectorised and may differ from libm's by 1 ulp, so the numba
    fast path agrees with this reference to rounding, not bit for bit, on this problem.
    """

    def __init__(self, X, y, l2=1e-2):
        self.X, self.y = as_matrix(X, "X", ndim=2), as_matrix(y, "y", ndim=1)
        if self.y.size != self.X.shape[0] or not np.all(np.abs(self.y) == 1):
            raise ValueError(f"y must hold X.shape[0]={self.X.shape[0]} labels in {{-1, +1}}")
        self.l2 = check_nonneg(l2, "l2")
        self.n, self.dim = self.X.shape
        eig = np.linalg.eigvalsh(self.X.T @ self.X / self.n)
        self.mu, self.lipschitz = self.l2, self.l2 + float(eig[-1]) / 4
        self.minimizer = self._newton() if self.l2 > 0 else None
        self.minimum = None if self.minimizer is None else float(self.loss(self.minimizer)[0])

    @classmethod
    def random(cls, n, d, rng, *, l2=1e-2, flip=0.1):
        """Gaussian X, labels sign(X w_true) with a fraction ``flip`` of them flipped.

        Signature shared by every ``random`` constructor: ``(n, d, rng, *, options)``.
        """
        n, d, rng = check_count(n, "n"), check_count(d, "d"), check_rng(rng)
        flip = check_nonneg(flip, "flip")
        if flip > 1:
            raise ValueError(f"flip={flip!r} is out of range; valid: [0, 1]")
        X = rng.standard_normal((n, d))
        y = np.where(X @ rng.standard_normal(d) >= 0, 1.0, -1.0)
        return cls(X, np.where(rng.random(n) < flip, -y, y), l2=l2)

    @finite_output
    def loss(self, w):
        """F(w), shape (chains,); log(1 + e^{−m}) via logaddexp (no overflow)."""
        w = check_points(w, self.dim)
        margins = (w @ self.X.T) * self.y
        return np.mean(np.logaddexp(0.0, -margins), axis=1) + 0.5 * self.l2 * np.sum(w * w, axis=1)

    def _batch_grad(self, w, idx):
        rows, y = self.X[idx], self.y[idx]
        z = seq_sum(rows * w[:, None, :], axis=2) * y  # margins y_i x_i·w
        e = np.exp(-np.abs(z))
        s = np.where(z >= 0, e / (1.0 + e), 1.0 / (1.0 + e))  # σ(−z), overflow-free
        return seq_sum(rows * (-y * s)[:, :, None], axis=1) / idx.shape[1] + self.l2 * w

    def _newton(self, iters=50):
        w = np.zeros(self.dim)
        for _ in range(iters):
            p = 1.0 / (1.0 + np.exp(-np.clip(self.X @ w, -500, 500)))  # σ(x·w)
            hess = (self.X.T * (p * (1 - p))) @ self.X / self.n + self.l2 * np.eye(self.dim)
            step = np.linalg.solve(hess, self.full_grad(w)[0])
            w = w - step
            if np.max(np.abs(step)) < 1e-15 * (1 + np.max(np.abs(w))):
                break
        return w

    def _numba_spec(self):
        return LOGISTIC, self.X, self.y, np.array([self.l2])

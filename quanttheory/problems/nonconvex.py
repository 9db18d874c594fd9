r"""A separable multi-well objective for the non-convex experiments (Li et al. 2017, §4, Fig. 1).

References
----------
.. [1] Li et al. NeurIPS 2017, arXiv:1706.02379, §4 and Fig. 1 (2-D non-convex toy problem; the
   paper's exact function is not given, so we state ours).
"""

from __future__ import annotations

import math

import numpy as np

from ._base import check_batch, check_nonneg, check_points, check_rng, finite_output, seq_sum
from .convex import MULTIWELL


class MultiWell:
    r"""Separable multi-well function with additive Gaussian gradient noise.

    .. math::
        F(x) = \sum_{j=1}^{d} \bigl[a\,x_j^2 + \sin^2(k x_j)\bigr],\qquad
        \tilde\nabla F(x)_j = 2a\,x_j + k\sin(2k x_j) + \frac{\sigma}{\sqrt b}\,\xi_j

    With the defaults a = 1/8, k = 2 each coordinate has local minima near 0, ±1.43, ±2.76, …;
    the global minimum F* = 0 is at x = 0. Smoothness L = 2a + 2k² (no strong convexity).
    ``batch_size`` None gives the exact gradient; b averages b noisy samples (std σ/√b).

    Parameters
    ----------
    dim : int
        d ≥ 1 (1 and 2 are the paper's Fig. 3 and Fig. 1 settings).
    noise_sigma : float, default 0
    curvature : float, default 1/8
        a > 0, the confining quadratic.
    frequency : float, default 2
        k > 0, the wells' frequency.
    """

    def __init__(self, dim=2, noise_sigma=0.0, curvature=0.125, frequency=2.0):
        if isinstance(dim, bool) or not isinstance(dim, int | np.integer) or dim < 1:
            raise ValueError(f"dim={dim!r} is invalid; valid: an integer >= 1")
        self.dim = int(dim)
        self.noise_sigma = check_nonneg(noise_sigma, "noise_sigma")
        self.curvature, self.frequency = check_nonneg(curvature, "curvature"), check_nonneg(frequency, "frequency")
        if self.curvature == 0 or self.frequency == 0:
            raise ValueError(f"curvature={curvature!r} and frequency={frequency!r} must be > 0")
        self.minimizer, self.minimum = np.zeros(self.dim), 0.0
        self.lipschitz, self.mu = 2 * self.curvature + 2 * self.frequency**2, None

    @finite_output
    def loss(self, w):
        """F(w), shape (chains,)."""
        x = check_points(w, self.dim)
        return seq_sum(self.curvature * x * x + np.sin(self.frequency * x) ** 2, axis=1)

    @finite_output
    def full_grad(self, w):
        """∇F(w) = 2a x + k sin(2k x), shape (chains, d)."""
        x = check_points(w, self.dim)
        # sin(2kx) form of 2 sin(kx) cos(kx)·k: one libm-exact call (numpy's float64 sin and
        # libm's agree here, which the numba bit-equality tests check)
        return (2.0 * self.curvature) * x + self.frequency * np.sin((2.0 * self.frequency) * x)

    @finite_output
    def grad(self, w, rng, batch_size=1):
        """Stochastic gradient ∇F(w) + (σ/√b) ξ; exact when ``batch_size`` is None."""
        g = self.full_grad(w)
        b = check_batch(batch_size)
        if b is None:
            return g
        return g + (self.noise_sigma / math.sqrt(b)) * check_rng(rng).standard_normal(g.shape)

    def _numba_spec(self):
        return MULTIWELL, np.zeros((1, 1)), np.zeros(1), np.array([self.noise_sigma, self.curvature,
                                                                    self.frequency])


def MultiWell1D(noise_sigma=0.0, **kwargs):  # noqa: N802 - named like a class on purpose
    """:class:`MultiWell` with d = 1 (the paper's Fig. 3 setting)."""
    return MultiWell(1, noise_sigma, **kwargs)


def MultiWell2D(noise_sigma=0.0, **kwargs):  # noqa: N802
    """:class:`MultiWell` with d = 2 (the paper's Fig. 1 setting)."""
    return MultiWell(2, noise_sigma, **kwargs)

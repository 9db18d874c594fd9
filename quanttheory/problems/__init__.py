"""Objectives with stochastic minibatch gradients, vectorised over independent chains.

Every problem works on parameters of shape ``(chains, d)`` and exposes ``dim``,
``loss(w) -> (chains,)``, ``full_grad(w) -> (chains, d)``, ``grad(w, rng, batch_size=1)`` (an
unbiased stochastic gradient; the exact gradient when ``batch_size`` is None), and
``minimizer`` / ``minimum`` / ``mu`` / ``lipschitz`` (None where unknown).

==================  ===================================================  ==============
problem             F                                                    noise
==================  ===================================================  ==============
Quadratic           ½ (w − w*)ᵀ H (w − w*)                               additive σ/√b
LeastSquares        ‖Aw − b‖² / 2n                                        minibatch
LogisticRegression  mean log(1 + e^{−y xᵀw}) + λ‖w‖²/2                     minibatch
MultiWell(1D/2D)    Σ_j [x_j²/8 + sin²(2 x_j)]                            additive σ/√b
==================  ===================================================  ==============
"""

from .convex import LeastSquares, LogisticRegression, Quadratic
from .nonconvex import MultiWell, MultiWell1D, MultiWell2D

__all__ = ["LeastSquares", "LogisticRegression", "MultiWell", "MultiWell1D", "MultiWell2D", "Quadratic"]

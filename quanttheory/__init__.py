"""quanttheory — theory, simulation and reference kernels for training quantized networks.

Subpackages
-----------
quantizers  numpy reference quantizers: rounding (Q_d, Q_s), binary, uniform, DSQ, APoT, QN
problems    convex and non-convex objectives with stochastic gradients
optim       SGD/Adam cores and the R, SR, BC rules of Li et al. (2017)
theory      closed-form bounds and the exact SR Markov chain
nn          a tiny numpy network with quantized layers
experiments one module per reproduced paper figure/table (installed from ``experiments/``)
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("quanttheory")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]

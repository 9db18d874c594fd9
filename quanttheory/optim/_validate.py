"""Argument checks of the optimizer rules (kept apart from the rules themselves)."""

from __future__ import annotations

import numpy as np

from ..quantizers._validate import as_array


def check_grads(grads, params) -> np.ndarray:
    """``grads`` as float64 after the checks :func:`quanttheory.optim.run` makes on its inputs.

    Raises
    ------
    TypeError
        Complex, string, object or boolean grads (never cast: a complex gradient would lose its
        imaginary part with only a warning).
    ValueError
        Ragged grads, a shape other than ``params``'s, or a NaN/±inf entry (the step would
        silently write it into the parameters).
    """
    g = as_array(grads, "grads")
    if g.dtype.kind not in "fiu":
        raise TypeError(f"grads must be a real numeric array; got dtype {g.dtype}")
    if g.shape != np.shape(params):
        raise ValueError(f"grads shape {g.shape} does not match params shape {np.shape(params)}")
    g = g.astype(np.float64, copy=False)
    if not np.all(np.isfinite(g)):
        raise ValueError(f"grads contains a non-finite value ({g[~np.isfinite(g)].ravel()[0]}); "
                         "the gradient oracle diverged")
    return g

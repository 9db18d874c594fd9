"""Hypothesis strategies shared by the whole test suite (the one place they live).

Sections are owned by the subpackage they serve; add new strategies under the right heading.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

# --------------------------------------------------------------------------- generic arrays

finite_floats = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


def float_arrays(
    *, min_side: int = 0, max_side: int = 8, max_dims: int = 3, elements=finite_floats
):
    """float64 arrays of any small shape (including empty) with finite elements."""
    return hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=min_side, max_side=max_side),
        elements=elements,
    )


# --------------------------------------------------------------------------- quantizers

# --------------------------------------------------------------------------- optim / problems

# --------------------------------------------------------------------------- kernels / packing

"""Hypothesis strategies shared by the whole test suite (the one place they live).

Sections are owned by the subpackage they serve; add new strategies under the right heading.
"""

from __future__ import annotations

import numpy as np
from hypothesis import assume
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

moderate_floats = st.floats(min_value=-50, max_value=50, allow_nan=False, allow_infinity=False)
deltas = st.sampled_from([2.0**-k for k in range(0, 8)]) | st.floats(1e-3, 10.0)
alphas_clip = st.floats(0.05, 20.0)  # clipping scales α of uniform/APoT
dsq_alphas = st.floats(0.01, 1.99).filter(lambda a: abs(a - 1.0) > 1e-3)
lsq_steps = st.sampled_from([2.0**-k for k in range(0, 6)]) | st.floats(1e-3, 5.0)  # LSQ step s


@st.composite
def dsq_ranges(draw):
    """(lower, upper) with a width well above float resolution."""
    lower = draw(st.floats(-10, 10))
    width = draw(st.floats(0.05, 20))
    return lower, lower + width


def moderate_arrays(max_side: int = 16):
    return float_arrays(min_side=0, max_side=max_side, max_dims=2, elements=moderate_floats)


# --------------------------------------------------------------------------- optim / problems

grid_deltas = st.sampled_from([2.0**-k for k in range(0, 6)])  # exact binary spacings
hessian_diags = hnp.arrays(np.float64, st.integers(1, 4), elements=st.floats(0.1, 10.0))


@st.composite
def grid_points(draw, dim: int, delta: float, chains: int = 3):
    """(chains, dim) points exactly on the grid Δ·Z, |w| <= 20Δ."""
    ints = draw(hnp.arrays(np.int64, (chains, dim), elements=st.integers(-20, 20)))
    return ints * delta


# --------------------------------------------------------------------------- kernels / packing

packing_k = st.integers(1, 300)  # crosses the 8-bit byte and 128-bit row boundaries


@st.composite
def sign_matrices(draw, max_rows: int = 5):
    """(rows, K) int8 matrices of ±1."""
    shape = (draw(st.integers(1, max_rows)), draw(packing_k))
    bits = draw(hnp.arrays(np.bool_, shape))
    return np.where(bits, -1, 1).astype(np.int8)


@st.composite
def code_matrices(draw, max_rows: int = 5):
    """(bits, (rows, K) int64 codes in [0, 2**bits)), bits in 1..8."""
    bits = draw(st.integers(1, 8))
    shape = (draw(st.integers(1, max_rows)), draw(packing_k))
    return bits, draw(hnp.arrays(np.int64, shape, elements=st.integers(0, 2**bits - 1)))


# --------------------------------------------------------------------------- nn / CNN


@st.composite
def cnn_configs(draw):
    """Small valid (CNN keyword arguments, batch size) pairs: 1-D or 2-D, any pooling/head/stride."""
    dims = draw(st.sampled_from([1, 2]))
    blocks = draw(st.integers(1, 3))
    pool = draw(st.sampled_from([None, "max", "avg"]))
    stride = draw(st.integers(1, 2))
    kernel = draw(st.sampled_from([1, 3, 5]))
    # large enough that every block (and every 2-wide pool) keeps a non-empty map
    side = draw(st.integers(kernel + 2 ** (blocks + 1), 24))
    in_shape = (draw(st.integers(1, 3)), side) if dims == 1 else (draw(st.integers(1, 2)), side, side)
    config = dict(in_shape=in_shape, channels=tuple(draw(st.integers(1, 4)) for _ in range(blocks)),
                  kernel=kernel, n_classes=draw(st.integers(2, 5)), stride=stride, pool=pool,
                  head=draw(st.sampled_from(["gap", "flatten"])), batch_norm=draw(st.booleans()),
                  backend=draw(st.sampled_from(["numpy", "numba"])))
    return config, draw(st.integers(1, 4))


# --------------------------------------------------------------------------- floating-point formats

float_format_names = st.sampled_from(["bf16", "fp16", "e4m3", "e5m2", "e2m3", "e3m2", "e2m1"])
# any float64 (magnitudes 1e-320 … 1e300, crossing every format's subnormal and overflow ranges)
wide_floats = st.floats(min_value=-1e300, max_value=1e300, allow_nan=False, allow_infinity=False)
float32_exact = st.floats(allow_nan=False, allow_infinity=False, width=32)  # every finite float32


@st.composite
def float_formats(draw, saturate=None):
    """Any FloatFormat(e, m, specials) within the supported range."""
    from quanttheory.quantizers import FloatFormat

    specials = draw(st.sampled_from(["ieee", "fn", "none"]))
    man = draw(st.integers(1 if specials == "fn" else 0, 23))
    sat = draw(st.booleans()) if saturate is None else saturate
    return FloatFormat(draw(st.integers(2, 8)), man, specials, sat)


# --------------------------------------------------------------------------- per-channel parameters (issue 13)


def _divisors(c: int) -> list[int]:
    return [d for d in range(1, c + 1) if c % d == 0]


@st.composite
def channel_layouts(draw, max_dims: int = 3, max_side: int = 5):
    """``(x_shape, axis, axes)``: a small shape, an axis spec as a user writes it (int, negative
    int or tuple, up to two axes) and its normalised, increasing tuple."""
    ndim = draw(st.integers(1, max_dims))
    shape = tuple(draw(st.integers(1, max_side)) for _ in range(ndim))
    axes = tuple(sorted(draw(st.sets(st.integers(0, ndim - 1), min_size=1, max_size=min(2, ndim)))))
    spelled = tuple(a - ndim if draw(st.booleans()) else a for a in axes)  # negative axes too
    axis = spelled[0] if len(spelled) == 1 and draw(st.booleans()) else spelled
    return shape, axis, axes


@st.composite
def channel_params(draw, x_shape, axes, elements, *, trailing=()):
    """A scalar (shared) or an array of shape P + trailing, p_i a divisor of x_shape[axes[i]]
    (per-channel when p_i = C_i, per-group otherwise)."""
    if not trailing and draw(st.integers(0, 4)) == 0:
        return draw(elements)
    pshape = tuple(draw(st.sampled_from(_divisors(x_shape[a]))) for a in axes)
    return draw(hnp.arrays(np.float64, pshape + tuple(trailing), elements=elements))


@st.composite
def channel_inputs(draw, x_shape, low: float = -8.0, high: float = 8.0):
    """x of the given shape, float32 or float64, finite values in [low, high]."""
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    width = 32 if dtype == np.float32 else 64
    return draw(hnp.arrays(dtype, x_shape, elements=st.floats(low, high, width=width)))


# DSQ's α: anywhere in (0, 2), plus α = 1 (the identity limit) and the Taylor branch |1 − α| < 1e-3
dsq_channel_alphas = st.sampled_from([1.0, 1.0 - 2e-4, 1.0 + 5e-4]) | st.floats(0.01, 1.99)
# QN level sets (numpy per-channel tests and the torch adapter's tests)
qn_level_sets = st.sampled_from([(-1.0, 1.0), (-1.0, 0.0, 1.0), (-2.0, -1.0, 0.0, 1.0, 2.0),
                                 (-4.0, -2.0, -1.0, 0.0, 1.0, 2.0, 4.0), (0.0, 1.0), (0.0, 1.0, 2.0, 3.0)])


# --------------------------------------------------------------------------- torch adapter (tests/test_torch.py)

@st.composite
def torch_channel_layouts(draw, max_dims: int = 3):
    """(x_shape, axis, P): an x shape with 1–3 dims of 1–6, one or two increasing axes (negative
    spellings included), and a parameter shape P whose entries divide the channel counts
    (per channel when p_i = C_i, per group otherwise)."""
    shape = draw(st.lists(st.integers(1, 6), min_size=1, max_size=max_dims).map(tuple))
    ndim = len(shape)
    axes = sorted(draw(st.sets(st.integers(0, ndim - 1), min_size=1, max_size=min(2, ndim))))
    P = tuple(draw(st.sampled_from([d for d in range(1, shape[a] + 1) if shape[a] % d == 0])) for a in axes)
    spelled = [a - ndim if draw(st.booleans()) else a for a in axes]
    axis = spelled[0] if len(spelled) == 1 and draw(st.booleans()) else tuple(spelled)
    return shape, axis, P


# --------------------------------------------------------------------------- JAX adapter
# A few fixed shapes only: every new shape costs JAX a compilation, so hypothesis varies the
# values (including dyadic ones that hit levels, midpoints and clip edges exactly), not the shape.

# No subnormals, not even as a quotient x/α: XLA:CPU flushes subnormal inputs and results to
# zero (FTZ/DAZ), see quanttheory/jax/__init__.py; hence no magnitudes in (0, 1e-200).
jax_shapes = st.sampled_from([(0,), (7,), (2, 3, 4)])
dyadic_floats = st.integers(-400, 400).map(lambda k: k / 16.0)
normal_floats = st.floats(-50, 50).filter(lambda v: v == 0 or abs(v) > 1e-200)
jax_param_floats = st.floats(-3, 3).filter(lambda v: v == 0 or abs(v) > 1e-200)  # QN biases


@st.composite
def jax_dsq_ranges(draw):
    """:func:`dsq_ranges` without a subnormal ``lower`` (XLA flushes it, and the grid points built
    from it, to zero: a level of 2.2e-313 came back as 0.0)."""
    lower, upper = draw(dsq_ranges())
    assume(lower == 0 or abs(lower) > 1e-200)
    return lower, upper


def jax_inputs(elements=normal_floats | dyadic_floats):
    """float64 arrays of one of :data:`jax_shapes` with moderate finite (often dyadic) values."""
    return jax_shapes.flatmap(lambda shape: hnp.arrays(np.float64, shape, elements=elements))


@st.composite
def jax_channel_layouts(draw):
    """(x shape, axes, parameter shape P): per-channel (p = C) or per-group (p | C, p < C) layouts."""
    shape = (6, 4)  # one shape: each layout costs the JAX tests a compilation
    axes = draw(st.sampled_from([(0,), (1,), (0, 1)]))
    pshape = tuple(draw(st.sampled_from([d for d in range(1, shape[a] + 1) if shape[a] % d == 0])) for a in axes)
    return shape, axes, pshape

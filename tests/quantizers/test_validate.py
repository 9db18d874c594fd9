"""Per-channel shape arithmetic of ``quanttheory.quantizers._validate`` (issue 13 contract)."""

from __future__ import annotations

import numpy as np
import pytest

from quanttheory.quantizers._validate import (
    channel_param,
    check_axis,
    check_param,
    expand_param,
    param_layout,
    reduce_to_param,
)


@pytest.mark.parametrize(("axis", "ndim", "want"), [
    (None, 3, None), (0, 3, (0,)), (-1, 3, (2,)), ((0, -1), 3, (0, 2)), ([1, 2], 3, (1, 2)),
    (np.int64(1), 2, (1,)),
])
def test_check_axis_normalises(axis, ndim, want):
    assert check_axis(axis, ndim) == want


@pytest.mark.parametrize(("axis", "ndim"), [(3, 3), (-4, 3), ((0, 5), 3), (0, 0)])
def test_check_axis_out_of_range_names_axis_and_ndim(axis, ndim):
    with pytest.raises(ValueError, match=rf"axis=.*out of range for x\.ndim={ndim}"):
        check_axis(axis, ndim)


@pytest.mark.parametrize("axis", [(0, 0), (2, 0), (-1, 0), ()])
def test_check_axis_refuses_repeats_order_and_empty(axis):
    with pytest.raises(ValueError, match="axis"):
        check_axis(axis, 3)


@pytest.mark.parametrize("axis", [True, 1.0, "0", (0, 1.5)])
def test_check_axis_type(axis):
    with pytest.raises(TypeError, match="axis"):
        check_axis(axis, 3)


def test_param_layout_per_channel_and_groups():
    assert param_layout((), (4, 6), (1,), "alpha") == ((), ())
    assert param_layout((6,), (4, 6), (1,), "alpha") == ((1,), (1, 6))
    assert param_layout((3,), (4, 6), (1,), "alpha") == ((2,), (1, 6))
    assert param_layout((2, 1), (4, 5, 6), (0, 2), "alpha") == ((2, 6), (4, 1, 6))
    assert param_layout((0,), (0, 3), (0,), "alpha") == ((1,), (0, 1))


@pytest.mark.parametrize(("pshape", "axes"), [((4,), (1,)), ((6, 1), (1,)), ((5,), (1,)), ((0,), (1,))])
def test_param_layout_bad_shape_names_parameter_and_valid_shapes(pshape, axes):
    with pytest.raises(ValueError, match=r"lower has shape .*x\.shape=\(4, 6\).*valid shapes"):
        param_layout(pshape, (4, 6), axes, "lower")


def test_param_layout_array_without_axis():
    with pytest.raises(ValueError, match="alpha has shape \\(3,\\) but axis=None"):
        param_layout((3,), (3,), None, "alpha")


def test_expand_is_repeat_then_reshape():
    x_shape, axes = (4, 3, 6), (0, 2)
    p = np.arange(6.0).reshape(2, 3)
    full = np.broadcast_to(expand_param(p, x_shape, axes, "alpha"), x_shape)
    for c0 in range(4):
        for c2 in range(6):
            assert np.all(full[c0, :, c2] == p[c0 // 2, c2 // 2])


def test_reduce_to_param_sums_each_group():
    rng = np.random.default_rng(0)
    d = rng.standard_normal((4, 3, 6))
    got = reduce_to_param(d, (2, 3), d.shape, (0, 2))
    want = np.array([[d[2 * i:2 * i + 2, :, 2 * j:2 * j + 2].sum() for j in range(3)] for i in range(2)])
    np.testing.assert_allclose(got, want, rtol=1e-14)
    assert reduce_to_param(d, (), d.shape, (0,)).shape == ()
    np.testing.assert_allclose(reduce_to_param(d, (4,), d.shape, (0,)), d.sum(axis=(1, 2)), rtol=1e-14)


def test_reduce_is_the_vjp_of_expand():
    # <expand(p), d> == <p, reduce(d)> for every p, d: reduce_to_param is expand_param's adjoint
    rng = np.random.default_rng(1)
    x_shape, axes, pshape = (6, 2, 4), (0, 2), (3, 2)
    p, d = rng.standard_normal(pshape), rng.standard_normal(x_shape)
    lhs = np.sum(np.broadcast_to(expand_param(p, x_shape, axes, "p"), x_shape) * d)
    rhs = np.sum(p * reduce_to_param(d, pshape, x_shape, axes))
    assert lhs == pytest.approx(rhs, rel=1e-12)


def test_channel_param_scalars_and_arrays():
    assert channel_param(0.5, (3, 4), None, "alpha", low=0.0) == 0.5
    assert channel_param(0.5, (3, 4), (1,), "alpha", low=0.0) == 0.5
    got = channel_param([1, 2], (3, 4), (1,), "alpha", low=0.0)
    assert got.dtype == np.float64
    assert np.array_equal(got, [[1.0, 1.0, 2.0, 2.0]])
    with pytest.raises(TypeError, match="alpha must be a real number"):
        channel_param([1.0, 2.0], (3, 4), None, "alpha", low=0.0)


@pytest.mark.parametrize(("value", "match"), [
    ([1.0, -2.0], r"alpha\[1\]=.*out of range"), ([1.0, np.nan], r"alpha\[1\]"),
    ([[1.0, np.inf]], r"alpha\[0, 1\]"),
])
def test_check_param_names_the_bad_element(value, match):
    with pytest.raises(ValueError, match=match):
        check_param(value, "alpha", low=0.0)


def test_check_param_types():
    with pytest.raises(TypeError, match="alpha"):
        check_param(np.array([1 + 1j]), "alpha")
    with pytest.raises(TypeError, match="alpha"):
        check_param("abc", "alpha")
    assert check_param(np.float32(2.0), "alpha") == 2.0

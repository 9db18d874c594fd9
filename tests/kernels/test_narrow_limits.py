"""The DSQ-style narrow accumulation: the flush table, and tightness of every limit.

At ``flush = limit`` worst-case codes are exact (cases.py, run by test_equivalence and
test_qemu); at ``limit + 1`` the Python binding refuses, and forcing it through the raw C
symbol really overflows the narrow lanes (the scalar twin, which models wrapped lanes,
predicts the same wrong value) — so the limits are neither loose nor unsafe.
"""

import numpy as np
import pytest

from quanttheory import kernels as qk
from quanttheory.kernels._lib import _fn

# the spec's table (kernels.md; after DSQ, Gong et al. ICCV 2019, ARM deployment):
# symmetric ±(2^(b-1)-1) codes and the full signed range
SPEC_TABLE = {
    (True, 8): (127, 14, 2), (True, 16): (32767, 3640, 668),
    (False, 8): (31, 7, 1), (False, 16): (8191, 2047, 511),
}
CONFIGS = [(b, s, lane) for b in (2, 3, 4) for s in (False, True) for lane in (8, 16)]


@pytest.mark.parametrize(("symmetric", "lane"), SPEC_TABLE)
def test_flush_table(symmetric, lane):
    got = tuple(qk.narrow_flush_limit(b, symmetric=symmetric, lane=lane) for b in (2, 3, 4))
    assert got == SPEC_TABLE[symmetric, lane]


def _worst(bits, symmetric, chunks):
    half = 2 ** (bits - 1)
    lo = -(half - 1) if symmetric else -half
    return np.full((1, 16 * chunks), lo, dtype=np.int8), lo * lo


def _raw(a, lane, flush, scalar):
    out = np.zeros((1, 1), dtype=np.int32)
    _fn("narrow_gemm", scalar)(a.ctypes.data, a.ctypes.data, 1, 1, a.shape[1], lane, flush, out.ctypes.data)
    return int(out[0, 0])


@pytest.mark.parametrize(("bits", "symmetric", "lane"), CONFIGS)
def test_limit_exact_and_limit_plus_one_overflows(bits, symmetric, lane):
    limit = qk.narrow_flush_limit(bits, symmetric=symmetric, lane=lane)
    a, pmax = _worst(bits, symmetric, limit + 1)
    exact = a.shape[1] * pmax
    # the binding's default flush (= limit) handles limit + 1 chunks exactly by flushing twice
    assert qk.narrow_gemm(a, a, bits=bits, symmetric=symmetric, lane=lane)[0, 0] == exact
    assert qk.narrow_gemm(a, a, bits=bits, symmetric=symmetric, lane=lane, flush=limit)[0, 0] == exact
    with pytest.raises(ValueError, match=rf"flush must be an integer in 1..{limit}"):
        qk.narrow_gemm(a, a, bits=bits, symmetric=symmetric, lane=lane, flush=limit + 1)
    simd, twin = _raw(a, lane, limit + 1, False), _raw(a, lane, limit + 1, True)
    assert simd == twin != exact  # one more MAC per lane wraps it


def test_smaller_flush_is_exact(rng):
    a = rng.integers(-8, 8, (3, 1000)).astype(np.int8)
    w = rng.integers(-8, 8, (5, 1000)).astype(np.int8)
    expected = a.astype(np.int64) @ w.T.astype(np.int64)
    for flush in (1, 2, 100, 511):
        assert np.array_equal(qk.narrow_gemm(a, w, bits=4, symmetric=False, lane=16, flush=flush), expected)


# worst case = the largest *positive* product (int16 holds -32768, so negative ones wrap later)
@pytest.mark.parametrize(
    ("ta", "tw", "limit"), [([-128], [-128], 1), ([-10, 3], [-48, 5], 68), ([-1], [-1], 32767)]
)
def test_codebook_flush_limit_is_tight(ta, tw, limit):
    ta, tw = np.array(ta, np.int8), np.array(tw, np.int8)
    assert qk.codebook_flush_limit(ta, tw) == limit
    ia = np.zeros((1, 16 * (limit + 1)), np.uint8)
    exact = ia.shape[1] * int(ta[0]) * int(tw[0])
    assert qk.codebook_gemm(ia, ia, ta, tw)[0, 0] == exact
    tabs = [np.pad(t, (0, 16 - t.size)) for t in (ta, tw)]
    out = np.zeros((1, 1), np.int32)
    _fn("codebook_gemm", False)(ia.ctypes.data, ia.ctypes.data, tabs[0].ctypes.data, tabs[1].ctypes.data,
                                   1, 1, ia.shape[1], limit + 1, out.ctypes.data)
    assert out[0, 0] != exact  # one more SMLAL per int16 lane wraps it

"""Host build (SIMDe on x86, arm_neon.h on AArch64) and its scalar twins against int64 numpy.

Integer accumulators must be *equal* (np.array_equal), for every K of the spec, M or N = 1,
sizes off the blocking, adversarial codes, and the flush limits (tests/kernels/cases.py).
"""

import numpy as np
import pytest

from quanttheory import kernels as qk
from quanttheory import packing as pk
from quanttheory.kernels.qemu import call

from .cases import all_cases

CASES = list(all_cases())


def _id(case_expected):
    case, _ = case_expected
    shape = case.a.shape if case.kind != "bitserial" else case.a.shape + case.w.shape[:1]
    extra = "-".join(f"{k}={v}" for k, v in case.params.items() if not isinstance(v, np.ndarray))
    return f"{case.kind}-{'x'.join(map(str, shape))}-{case.w.shape[-2]}-{extra}"


def test_backend():
    assert qk.backend() in ("neon", "simde")


@pytest.mark.parametrize("scalar", [False, True], ids=["simd", "scalar"])
@pytest.mark.parametrize("kind", ["binary", "binary_v1", "bitserial", "narrow", "codebook", "sdot", "shiftadd"])
def test_kernel_equals_int64_numpy(kind, scalar):
    checked = 0
    for case, expected in CASES:
        if case.kind != kind:
            continue
        got = call(case, scalar=scalar)
        assert got.dtype == (np.float32 if case.params.get("mode") == 1 else np.int32)
        assert np.array_equal(got, expected), _id((case, expected))
        checked += 1
    assert checked >= 20


def test_deterministic_and_inputs_untouched():
    case, expected = next(c for c in CASES if c[0].kind == "codebook" and c[0].a.shape[1] == 4097)
    before = case.a.copy(), case.w.copy()
    first, second = call(case), call(case)
    assert np.array_equal(first, second) and np.array_equal(first, expected)
    assert np.array_equal(case.a, before[0]) and np.array_equal(case.w, before[1])


@pytest.mark.parametrize("scalar", [False, True], ids=["simd", "scalar"])
def test_sdot_paths_of_narrow_and_codebook(rng, scalar):
    # narrow codes through SDOT (lane=32) and codebook indices decoded once, then SDOT
    a, w = rng.integers(-8, 8, (9, 300)).astype(np.int8), rng.integers(-8, 8, (5, 300)).astype(np.int8)
    got = qk.narrow_gemm(a, w, bits=4, symmetric=False, lane=32, scalar=scalar)
    assert np.array_equal(got, a.astype(np.int64) @ w.T.astype(np.int64))
    ta, tw = np.array([-128, -3, 0, 5, 127], np.int8), np.array([1, -128, 64], np.int8)
    ia, iw = rng.integers(0, 5, (7, 129)).astype(np.uint8), rng.integers(0, 3, (6, 129)).astype(np.uint8)
    expected = ta.astype(np.int64)[ia] @ tw.astype(np.int64)[iw].T
    assert np.array_equal(qk.codebook_gemm(ia, iw, ta, tw, method="sdot", scalar=scalar), expected)


@pytest.mark.parametrize("method", ["bitserial", "int8", "auto"])
def test_uniform_matmul_methods_agree(rng, method):
    ua, uw = rng.integers(0, 8, (6, 129)), rng.integers(0, 4, (5, 129))
    got = qk.uniform_matmul(ua, uw, bits_a=3, bits_w=2, zero_a=4, zero_w=1, method=method)
    assert np.array_equal(got, (ua - 4) @ (uw - 1).T)


def test_bitserial_dispatch_follows_measured_costs():
    assert qk.prefer_bitserial(1, 1, 1024) and qk.prefer_bitserial(1, 2, 1024)
    assert not qk.prefer_bitserial(2, 2, 1024) and not qk.prefer_bitserial(2, 2, 2**20)
    assert not qk.prefer_bitserial(1, 2, 129) and not qk.prefer_bitserial(1, 1, 32)


def test_c_packers_equal_numpy(rng):
    for k in (1, 127, 128, 129, 300):
        x = rng.choice(np.array([-1, 1], np.int8), (5, k))
        assert np.array_equal(qk.pack_signs_c(x), pk.pack_signs(x))
        for bits in (1, 2, 4):
            c = rng.integers(0, 2**bits, (3, k)).astype(np.uint8)
            assert np.array_equal(qk.pack_bitplanes_c(c, bits), pk.pack_bitplanes(c, bits))


def test_uniform_matmul_zero_points(rng):
    # signed 3-bit codes c ∈ [-3, 3] stored as u = c + 3, against the int64 product of c
    ca, cw = rng.integers(-3, 4, (7, 300)), rng.integers(-3, 4, (5, 300))
    got = qk.uniform_matmul(ca + 3, cw + 3, bits_a=3, bits_w=3, zero_a=3, zero_w=3)
    assert got.dtype == np.int64 and np.array_equal(got, ca @ cw.T)

"""Host build (SIMDe on x86, arm_neon.h on AArch64) and its scalar twins against int64 numpy.

Integer accumulators must be *equal* (np.array_equal), for every K of the spec, M or N = 1,
sizes off the blocking, adversarial codes, and the flush limits (tests/kernels/cases.py).
"""

import numpy as np
import pytest

from quanttheory import kernels as qk
from quanttheory._kernels_aarch64 import call

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
@pytest.mark.parametrize("kind", ["binary", "bitserial", "narrow", "codebook"])
def test_kernel_equals_int64_numpy(kind, scalar):
    checked = 0
    for case, expected in CASES:
        if case.kind != kind:
            continue
        got = call(case, scalar=scalar)
        assert got.dtype == np.int32
        assert np.array_equal(got, expected), _id((case, expected))
        checked += 1
    assert checked >= 20


def test_deterministic_and_inputs_untouched():
    case, expected = next(c for c in CASES if c[0].kind == "codebook" and c[0].a.shape[1] == 4097)
    before = case.a.copy(), case.w.copy()
    first, second = call(case), call(case)
    assert np.array_equal(first, second) and np.array_equal(first, expected)
    assert np.array_equal(case.a, before[0]) and np.array_equal(case.w, before[1])


def test_uniform_matmul_zero_points(rng):
    # signed 3-bit codes c ∈ [-3, 3] stored as u = c + 3, against the int64 product of c
    ca, cw = rng.integers(-3, 4, (7, 300)), rng.integers(-3, 4, (5, 300))
    got = qk.uniform_matmul(ca + 3, cw + 3, bits_a=3, bits_w=3, zero_a=3, zero_w=3)
    assert got.dtype == np.int64 and np.array_equal(got, ca @ cw.T)

"""Every bad call is a Python exception naming the bad value and what is valid — never a crash."""

import numpy as np
import pytest

from quanttheory import kernels as qk
from quanttheory import packing as pk

A = pk.pack_signs(np.ones((2, 130)))
P2 = pk.pack_bitplanes(np.ones((2, 130), dtype=np.int64), 2)
C = np.zeros((2, 130), dtype=np.int8)
IX = np.zeros((2, 130), dtype=np.uint8)
T = np.arange(8, dtype=np.int8)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        # wrong dtype
        (lambda: qk.binary_gemm(A.astype(np.int8), A, 130), TypeError, "a must have dtype uint8; got int8"),
        (lambda: qk.narrow_gemm(C.astype(np.int16), C, bits=2, symmetric=False), TypeError,
         "dtype int8; got int16"),
        (lambda: qk.codebook_gemm(IX, IX, T.astype(np.int16), T), TypeError, "table_a must have dtype int8"),
        (lambda: qk.bitserial_gemm(P2.tolist(), P2), TypeError, "numpy.ndarray of uint8; got list"),
        # non-contiguous
        (lambda: qk.binary_gemm(np.asfortranarray(A), A, 130), ValueError, "C-contiguous"),
        (lambda: qk.narrow_gemm(np.zeros((2, 260), np.int8)[:, ::2], C, bits=2, symmetric=False),
         ValueError, "C-contiguous"),
        (lambda: qk.codebook_gemm(IX, np.zeros((260, 2), np.uint8).T, T, T), ValueError, "w must be C-contiguous"),
        # shapes
        (lambda: qk.binary_gemm(A, A, 300), ValueError, r"padded_bytes\(k\) columns.*k=300"),
        (lambda: qk.binary_gemm(A[:0], A, 130), ValueError, r"non-empty 2-D array; got shape \(0, 32\)"),
        (lambda: qk.narrow_gemm(C, np.zeros((2, 7), np.int8), bits=2, symmetric=False), ValueError, "same K"),
        (lambda: qk.bitserial_gemm(P2, np.zeros((2, 2, 16), np.uint8)), ValueError, "same padded row length"),
        # out-of-range codes and bits
        (lambda: qk.narrow_gemm(C + 2, C, bits=2, symmetric=False), ValueError, r"\[-2, 1\].*got range \[2, 2\]"),
        (lambda: qk.narrow_gemm(C - 2, C, bits=2, symmetric=True), ValueError,
         r"\[-1, 1\] for bits=2, symmetric=True"),
        (lambda: qk.codebook_gemm(IX + 8, IX, T, T), ValueError, r"< len\(table_a\) = 8; got max index 8"),
        (lambda: qk.codebook_gemm(IX, IX, np.zeros(17, np.int8), T), ValueError, "1..16 levels"),
        (lambda: qk.narrow_gemm(C, C, bits=5, symmetric=False), ValueError, r"bits must be one of \[2, 3, 4\]"),
        (lambda: qk.narrow_gemm(C, C, bits=2, symmetric=False, lane=32), ValueError,
         r"lane must be one of \[8, 16\]"),
        (lambda: qk.narrow_gemm(C, C, bits=2, symmetric=False, flush=0), ValueError, "flush must be"),
        (lambda: qk.bitserial_gemm(np.zeros((5, 2, 32), np.uint8), P2), ValueError,
         r"bits\) must be one of \[1, 2, 3, 4\]; got .*=5"),
        (lambda: pk.pack_bitplanes([[16]], 4), ValueError, r"\[0, 15\] for bits=4"),
        # too-large K
        (lambda: qk.binary_gemm(A, A, 2**31), ValueError, "k <= 2147483647"),
        (lambda: qk.codebook_gemm(np.zeros((1, 131072), np.uint8), np.zeros((1, 131072), np.uint8),
                                  np.array([-128], np.int8), np.array([-128], np.int8)),
         ValueError, r"K=131072 is too large.*valid: K <= 131071"),
    ],
)
def test_bad_input_raises(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_codebook_k_limit_is_tight():
    # K = 131071 with -128 * -128 products: 131071 * 16384 = 2^31 - 2^14 fits int32 exactly
    ia = np.zeros((1, 131071), np.uint8)
    t = np.array([-128], np.int8)
    assert qk.codebook_gemm(ia, ia, t, t)[0, 0] == 131071 * 16384


def test_bitserial_k_limit():
    big = np.zeros((4, 1, 16 * (2**31 // 225 // 128 + 1)), np.uint8)  # K just above (2^31-1)/225
    with pytest.raises(ValueError, match=r"too large for 4x4-bit codes"):
        qk.bitserial_gemm(big, big)

"""Every bad call is a Python exception naming the bad value and what is valid — never a crash."""

import numpy as np
import pytest

from quanttheory import kernels as qk
from quanttheory import packing as pk
from quanttheory.kernels.apot import shift_pack, shiftadd_gemm

A = pk.pack_signs(np.ones((2, 130)))
P2 = pk.pack_bitplanes(np.ones((2, 130), dtype=np.int64), 2)
C = np.zeros((2, 130), dtype=np.int8)
IX = np.zeros((2, 130), dtype=np.uint8)
T = np.arange(8, dtype=np.int8)
# rows packed for K = 130 whose bit 129 is set (-1): read with k = 129 they would count it
NEG_LAST = np.ones((3, 130), np.int8)
NEG_LAST[2, 129] = -1
A130 = pk.pack_signs(NEG_LAST)
P130 = pk.pack_bitplanes(np.where(NEG_LAST < 0, 1, 0), 1)


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
        (lambda: qk.narrow_gemm(C, C, bits=2, symmetric=False, lane=64), ValueError,
         r"lane must be one of \[8, 16, 32\]"),
        (lambda: qk.narrow_gemm(C, C, bits=2, symmetric=False, flush=0), ValueError, "flush must be"),
        (lambda: qk.bitserial_gemm(np.zeros((5, 2, 32), np.uint8), P2), ValueError,
         r"bits\) must be one of \[1, 2, 3, 4\]; got .*=5"),
        (lambda: pk.pack_bitplanes([[16]], 4), ValueError, r"\[0, 15\] for bits=4"),
        # padding bits, non-integer k and zero points (issue 10, item 6)
        (lambda: qk.binary_gemm(A130, A130[:1], 129), ValueError, r"a row 2 has non-zero padding bits.*k=129"),
        (lambda: qk.binary_gemm(A130[:1], A130, 129), ValueError, r"w row 2 has non-zero padding bits"),
        (lambda: qk.binary_gemm_bits(A130, A130, 129, 0), ValueError, "a row 2 has non-zero padding"),
        (lambda: qk.bitserial_gemm(P130, P130[:, :1], 129), ValueError, r"a row 2 has non-zero padding bits"),
        (lambda: qk.binary_gemm(A, A, 130.9), TypeError, r"k must be an integer; got k=130.9"),
        (lambda: qk.binary_gemm(A, A, True), TypeError, "k must be an integer; got k=True"),
        (lambda: qk.bitserial_gemm(P2, P2, 130.0), TypeError, "k must be an integer"),
        (lambda: qk.uniform_matmul(C + 1, C + 1, bits_a=2, bits_w=2, zero_a=1.5), TypeError,
         "zero_a must be an integer; got zero_a=1.5"),
        (lambda: qk.uniform_matmul(C + 1, C + 1, bits_a=2, bits_w=2, zero_w=True), TypeError, "zero_w must be"),
        (lambda: qk.uniform_matmul(C + 1, C + 1, bits_a=2, bits_w=2, method="fast"), ValueError, "method must be"),
        (lambda: qk.narrow_gemm(C, C, bits=2.0, symmetric=False), ValueError, "bits must be one of"),
        (lambda: qk.narrow_gemm(C, C, bits=2, symmetric=False, flush=True), ValueError, "flush must be"),
        (lambda: pk.unpack_signs(-np.ones((1, 16), np.int16), 8), ValueError,
         r"bytes in \[0, 255\]; got range \[-1"),
        (lambda: pk.unpack_bitplanes(np.full((1, 1, 16), 256), 8), ValueError, r"got range \[256, 256\]"),
        (lambda: pk.unpack_signs(np.zeros((1, 16)), 8), TypeError, "integer array of bytes; got dtype float64"),
        (lambda: pk.unpack_signs(np.zeros((1, 16), np.uint8), 8.0), TypeError, "k must be an integer"),
        # fused binary outputs
        (lambda: qk.binary_gemm_float(A, A, 130, 1.0, 0.0, lo=1.0, hi=0.0), ValueError, "lo <= hi"),
        (lambda: qk.binary_gemm_float(A, A, 130, [1.0], 0.0), ValueError, "vector of N=2 entries"),
        (lambda: qk.binary_gemm_float(A, A, 130, np.inf, 0.0), ValueError, "scale must be finite"),
        (lambda: qk.binary_gemm_bits(A, A, 130, 0, 2), ValueError, r"sign must lie in \{-1, 0, 1\}"),
        (lambda: qk.binary_gemm_bits(A, A, 130, 0.5), TypeError, "thr must be integers"),
        # int8 / SDOT path
        (lambda: qk.int8_gemm(C, np.zeros((2, 7), np.int8)), ValueError, "same K"),
        (lambda: qk.int8_gemm(C.astype(np.uint8), C), TypeError, "dtype int8"),
        (lambda: qk.codebook_gemm(IX, IX, T, T, method="lut"), ValueError, "method must be 'tbl' or 'sdot'"),
        (lambda: qk.decode_rows(IX + 8, T), ValueError, "indices < len"),
        # APoT shift-add
        (lambda: shift_pack(IX, np.array([0, 7], np.int8)), ValueError,
         r"table\[1\] = 7 is not a sum of at most two"),
        (lambda: shiftadd_gemm(IX + 16, shift_pack(IX, T[:5])), ValueError, "codes < 2\\*\\*bits_a"),
        (lambda: shift_pack(IX + 5, T[:5]), ValueError, "indices must be < len"),
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

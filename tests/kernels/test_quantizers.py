"""End to end: numpy reference quantizer → integer codes → pack → kernel → dequantize.

For binary, uniform, DSQ (hard), APoT and QN (hard): the kernel's integer accumulator must
equal the int64 numpy product of the codes exactly, and the dequantized result must match
``Q(A) @ Q(W).T`` computed by numpy in float64 within (K + 2)·eps_float32·(|Q(A)| @ |Q(W)|ᵀ)
(the integer part is exact; only the final scaling rounds, so this is generous).
"""

import numpy as np
import pytest

from quanttheory import kernels as qk
from quanttheory import packing as pk
from quanttheory import quantizers as Q

from .cases import KS

SHAPES = ((1, 5), (6, 1), (5, 7))


def _operands(rng):
    for k in KS:
        for m, n in SHAPES:
            yield rng.normal(size=(m, k)), rng.normal(size=(n, k))


def _close(deq, qa, qw, magnitude=None):
    """``magnitude`` bounds the sizes of the summed terms (default |Q(A)| @ |Q(W)|ᵀ)."""
    ref = qa.astype(np.float64) @ qw.astype(np.float64).T
    mag = np.abs(qa) @ np.abs(qw).T if magnitude is None else magnitude
    tol = (qa.shape[1] + 2) * np.finfo(np.float32).eps * mag
    assert np.all(np.abs(deq - ref) <= tol), np.max(np.abs(deq - ref) / tol)


def test_binary(rng):
    for a, w in _operands(rng):
        qa, qw = Q.binarize(a), Q.binarize(w)
        acc = qk.binary_gemm(pk.pack_signs(qa), pk.pack_signs(qw), a.shape[1])
        assert np.array_equal(acc, qa.astype(np.int64) @ qw.T.astype(np.int64))
        assert np.array_equal(acc.astype(np.float64), qa @ qw.T)  # ±1 operands: exact in float64


@pytest.mark.parametrize(("bits_a", "bits_w"), [(1, 2), (2, 2), (3, 4), (4, 3)])
def test_uniform(rng, bits_a, bits_w):
    alpha_a, alpha_w = 1.5, 0.8
    lv_a, lv_w = Q.uniform_levels(bits_a, signed=False), Q.uniform_levels(bits_w, signed=True)
    zero_w = (lv_w.size - 1) // 2  # signed codes c ∈ [-m, m] are stored as u = c + m
    for a, w in _operands(rng):
        qa = Q.uniform(np.abs(a), alpha=alpha_a, bits=bits_a, signed=False)
        qw = Q.uniform(w, alpha=alpha_w, bits=bits_w, signed=True)
        ia, iw = pk.level_indices(qa, alpha_a * lv_a), pk.level_indices(qw, alpha_w * lv_w)
        acc = qk.uniform_matmul(ia, iw, bits_a=bits_a, bits_w=bits_w, zero_w=zero_w)
        assert np.array_equal(acc, ia @ (iw - zero_w).T)
        _close(acc * (alpha_a / (lv_a.size - 1)) * (alpha_w / zero_w), qa, qw)


def _dsq_codes(x, lower, upper, bits):
    q = Q.dsq(x, lower=lower, upper=upper, bits=bits, alpha=0.4)
    n = 2**bits - 1
    delta = (upper - lower) / n
    levels = np.append(lower + delta * np.arange(n), upper)  # the hard map's grid, top = u
    return q, pk.level_indices(q, levels), delta


@pytest.mark.parametrize("bits", [2, 3, 4])
def test_dsq_hard_bitserial_and_narrow(rng, bits):
    (la, ua), (lw, uw) = (-0.5, 2.0), (-1.0, 0.75)
    half = 2 ** (bits - 1)
    for a, w in _operands(rng):
        qa, ia, da = _dsq_codes(a, la, ua, bits)
        qw, iw, dw = _dsq_codes(w, lw, uw, bits)
        exact = ia @ iw.T
        assert np.array_equal(qk.uniform_matmul(ia, iw, bits_a=bits, bits_w=bits), exact)
        # narrow kernel on signed codes c = i − 2^(b−1) (full range, as DSQ deploys); the shift is
        # undone exactly in int64: Σ i_a i_w = Σ c_a c_w + h Σ c_a + h Σ c_w + K h²
        ca, cw = (ia - half).astype(np.int8), (iw - half).astype(np.int8)
        k = a.shape[1]
        for lane in (8, 16):
            acc = qk.narrow_gemm(ca, cw, bits=bits, symmetric=False, lane=lane).astype(np.int64)
            sa, sw = ca.sum(axis=1, dtype=np.int64), cw.sum(axis=1, dtype=np.int64)
            assert np.array_equal(acc + half * sa[:, None] + half * sw[None, :] + k * half * half, exact)
        # dequantize: Σ (l_a + Δ_a i_a)(l_w + Δ_w i_w), expanded, so its rounding scales with
        # Σ (|l_a| + Δ_a i_a)(|l_w| + Δ_w i_w) rather than with |Q(A)| @ |Q(W)|ᵀ (levels near 0)
        deq = (k * la * lw + la * dw * iw.sum(axis=1)[None, :] + lw * da * ia.sum(axis=1)[:, None]
               + da * dw * exact)
        _close(deq, qa, qw, (abs(la) + da * ia) @ (abs(lw) + dw * iw).T)


@pytest.mark.parametrize(("bits_a", "bits_w"), [(2, 2), (3, 3), (4, 4), (4, 2)])
def test_apot_codebook(rng, bits_a, bits_w):
    alpha_a, alpha_w = 2.0, 1.2
    lv_a, lv_w = Q.apot_levels(bits_a, signed=False), Q.apot_levels(bits_w, signed=True)
    (ta, sa), (tw, sw) = qk.codebook_grid(lv_a), qk.codebook_grid(lv_w)
    for a, w in _operands(rng):
        qa = Q.apot(np.abs(a), alpha=alpha_a, bits=bits_a, signed=False)
        qw = Q.apot(w, alpha=alpha_w, bits=bits_w, signed=True)
        ia = pk.level_indices(qa, alpha_a * lv_a).astype(np.uint8)
        iw = pk.level_indices(qw, alpha_w * lv_w).astype(np.uint8)
        acc = qk.codebook_gemm(ia, iw, ta, tw)
        assert np.array_equal(acc, ta.astype(np.int64)[ia] @ tw.astype(np.int64)[iw].T)
        _close(acc * (sa * alpha_a) * (sw * alpha_w), qa, qw)


def test_apot_grid_hand_computed():
    # 4-bit weights: B = 3 magnitude sums {0, 1/2, 1/4, 1/16} + {0, 1/8} = {0,1,2,3,4,6,8,10}/16,
    # normalised by the largest (10/16): integer table ±{…, 10}, scale 1/10
    table, scale = qk.codebook_grid(Q.apot_levels(4, signed=True))
    assert table.tolist() == [-10, -8, -6, -4, -3, -2, -1, 0, 1, 2, 3, 4, 6, 8, 10]
    assert scale == pytest.approx(0.1, rel=1e-15)


@pytest.mark.parametrize(("levels_a", "levels_w"), [([0, 1, 2, 3], [-1, 0, 1]), ([0, 1], [-4, -2, 0, 2, 4])])
def test_qn_hard_codebook(rng, levels_a, levels_w):
    (ta, sa), (tw, sw) = qk.codebook_grid(levels_a), qk.codebook_grid(levels_w)
    # QN §3.3 initialisation, fitted once on a calibration sample (K = 1 operands are too small)
    calib = rng.normal(size=2000)
    ba, alpha_a, beta_a = Q.qn_init(np.abs(calib), levels_a)
    bw, alpha_w, beta_w = Q.qn_init(calib, levels_w)
    for a, w in _operands(rng):
        x = np.abs(a)
        qa = Q.qn(x, levels=levels_a, biases=ba, alpha=alpha_a, beta=beta_a, temperature=1.0, soft=False)
        qw = Q.qn(w, levels=levels_w, biases=bw, alpha=alpha_w, beta=beta_w, temperature=1.0, soft=False)
        ia = pk.level_indices(qa, alpha_a * np.asarray(levels_a, float)).astype(np.uint8)
        iw = pk.level_indices(qw, alpha_w * np.asarray(levels_w, float)).astype(np.uint8)
        acc = qk.codebook_gemm(ia, iw, ta, tw)
        assert np.array_equal(acc, ta.astype(np.int64)[ia] @ tw.astype(np.int64)[iw].T)
        _close(acc * (sa * alpha_a) * (sw * alpha_w), qa, qw)

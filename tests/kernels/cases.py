"""Integer-code equivalence cases shared by the host (SIMDe/NEON) and qemu-aarch64 tests.

Each case is a :class:`quanttheory._kernels_aarch64.Case` plus its expected result, the int64
numpy product of the decoded operands. Shapes: every K of the spec, M or N = 1, sizes that
are not multiples of the 4 x 4 / 1 x 4 blocking; values: random, all-extreme codes,
alternating bits, all-zero and all-one planes.
"""

from __future__ import annotations

import numpy as np

from quanttheory import kernels as qk
from quanttheory import packing as pk
from quanttheory.kernels.qemu import Case

KS = (1, 7, 8, 127, 128, 129, 300, 4097)
SHAPES = ((1, 6), (5, 1), (6, 9))  # (M, N)
BIG_SHAPES = ((17, 11), (8, 4), (9, 5))  # off the 8 x 4 binary tile, on it, one past it


def _alternating(shape, lo, hi):
    """lo, hi, lo, hi, ... along K (alternating bits for lo = 0b0101.., hi = 0b1010..)."""
    return np.where(np.arange(shape[1]) % 2 == 0, lo, hi) * np.ones(shape, dtype=np.int64)


def _values(rng, shape, lo, hi, pattern):
    if pattern == "random":
        return rng.integers(lo, hi + 1, shape)
    if pattern == "min":
        return np.full(shape, lo)
    if pattern == "max":
        return np.full(shape, hi)
    return _alternating(shape, lo, hi)


PATTERNS = ("random", "min", "max", "alternating")


def binary_cases(rng):
    for k in KS:
        for (m, n), pat in zip(SHAPES * 2, PATTERNS * 2, strict=False):
            a = np.where(_values(rng, (m, k), 0, 1, pat) == 1, -1, 1)
            w = np.where(_values(rng, (n, k), 0, 1, "random" if pat == "alternating" else pat) == 1, -1, 1)
            yield Case("binary", pk.pack_signs(a), pk.pack_signs(w), {"k": k}), a @ w.T
            yield Case("binary_v1", pk.pack_signs(a), pk.pack_signs(w), {"k": k}), a @ w.T


def binary_fused_cases(rng):
    """The fused epilogues of the 8 x 4 kernel: float (scale, bias, clamp) and sign bits."""
    for i, k in enumerate(KS):
        m, n = BIG_SHAPES[i % 3]
        a, w = rng.choice(np.array([-1, 1]), (m, k)), rng.choice(np.array([-1, 1]), (n, k))
        dot = a @ w.T
        pa, pw = pk.pack_signs(a), pk.pack_signs(w)
        scale = rng.uniform(-2, 2, n).astype(np.float32)
        bias = rng.uniform(-k, k, n).astype(np.float32)
        lo, hi = (-np.inf, np.inf) if i % 2 else (-0.5 * k, 0.25 * k)
        expected = np.clip(dot.astype(np.float32) * scale + bias, np.float32(lo), np.float32(hi))
        yield (Case("binary", pa, pw, {"k": k, "mode": 1, "scale": scale, "bias": bias, "lo": lo, "hi": hi}),
               expected)
        sign = rng.integers(-1, 2, n).astype(np.int32)
        thr = rng.integers(-k, k + 1, n).astype(np.int32)
        yield Case("binary", pa, pw, {"k": k, "mode": 2, "thr": thr, "sign": sign}), (sign * dot < thr).astype(int)


def sdot_cases(rng):
    """int8 SDOT GEMM on zero-padded rows: full int8 range, extremes, narrow codes."""
    for i, k in enumerate(KS):
        for j, (m, n) in enumerate(SHAPES + BIG_SHAPES[:1]):
            pat = PATTERNS[(i + j) % 4]
            lo, hi = ((-128, 127), (-2, 1), (-8, 7))[(i + j) % 3]
            a = _values(rng, (m, k), lo, hi, pat).astype(np.int8)
            w = _values(rng, (n, k), lo, hi, "min" if pat == "alternating" else pat).astype(np.int8)
            yield Case("sdot", qk.pad_rows(a), qk.pad_rows(w), {}), a.astype(np.int64) @ w.T.astype(np.int64)


def bitserial_cases(rng):
    bit_pairs = ((1, 1), (2, 2), (3, 4), (4, 4), (4, 1), (2, 3))
    for i, k in enumerate(KS):
        for j, (m, n) in enumerate(SHAPES):
            ba, bw = bit_pairs[(i + j) % len(bit_pairs)]
            pat = PATTERNS[(i + j) % len(PATTERNS)]
            # "min" = all-zero planes, "max" = all-one planes, alternating = 0b0..0 / 0b1..1
            ua = _values(rng, (m, k), 0, 2**ba - 1, pat)
            uw = _values(rng, (n, k), 0, 2**bw - 1, "max" if pat == "alternating" else pat)
            yield Case("bitserial", pk.pack_bitplanes(ua, ba), pk.pack_bitplanes(uw, bw), {}), ua @ uw.T


def narrow_code_range(bits, symmetric):
    half = 2 ** (bits - 1)
    return (-(half - 1), half - 1) if symmetric else (-half, half - 1)


def narrow_cases(rng):
    i = 0
    for bits in (2, 3, 4):
        for symmetric in (False, True):
            for lane in (8, 16):
                lo, hi = narrow_code_range(bits, symmetric)
                for k in KS[i % 2::2]:  # half of the K values per configuration, all overall
                    m, n = SHAPES[i % 3]
                    pat = PATTERNS[i % 4]
                    i += 1
                    a = _values(rng, (m, k), lo, hi, pat).astype(np.int8)
                    w = _values(rng, (n, k), lo, hi, "min" if pat == "alternating" else pat).astype(np.int8)
                    params = {"bits": bits, "symmetric": symmetric, "lane": lane}
                    yield Case("narrow", a, w, params), a.astype(np.int64) @ w.T.astype(np.int64)


def codebook_cases(rng):
    tables = [
        (np.array([-128, -77, 0, 5, 127, 127, -128, 1, 2, 3, 4, 5, 6, 7, 8, 9], np.int8),
         np.array([127, -128, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, -1], np.int8)),
        (np.array([0, 1, 2, 3, 4, 6, 8, 10], np.int8), np.array([-10, -8, -1, 0, 1, 8, 10], np.int8)),
    ]
    for i, k in enumerate(KS):
        for j, (m, n) in enumerate(SHAPES):
            ta, tw = tables[(i + j) % 2]
            pat = PATTERNS[(i + j) % 4]
            ia = _values(rng, (m, k), 0, ta.size - 1, pat).astype(np.uint8)
            iw = _values(rng, (n, k), 0, tw.size - 1, pat).astype(np.uint8)
            expected = ta.astype(np.int64)[ia] @ tw.astype(np.int64)[iw].T
            yield Case("codebook", ia, iw, {"table_a": ta, "table_w": tw}), expected


def shiftadd_cases(rng):
    """APoT shift-add: the 4-bit APoT grid (levels ±(2^e1 + 2^e2)) and a larger one, 4-bit codes."""
    tables = (np.array([-10, -8, -6, -4, -3, -2, -1, 0, 1, 2, 3, 4, 6, 8, 10], np.int8),
              np.array([-128, -96, 65, 0, 127 - 63, 1], np.int8))
    for i, k in enumerate(KS):
        for j, (m, n) in enumerate(SHAPES + BIG_SHAPES[:1]):
            t = tables[(i + j) % 2]
            a = _values(rng, (m, k), 0, 15, PATTERNS[(i + j) % 4]).astype(np.uint8)  # 15 * 128 fits int16
            w = rng.integers(0, t.size, (n, k)).astype(np.uint8)
            yield (Case("shiftadd", a, w, {"table": t, "bits_a": 4}),
                   a.astype(np.int64) @ t.astype(np.int64)[w].T)


def limit_cases():
    """Worst-case codes at the flush limit and at limit + 1 chunks (flushing once more).

    Both operands hold the code with the largest positive product (the most negative code
    squared), the worst case for lane overflow.
    """
    for bits in (2, 3, 4):
        for symmetric in (False, True):
            for lane in (8, 16):
                limit = qk.narrow_flush_limit(bits, symmetric=symmetric, lane=lane)
                lo, _ = narrow_code_range(bits, symmetric)
                for chunks in (limit, limit + 1):
                    a = np.full((1, 16 * chunks), lo, dtype=np.int8)
                    params = {"bits": bits, "symmetric": symmetric, "lane": lane}
                    yield Case("narrow", a, a.copy(), params), np.array([[16 * chunks * lo * lo]])
    # codebook int16 lanes: worst-case tables (-128·-128 → flush 1; -10·-48 → flush 68)
    for ta, tw in (([-128], [-128]), ([-10, 3], [-48, 5])):
        ta, tw = np.array(ta, np.int8), np.array(tw, np.int8)
        limit = qk.codebook_flush_limit(ta, tw)
        for chunks in (limit, limit + 1):
            ia = np.zeros((1, 16 * chunks), np.uint8)
            yield (Case("codebook", ia, ia.copy(), {"table_a": ta, "table_w": tw}),
                   np.array([[16 * chunks * int(ta[0]) * int(tw[0])]]))
    # popcount lanes: u16 widened every 1023 chunks (8 x 4 kernel) / 4095 chunks (v1, bit-serial);
    # all bits differing / all planes one
    # (+ a 32-bit tail counted as the first chunk of the first widening block: 1 + 1022 + 1)
    for kind, k in (("binary", 128 * 1023), ("binary", 128 * 1024), ("binary", 128 * 1023 + 1),
                    ("binary", 128 * 1023 + 64), ("binary_v1", 128 * 4095), ("binary_v1", 128 * 4096)):
        (m, n) = (9, 5) if kind == "binary" else (4, 4)  # the 8 x 4 tile plus one edge row/column
        ones = -np.ones((m, k), dtype=np.int8)
        yield Case(kind, pk.pack_signs(ones), pk.pack_signs(-ones[:n]), {"k": k}), np.full((m, n), -k)
    # SDOT int32 lanes at the K limit: 131071 * (-128)^2 = 2^31 - 2^14
    big = np.full((1, 131071), -128, np.int8)
    yield Case("sdot", qk.pad_rows(big), qk.pad_rows(big), {}), np.array([[131071 * 16384]])
    for chunks in (4095, 4096):
        k = 128 * chunks
        planes = pk.pack_bitplanes(np.ones((1, k), dtype=np.int64), 1)
        yield Case("bitserial", planes, planes.copy(), {}), np.array([[k]])


def all_cases(seed: int = 20171204):
    rng = np.random.default_rng(seed)
    for gen in (binary_cases, binary_fused_cases, bitserial_cases, narrow_cases, codebook_cases, sdot_cases,
                shiftadd_cases):
        yield from gen(rng)
    yield from limit_cases()

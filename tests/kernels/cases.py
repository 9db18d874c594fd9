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
from quanttheory._kernels_aarch64 import Case

KS = (1, 7, 8, 127, 128, 129, 300, 4097)
SHAPES = ((1, 6), (5, 1), (6, 9))  # (M, N)


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
    # popcount lanes: 4095 chunks per u16 flush; all bits differing / all planes one
    for chunks in (4095, 4096):
        k = 128 * chunks
        ones = -np.ones((4, k), dtype=np.int8)
        yield (Case("binary", pk.pack_signs(ones), pk.pack_signs(-ones), {"k": k}),
               np.full((4, 4), -k))
        planes = pk.pack_bitplanes(np.ones((1, k), dtype=np.int64), 1)
        yield Case("bitserial", planes, planes.copy(), {}), np.array([[k]])


def all_cases(seed: int = 20171204):
    rng = np.random.default_rng(seed)
    for gen in (binary_cases, bitserial_cases, narrow_cases, codebook_cases):
        yield from gen(rng)
    yield from limit_cases()

"""Bit layouts of quanttheory.packing: hand-computed bytes, round trips, bad input."""

import numpy as np
import pytest
from hypothesis import given

from quanttheory import packing as pk
from tests.strategies import code_matrices, sign_matrices


@pytest.mark.parametrize(("k", "nbytes"), [(1, 16), (8, 16), (128, 16), (129, 32), (300, 48), (4097, 528)])
def test_padded_bytes(k, nbytes):
    assert pk.padded_bytes(k) == nbytes


def test_pack_signs_hand_computed():
    # -1 ⇔ bit 1, LSB first: elements 0 and 3 negative → 0b1001 = 9; element 8 → byte 1, bit 0
    x = np.array([[-1, 1, 1, -1, 1, 1, 1, 1, -1], [1] * 9], dtype=np.int8)
    p = pk.pack_signs(x)
    assert p.shape == (2, 16) and p.dtype == np.uint8
    assert p[0].tolist() == [9, 1] + [0] * 14
    assert not p[1].any()  # all +1 → all-zero row, padding included
    assert pk.pack_signs(-np.ones((1, 128)))[0].tolist() == [255] * 16


def test_pack_bitplanes_hand_computed():
    # codes 3, 1, 2 (binary 11, 01, 10): plane 0 = bits 1,1,0 → 0b011; plane 1 = 1,0,1 → 0b101
    p = pk.pack_bitplanes(np.array([[3, 1, 2]]), 2)
    assert p.shape == (2, 1, 16)
    assert p[:, 0, 0].tolist() == [3, 5] and not p[:, 0, 1:].any()


@given(sign_matrices())
def test_signs_round_trip(x):
    p = pk.pack_signs(x)
    assert p.shape == (x.shape[0], pk.padded_bytes(x.shape[1]))
    np.testing.assert_array_equal(pk.unpack_signs(p, x.shape[1]), x)
    # padding bits are zero (the kernels rely on it)
    tail = np.unpackbits(p, axis=1, bitorder="little")[:, x.shape[1]:]
    assert not tail.any()


@given(code_matrices())
def test_bitplanes_round_trip(bits_codes):
    bits, codes = bits_codes
    p = pk.pack_bitplanes(codes, bits)
    assert p.shape == (bits, codes.shape[0], pk.padded_bytes(codes.shape[1]))
    np.testing.assert_array_equal(pk.unpack_bitplanes(p, codes.shape[1]), codes)


def test_level_indices():
    levels = 0.3 * np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
    q = np.array([[0.3, -0.15], [0.0, -0.3]])
    np.testing.assert_array_equal(pk.level_indices(q, levels), [[4, 1], [2, 0]])
    with pytest.raises(ValueError, match="not one of the levels"):
        pk.level_indices([0.1], levels)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: pk.pack_signs([[1, 0, -1]]), ValueError, r"only -1 and \+1; got x\[0, 1\]=0"),
        (lambda: pk.pack_signs([1, -1]), ValueError, r"2-D \(rows, K\).*shape \(2,\)"),
        (lambda: pk.pack_signs(np.ones((2, 0))), ValueError, "K >= 1"),
        (lambda: pk.pack_signs([["a"]]), TypeError, "dtype <U1"),
        (lambda: pk.pack_bitplanes([[0, 4]], 2), ValueError, r"\[0, 3\] for bits=2; got range \[0, 4\]"),
        (lambda: pk.pack_bitplanes([[0, -1]], 2), ValueError, "got range"),
        (lambda: pk.pack_bitplanes([[0, 1]], 9), ValueError, "bits must be an integer in 1..8"),
        (lambda: pk.pack_bitplanes([[0.5]], 2), ValueError, "integers"),
        (lambda: pk.unpack_signs(np.zeros((1, 16), np.uint8), 129), ValueError, r"\(rows, 32\)"),
        (lambda: pk.padded_bytes(0), ValueError, "k must be >= 1; got k=0"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_padding_violation_names_the_row():
    x = np.ones((3, 130), np.int8)
    x[1, 129] = -1
    p = pk.pack_signs(x)
    assert pk.padding_violation(p, 130) is None
    assert pk.padding_violation(p, 129) == 1  # rows packed for K = 130 read with k = 129
    assert pk.padding_violation(p[[0, 2]], 129) is None

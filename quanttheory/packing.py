"""Compatibility path: the bit layouts live in :mod:`quanttheory.kernels.packing`."""

from .kernels.packing import (  # noqa: F401
    ROW_BITS,
    check_int,
    level_indices,
    pack_bitplanes,
    pack_signs,
    padded_bytes,
    padding_violation,
    unpack_bitplanes,
    unpack_signs,
)

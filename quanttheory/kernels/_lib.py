"""ctypes loading of the compiled kernels and the argument checks shared by every binding."""

from __future__ import annotations

import ctypes
from functools import cache

import numpy as np

from .packing import padding_violation

INT32_MAX = 2**31 - 1
_LANE_MAX = {8: 127, 16: 32767}
_P = ctypes.c_void_p
_I = ctypes.c_int64


@cache
def _lib() -> ctypes.CDLL:
    import importlib

    # the extension stub (built from kernels/qt_module.c); its .so exports the qt_* symbols
    stub = importlib.import_module("quanttheory._qtkernels")
    lib = ctypes.CDLL(stub.__file__)
    lib.qt_backend.restype = ctypes.c_char_p
    lib.qt_has_dotprod.restype = ctypes.c_int
    sigs = {
        "binary_gemm": [_P, _P, _I, _I, _I, _I, _P],
        "bgemm": [_P, _P, _I, _I, _P],
        "sdot_gemm": [_P, _P, _I, _I, _I, _P],
        "shiftadd_gemm": [_P, _P, _P, _P, _P, _I, _I, _I, _P],
        "bitserial_gemm": [_P, _P, _I, _I, _I, _I, _I, _P],
        "narrow_gemm": [_P, _P, _I, _I, _I, _I, _I, _P],
        "codebook_gemm": [_P, _P, _P, _P, _I, _I, _I, _I, _P],
    }
    for name, args in sigs.items():
        for fn in (getattr(lib, f"qt_{name}"), getattr(lib, f"qt_{name}_ref")):
            fn.argtypes, fn.restype = args, None
    lib.qt_pad_rows.argtypes, lib.qt_pad_rows.restype = [_P, _I, _I, _I, _P], None
    lib.qt_decode_rows.argtypes, lib.qt_decode_rows.restype = [_P, _I, _I, _I, _P, _P], None
    lib.qt_pack_signs.argtypes, lib.qt_pack_signs.restype = [_P, _I, _I, _I, _P], None
    lib.qt_pack_planes.argtypes, lib.qt_pack_planes.restype = [_P, _I, _I, _I, _I, _P], None
    return lib


def backend() -> str:
    """``"neon"`` when built against the real ``arm_neon.h`` (AArch64), else ``"simde"``."""
    return _lib().qt_backend().decode()


def _fn(name: str, scalar: bool):
    return getattr(_lib(), f"qt_{name}_ref" if scalar else f"qt_{name}")


def _check(x, name: str, dtype, ndim: int) -> np.ndarray:
    """Type/layout check without copying: the kernels read the caller's buffer as is."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray of {np.dtype(dtype)}; got {type(x).__name__}")
    if x.dtype != dtype:
        raise TypeError(f"{name} must have dtype {np.dtype(dtype)}; got {x.dtype}")
    if x.ndim != ndim or 0 in x.shape:
        raise ValueError(f"{name} must be a non-empty {ndim}-D array; got shape {x.shape}")
    if not x.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous (use np.ascontiguousarray); got strides {x.strides}")
    return x


def _check_bits(bits, name: str, valid) -> int:
    if isinstance(bits, bool) or not isinstance(bits, int | np.integer) or int(bits) not in valid:
        raise ValueError(f"{name} must be one of {list(valid)}; got {name}={bits!r}")
    return int(bits)


def _check_k_limit(k: int, max_abs_product: int, what: str) -> None:
    # Any partial sum of K products is bounded by K·max|product|; within int32 no lane of the
    # int32 accumulators (nor the final sum) can overflow, whatever the summation order.
    if k * max_abs_product > INT32_MAX:
        kmax = INT32_MAX // max_abs_product
        raise ValueError(f"K={k} is too large for {what}: K·max|product| = {k * max_abs_product} "
                         f"exceeds int32; valid: K <= {kmax}")


def _check_padding(x: np.ndarray, name: str, k: int) -> None:
    row = padding_violation(x, k)
    if row is not None:
        raise ValueError(f"{name} row {row} has non-zero padding bits (bit positions >= k={k}); the kernels "
                         f"count them, so the result would be wrong. Pack with quanttheory.packing for this k "
                         f"(rows packed for a larger K cannot be reused with a smaller k)")


def _out(m: int, n: int) -> np.ndarray:
    return np.zeros((m, n), dtype=np.int32)


def _ptr(x: np.ndarray) -> int:
    return x.ctypes.data

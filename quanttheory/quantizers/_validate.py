"""Argument checks shared by every quantizer: one place for the error messages."""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import numpy as np


def as_float_array(x, name: str = "x") -> np.ndarray:
    """Return ``x`` as a float array (float32 kept, other real types promoted to float64).

    Raises
    ------
    TypeError
        For complex, boolean-free object, string or other non-real dtypes.
    ValueError
        If any element is NaN or infinite (a quantizer would silently map NaN to a level).
    """
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiub":
        raise TypeError(
            f"{name} must be a real numeric array; got dtype {arr.dtype} "
            "(valid: float32, float64, integer or bool)"
        )
    if arr.dtype != np.float32:
        arr = arr.astype(np.float64)
    if arr.size and not np.all(np.isfinite(arr)):
        bad = arr[~np.isfinite(arr)].ravel()[0]
        raise ValueError(f"{name} contains a non-finite value ({bad}); quantizers need finite input")
    return arr


def check_scalar(value, name: str, *, low=None, high=None, low_open=True, high_open=True) -> float:
    """Validate a real scalar in an (open by default) interval and return it as float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real | np.floating | np.integer):
        raise TypeError(f"{name} must be a real number; got {value!r}")
    v = float(value)
    lo_ok = low is None or (v > low if low_open else v >= low)
    hi_ok = high is None or (v < high if high_open else v <= high)
    if not (np.isfinite(v) and lo_ok and hi_ok):
        lb = "(" if low_open else "["
        rb = ")" if high_open else "]"
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(f"{name}={value!r} is out of range; valid: {lb}{lo}, {hi}{rb}")
    return v


def check_grid(arr: np.ndarray, delta: float) -> float:
    """Return Δ after checking that x/Δ cannot overflow (a tiny Δ would turn finite x into ±inf)."""
    if arr.size:
        big = float(np.max(np.abs(arr)))
        with np.errstate(over="ignore"):
            if not np.isfinite(big / delta):
                raise ValueError(
                    f"delta={delta!r} is too small for |x| up to {big!r} (x/delta overflows "
                    f"float64); valid: delta > {float(big / np.finfo(np.float64).max)!r}"
                )
    return delta


def check_bits(bits, valid: Iterable[int], name: str = "bits") -> int:
    """Validate an integer bit-width against the set of supported widths."""
    valid = tuple(valid)
    if isinstance(bits, bool) or not isinstance(bits, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {bits!r}")
    if int(bits) not in valid:
        raise ValueError(f"{name}={bits!r} is not supported; valid: {list(valid)}")
    return int(bits)


def check_rng(rng) -> np.random.Generator:
    """Stochastic quantizers take an explicit Generator: no hidden global state."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator (e.g. np.random.default_rng(0)); got {rng!r}"
        )
    return rng

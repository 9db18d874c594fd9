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
    arr = as_array(x, name)
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


def as_array(x, name: str) -> np.ndarray:
    """``np.asarray(x)``, with a ragged nested sequence reported by argument name (ValueError)."""
    try:
        return np.asarray(x)
    except ValueError as err:
        raise ValueError(f"{name} must be a rectangular array; got a ragged nested sequence "
                         f"({str(err).split('.')[0]})") from None


def as_levels(levels, name: str = "levels") -> np.ndarray:
    """A 1-D real float64 array of levels; complex, string, object or ragged input is refused.

    (``np.asarray(levels, dtype=float)`` would cast complex levels with only a warning and
    parse strings; both are errors here.)
    """
    arr = as_array(levels, name)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name} must be real numbers; got dtype {arr.dtype} ({levels!r:.80})")
    return arr.astype(np.float64)


def check_bool(value, name: str) -> bool:
    """A flag must be a bool (``signed="False"`` would otherwise be truthy, i.e. signed)."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be a bool (True or False); got {value!r} of type {type(value).__name__}")
    return bool(value)


def check_finite_result(out, what: str, **params) -> None:
    """Raise ValueError naming ``params`` if a result overflowed to ±inf or became NaN."""
    values = out.values() if isinstance(out, dict) else [out]
    if all(np.all(np.isfinite(v)) for v in values):
        return
    args = ", ".join(f"{k}={v!r:.60}" for k, v in params.items())
    raise ValueError(f"{what} is not finite (overflows float64) for {args}; use smaller magnitudes")


def check_scalar(value, name: str, *, low=None, high=None, low_open=True, high_open=True) -> float:
    """Validate a real scalar in an (open by default) interval and return it as float."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real | np.floating | np.integer):
        raise TypeError(f"{name} must be a real number; got {value!r}")
    try:
        v = float(value)
    except OverflowError:  # an int beyond float64
        v = float("inf")
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

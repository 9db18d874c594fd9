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


# --------------------------------------------------------------------------- per-channel parameters
# Pure shape arithmetic (tuples of ints in, tuples out), so the JAX and torch adapters share it.
# A parameter governs the channels along ``axes``: scalar (shared), or shape P = (p_1, …, p_k)
# with p_i dividing C_i = x.shape[axes[i]]; channel c of axis i uses index c // (C_i // p_i).


def check_axis(axis, ndim: int) -> tuple[int, ...] | None:
    """Normalise ``axis`` (None, an int or a tuple of ints; negative allowed) for an x of ``ndim`` dims.

    Returns ``None`` for ``axis=None`` (per-tensor parameters), else the non-negative axes in
    the order given. They must be distinct and increasing after normalisation, because a
    per-channel parameter's dims follow x's dim order (``axis=(0, -1)`` is fine, ``(-1, 0)`` is
    not).

    Raises
    ------
    TypeError
        If an entry is not an integer (bools are refused).
    ValueError
        If an entry is out of range for ``ndim`` (the message names both), repeated, out of
        order, or the tuple is empty.
    """
    if axis is None:
        return None
    ndim = int(ndim)
    entries = (axis,) if isinstance(axis, numbers.Integral) else axis
    if isinstance(axis, bool | np.bool_) or not isinstance(entries, tuple | list):
        raise TypeError(f"axis must be None, an int or a tuple of ints; got {axis!r}")
    if not entries:
        raise ValueError("axis=() names no axis; use axis=None for per-tensor parameters")
    out = []
    for a in entries:
        if isinstance(a, bool | np.bool_) or not isinstance(a, numbers.Integral):
            raise TypeError(f"axis entries must be ints; got {a!r} in axis={axis!r}")
        if not -ndim <= int(a) < ndim:
            raise ValueError(f"axis={axis!r}: {int(a)} is out of range for x.ndim={ndim}; "
                             f"valid: {-ndim} .. {ndim - 1}")
        out.append(int(a) % ndim)
    if any(b <= a for a, b in zip(out, out[1:], strict=False)):
        raise ValueError(f"axis={axis!r} normalises to {tuple(out)}; the axes must be distinct and "
                         "increasing (a parameter's dims follow the order of x's dims)")
    return tuple(out)


def _divisors(c: int) -> list[int]:
    return [c] if c == 0 else [d for d in range(1, c + 1) if c % d == 0]


def param_layout(param_shape, x_shape, axes, name: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Repeats and broadcast shape of a per-channel parameter (pure shape arithmetic).

    Parameters
    ----------
    param_shape : tuple of int
        ``()`` (one shared value) or P = (p_1, …, p_k), one entry per axis.
    x_shape : tuple of int
    axes : tuple of int or None
        From :func:`check_axis`.
    name : str
        The parameter's name, for the error message.

    Returns
    -------
    repeats : tuple of int
        r_i = C_i // p_i (``()`` for a scalar). Expand with ``repeat(p, r_i, axis=i)`` per dim...
    bshape : tuple of int
        ...then reshape to ``bshape`` (p_i·r_i = C_i at ``axes[i]``, 1 elsewhere; ``()`` for a
        scalar) to broadcast against x.

    Raises
    ------
    ValueError
        Naming ``name``, its shape, x.shape, the axes and the valid shapes.
    """
    param_shape, x_shape = tuple(int(p) for p in param_shape), tuple(int(c) for c in x_shape)
    if param_shape == ():
        return (), ()
    if axes is None:
        raise ValueError(f"{name} has shape {param_shape} but axis=None (per-tensor: {name} must be a "
                         "scalar); pass axis= to give one value per channel or group")
    chans = tuple(x_shape[a] for a in axes)
    ok = len(param_shape) == len(axes) and all(
        p == c or (p >= 1 and c % p == 0) for p, c in zip(param_shape, chans, strict=False))
    if not ok:
        valid = " x ".join(f"{{{', '.join(map(str, _divisors(c)))}}}" for c in chans)
        raise ValueError(f"{name} has shape {param_shape}, which does not fit x.shape={x_shape} with "
                         f"axis={axes}: valid shapes are () or one entry per axis dividing the channel "
                         f"count {chans}, i.e. {valid}")
    repeats = tuple(1 if p == c else c // p for p, c in zip(param_shape, chans, strict=False))
    bshape = [1] * len(x_shape)
    for a, c in zip(axes, chans, strict=False):
        bshape[a] = c
    return repeats, tuple(bshape)


def check_param(value, name: str, *, low=None, high=None, low_open=True, high_open=True):
    """A scalar (returned as float, via :func:`check_scalar`) or a float64 array of parameters,
    every element real, finite and in the interval; the error names the first bad element."""
    arr = as_array(value, name)
    if arr.ndim == 0:
        return check_scalar(value if not isinstance(value, np.ndarray) else arr[()], name, low=low,
                            high=high, low_open=low_open, high_open=high_open)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name} must be a real number or an array of real numbers; got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    with np.errstate(invalid="ignore"):
        good = np.isfinite(arr)
        if low is not None:
            good &= arr > low if low_open else arr >= low
        if high is not None:
            good &= arr < high if high_open else arr <= high
    if not np.all(good):
        idx = tuple(int(i) for i in np.argwhere(~good)[0])
        check_scalar(arr[idx], f"{name}[{', '.join(map(str, idx))}]", low=low, high=high,
                     low_open=low_open, high_open=high_open)  # raises, naming the element
    return arr


def expand_param(p, x_shape, axes, name: str):
    """Broadcast a validated parameter (float or array of shape P) against x: float stays float."""
    if not isinstance(p, np.ndarray):
        return p
    repeats, bshape = param_layout(p.shape, x_shape, axes, name)
    for i, r in enumerate(repeats):
        if r != 1:
            p = np.repeat(p, r, axis=i)
    return p.reshape(bshape)


def check_scalar_param(value, name: str, **interval) -> float:
    """:func:`check_scalar` for a parameter that could be per-channel: an array gets a hint to pass axis=."""
    if isinstance(value, np.ndarray | list | tuple) and np.ndim(value) > 0:
        raise TypeError(f"{name} must be a real number when axis=None; got an array of shape "
                        f"{np.shape(value)} (pass axis= to give one value per channel or group)")
    return check_scalar(value, name, **interval)


def channel_param(value, x_shape, axes, name: str, **interval):
    """Validate a (per-channel) parameter and expand it to broadcast against x.

    ``axes=None`` demands a scalar (as before per-channel support) and returns a float; otherwise
    a scalar stays a float and an array of shape P is returned expanded to the broadcast shape of
    :func:`param_layout`. ``interval`` is passed to :func:`check_param` (low, high, …).
    """
    if axes is None:
        return check_scalar_param(value, name, **interval)
    return expand_param(check_param(value, name, **interval), x_shape, axes, name)


def channel_param_shaped(value, x_shape, axes, name: str, **interval):
    """``(expanded, shape)``: :func:`channel_param` and the parameter's own shape P (``()`` if scalar)."""
    if axes is None:
        return check_scalar_param(value, name, **interval), ()
    p = check_param(value, name, **interval)
    return expand_param(p, x_shape, axes, name), np.shape(p)


def reduce_to_param(d, param_shape, x_shape, axes):
    """Sum the x-shaped array ``d`` over the elements each parameter value governs.

    Returns a float64 array of ``param_shape`` (a 0-d array for a shared scalar): entry j sums d
    over every x element whose channel (along each of ``axes``) maps to j. The VJP of
    :func:`expand_param`.
    """
    d = np.asarray(d, dtype=np.float64)
    param_shape = tuple(int(p) for p in param_shape)
    if param_shape == ():
        return np.asarray(np.sum(d))
    repeats, _ = param_layout(param_shape, x_shape, axes, "parameter")
    split, summed = group_split(d.shape, param_shape, repeats, axes)
    return np.sum(d.reshape(split), axis=summed).reshape(param_shape)


def group_split(x_shape, param_shape, repeats, axes):
    """``(split, summed)``: the shape that splits each governed axis C_i of an x-shaped array into
    (p_i, r_i), and the dims of it to sum so one entry per parameter value is left (pure shape
    arithmetic, shared by :func:`reduce_to_param` and the framework adapters)."""
    split, keep = [], []
    for dim, c in enumerate(x_shape):
        if dim in axes:
            i = axes.index(dim)
            keep.append(len(split))
            split += [param_shape[i], repeats[i]]
        else:
            split.append(c)
    return tuple(split), tuple(k for k in range(len(split)) if k not in keep)


def check_cotangent(cotangent, x_shape):
    """The cotangent of a VJP: a finite float array of x's shape (float64), or None."""
    if cotangent is None:
        return None
    ct = as_float_array(cotangent, "cotangent").astype(np.float64)
    if ct.shape != tuple(x_shape):
        raise ValueError(f"cotangent has shape {ct.shape}; it must have x.shape={tuple(x_shape)}")
    return ct


def vjp_partials(parts, param_shapes, x_shape, axes, cotangent):
    """Turn elementwise partials into the contract's per-parameter VJP.

    ``parts`` maps "x" and every parameter name to an array broadcastable to x.shape (the
    elementwise ∂q/∂·). With ``axes is None and cotangent is None`` the dict comes back
    broadcast to x.shape (the per-tensor behaviour). Otherwise "x" becomes cotangent·∂q/∂x and
    each parameter the sum, over the elements it governs, of cotangent·∂q/∂param, in the
    parameter's own shape ``param_shapes[name]`` (``()`` for a shared scalar; cotangent
    defaults to ones).
    """
    if axes is None and cotangent is None:
        return {k: np.broadcast_to(v, x_shape).astype(np.float64) for k, v in parts.items()}
    ct = np.ones(x_shape) if cotangent is None else cotangent
    out = {"x": ct * parts["x"]}
    for name, shape in param_shapes.items():
        out[name] = reduce_to_param(ct * parts[name], shape, x_shape, axes)
    return out


def channel_slices(x_shape: tuple[int, ...], axes: tuple[int, ...]):
    """Yield ``(x_index, channels)`` for every channel combination along ``axes``.

    ``x_index`` selects that channel's slice of x (an int at each of ``axes``, ``:`` elsewhere),
    ``channels`` the channel numbers (c_1, …, c_k). For code that must evaluate a per-tensor map
    channel by channel (QN, whose matrix–vector product rounds differently with the row count).
    """
    for chans in np.ndindex(*(x_shape[a] for a in axes)):
        index: list[slice | int] = [slice(None)] * len(x_shape)
        for a, c in zip(axes, chans, strict=False):
            index[a] = c
        yield tuple(index), chans


def param_index(channels, param_shape, x_shape, axes) -> tuple[int, ...]:
    """Index into a parameter of shape P (``()`` for a scalar) of the given channels: c_i // r_i."""
    if tuple(param_shape) == ():
        return ()
    repeats, _ = param_layout(param_shape, x_shape, axes, "parameter")
    return tuple(c // r for c, r in zip(channels, repeats, strict=False))

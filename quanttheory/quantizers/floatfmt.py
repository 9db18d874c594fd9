r"""Rounding onto low-precision floating-point formats: round-to-nearest-even and stochastic.

A binary floating-point format with ``e`` exponent bits and ``m`` mantissa (fraction) bits,
bias :math:`b = 2^{e-1} - 1` and minimum normal exponent :math:`e_{\min} = 1 - b`, represents

.. math::
    \pm 2^{E}\,(1 + k\,2^{-m}),\; E \ge e_{\min}\ (\text{normal}), \qquad
    \pm 2^{e_{\min}}\,k\,2^{-m}\ (\text{subnormal}), \qquad k \in \{0, \dots, 2^m - 1\}.

So the grid is locally uniform with a magnitude-dependent spacing, the unit in the last place

.. math:: \operatorname{ulp}(x) = 2^{\max(\lfloor \log_2 |x| \rfloor,\, e_{\min}) - m},

constant inside a binade :math:`[2^E, 2^{E+1})` and on the whole subnormal range. Both roundings
below compute, for :math:`a = |x|` and :math:`h = \operatorname{ulp}(a)`, the exact quotient
:math:`a/h = r + f` (:math:`r = \lfloor a/h\rfloor`, fraction :math:`f \in [0, 1)`; dividing by a
power of two is exact in float64 for every format here), round to :math:`(r + \text{up})\,h`, and
restore the sign with ``copysign`` (so −0 stays −0 and a negative value that underflows gives
−0, as IEEE 754 does):

* round to nearest, ties to even (IEEE 754 default): up = [f > ½] or [f = ½ and r odd];
* stochastic rounding: up = [U < f], :math:`U \sim \mathcal U[0, 1)`, so the result is one of
  the two neighbours :math:`rh, (r+1)h` with probabilities :math:`1 - f, f` proportional to the
  distances, and :math:`E[Q(x)] = x` (the float-grid analogue of Li et al. 2017 [1]_, §2).

Rounding is done on the grid with the format's exponent range but no upper limit; a result
above the largest finite value ``max_value`` then overflows: to ±``max_value`` with
``saturate=True``, else to ±inf for formats with infinities (``"ieee"``), else a ``ValueError``
(formats without inf; ml_dtypes gives NaN for e4m3fn there). Stochastic rounding checks
:math:`|x| > \text{max\_value}` instead, so that whether it raises never depends on the draw.

Special-value conventions (``specials``), which set ``max_value`` [2]_:

======  ==============================================  ==========================================
ieee    top exponent field reserved for inf/NaN          :math:`(2 - 2^{-m})\,2^{2^e - 2 - b}`
fn      no inf; only S.1…1.1…1 is NaN (OCP e4m3fn)       :math:`(2 - 2^{1-m})\,2^{2^e - 1 - b}`
none    no inf, no NaN: every code is finite (fp6, fp4)  :math:`(2 - 2^{-m})\,2^{2^e - 1 - b}`
======  ==============================================  ==========================================

References
----------
.. [1] H. Li, S. De, Z. Xu, C. Studer, H. Samet, T. Goldstein. "Training Quantized Nets: A
   Deeper Understanding". NeurIPS 2017, arXiv:1706.02379, §2.
.. [2] Open Compute Project. "OCP 8-bit Floating Point Specification (OFP8)", rev. 1.0, 2023,
   and "OCP Microscaling Formats (MX) v1.0", 2023 (fp6 e2m3/e3m2, fp4 e2m1). IEEE 754-2019 §4.3.
.. [3] M. Zamirai, J. Zhang, C. R. Aberger, C. De Sa. "Revisiting BFloat16 Training".
   arXiv:2010.06192, 2020.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, replace

import numpy as np

from ._validate import as_float_array, check_rng

SPECIALS = ("ieee", "fn", "none")
#: name → (exp_bits, man_bits, specials)
PRESETS = {
    "bf16": (8, 7, "ieee"), "fp16": (5, 10, "ieee"), "fp32": (8, 23, "ieee"),
    "e4m3": (4, 3, "fn"), "e5m2": (5, 2, "ieee"),
    "e2m3": (2, 3, "none"), "e3m2": (3, 2, "none"), "e2m1": (2, 1, "none"),
}
MAX_EXP_BITS, MAX_MAN_BITS = 8, 23  # no wider than float32: every value and midpoint is exact in float64


def _check_int(value, name, low, high):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= value <= high:
        raise ValueError(f"{name}={value!r} is out of range; valid: an integer in [{low}, {high}]")
    return int(value)


@dataclass(frozen=True)
class FloatFormat:
    """A binary floating-point format (see the module docstring for the value set).

    Parameters
    ----------
    exp_bits : int or str
        Exponent bits e ∈ [2, 8], or a preset name: ``"bf16"`` (8, 7), ``"fp16"`` (5, 10),
        ``"fp32"`` (8, 23), ``"e4m3"`` (4, 3, OCP e4m3fn: no inf, max 448, one NaN code),
        ``"e5m2"`` (5, 2, IEEE-like), ``"e2m3"``, ``"e3m2"`` (fp6), ``"e2m1"`` (fp4).
    man_bits : int
        Mantissa (fraction) bits m ∈ [0, 23]; omit with a preset name.
    specials : {"ieee", "fn", "none"}
        Which codes are inf/NaN (default ``"ieee"``; presets set their own).
    saturate : bool, default False
        Overflow goes to ±max_value instead of ±inf (``"ieee"``) or an error (no inf).

    Examples
    --------
    >>> FloatFormat("e4m3").max_value, FloatFormat("bf16").man_bits
    (448.0, 7)
    >>> FloatFormat(5, 10).max_value
    65504.0
    """

    exp_bits: int | str
    man_bits: int | None = None
    specials: str | None = None
    saturate: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.exp_bits, str):
            if self.exp_bits not in PRESETS:
                raise ValueError(f"format {self.exp_bits!r} is unknown; "
                                 f"valid: {sorted(PRESETS)} or (exp_bits, man_bits)")
            if self.man_bits is not None:
                raise ValueError("give man_bits only with an integer exp_bits; "
                                 f"got {self.exp_bits!r}, {self.man_bits!r}")
            e, m, sp = PRESETS[self.exp_bits]
            object.__setattr__(self, "exp_bits", e)
            object.__setattr__(self, "man_bits", m)
            object.__setattr__(self, "specials", self.specials or sp)
        object.__setattr__(self, "exp_bits", _check_int(self.exp_bits, "exp_bits", 2, MAX_EXP_BITS))
        object.__setattr__(self, "man_bits", _check_int(self.man_bits, "man_bits", 0, MAX_MAN_BITS))
        object.__setattr__(self, "specials", self.specials or "ieee")
        if self.specials not in SPECIALS:
            raise ValueError(f"specials={self.specials!r} is invalid; valid: {list(SPECIALS)}")
        if self.specials == "fn" and self.man_bits == 0:
            raise ValueError("specials='fn' needs man_bits >= 1 (the all-ones mantissa is the NaN code)")
        if not isinstance(self.saturate, bool | np.bool_):
            raise TypeError(f"saturate must be a bool; got {self.saturate!r}")

    @property
    def bias(self) -> int:
        """Exponent bias b = 2^(e−1) − 1."""
        return 2 ** (int(self.exp_bits) - 1) - 1

    @property
    def emin(self) -> int:
        """Exponent of the smallest normal value, 1 − b."""
        return 1 - self.bias

    @property
    def emax(self) -> int:
        """Exponent of the largest binade holding finite values."""
        return 2 ** int(self.exp_bits) - (2 if self.specials == "ieee" else 1) - self.bias

    @property
    def max_value(self) -> float:
        """Largest finite value (module docstring table)."""
        m = int(self.man_bits or 0)
        top = 2.0 - 2.0 ** (1 - m) if self.specials == "fn" else 2.0 - 2.0**-m  # fn: S.1…1.1…1 is NaN
        return float(np.ldexp(top, self.emax))

    @property
    def min_normal(self) -> float:
        return float(np.ldexp(1.0, self.emin))

    @property
    def min_subnormal(self) -> float:
        return float(np.ldexp(1.0, self.emin - int(self.man_bits or 0)))

    @property
    def has_inf(self) -> bool:
        return self.specials == "ieee"

    def with_saturation(self, saturate: bool = True) -> FloatFormat:
        """The same format with another overflow rule."""
        return replace(self, saturate=bool(saturate))

    def kernel_args(self) -> tuple[int, int, float, bool]:
        """(man_bits, emin, max_value, saturate): what the numba kernels take."""
        return int(self.man_bits or 0), self.emin, self.max_value, bool(self.saturate)

    def __str__(self) -> str:
        sat = ", saturating" if self.saturate else ""
        return f"e{self.exp_bits}m{self.man_bits} ({self.specials}{sat}, max {self.max_value:g})"


def as_format(fmt) -> FloatFormat:
    """A :class:`FloatFormat` from itself or a preset name."""
    if isinstance(fmt, FloatFormat):
        return fmt
    if isinstance(fmt, str):
        return FloatFormat(fmt)
    raise TypeError(f"fmt must be a FloatFormat or a preset name {sorted(PRESETS)}; got {fmt!r}")


def ulp(x, fmt) -> np.ndarray:
    r"""Spacing of ``fmt`` at ``x``: :math:`2^{\max(\lfloor\log_2|x|\rfloor, e_{\min}) - m}`.

    It is the distance from |x| to the next representable magnitude above (at a power of two
    the spacing *below* is half of it). ``ulp(0)`` is the subnormal spacing.
    """
    fmt = as_format(fmt)
    a = np.abs(as_float_array(x).astype(np.float64))
    _, e = np.frexp(a)  # a = f·2^e with f ∈ [½, 1): ⌊log₂ a⌋ = e − 1 exactly (no log rounding)
    e = np.where(a > 0, e - 1, fmt.emin)  # frexp(0) gives e = 0; 0 sits in the subnormal range
    return np.ldexp(1.0, np.maximum(e, fmt.emin) - int(fmt.man_bits or 0))


def _split(arr, fmt):
    """(a/h integer part r, fraction f, spacing h) for a = |x|, all exact in float64."""
    h = ulp(arr, fmt)
    scaled = np.abs(arr.astype(np.float64)) / h
    r = np.floor(scaled)
    return r, scaled - r, h


def _check_range(arr, fmt, past):
    """Raise for out-of-range elements of a format that neither saturates nor has inf."""
    if not (fmt.saturate or fmt.has_inf) and np.any(past):
        bad = arr[past].ravel()[0]
        raise ValueError(
            f"x={float(bad)!r} is past the range of {fmt} (|x| must round to <= {fmt.max_value:g}); "
            "valid: use FloatFormat(..., saturate=True) or scale the input")


def _overflow(q, fmt, past):
    """Magnitudes ``q`` with the elements marked ``past`` sent to max_value (saturate) or inf."""
    return np.where(past, fmt.max_value if fmt.saturate else np.inf, q)


def round_float(x, fmt):
    r"""Round to nearest, ties to even, onto the floating-point format ``fmt``.

    .. math::
        Q_{\rm RN}(x) = \operatorname{sign}(x)\,h\,\bigl(r + [f > \tfrac12]
        + [f = \tfrac12]\,[r\ \text{odd}]\bigr), \quad |x|/h = r + f,\ h = \operatorname{ulp}(x)

    Equal bit for bit to IEEE 754 conversion (checked against ``ml_dtypes`` for every code of
    the 8-bit formats, bf16/fp16 codes and their midpoints, and random float64 inputs).

    Parameters
    ----------
    x : array_like, shape (...)
        Finite real values (NaN/±inf raise).
    fmt : FloatFormat or str
        Target format or preset name.

    Returns
    -------
    q : ndarray, shape (...)
        Values of ``fmt`` (±inf on overflow for non-saturating IEEE formats), in the input's
        float dtype (float32 kept, else float64).

    Examples
    --------
    >>> round_float([1.0 + 2**-8, 1.0 + 3 * 2**-8, 0.1], "bf16")  # two ties (to even), 0.1
    array([1.        , 1.015625  , 0.10009766])
    """
    fmt = as_format(fmt)
    arr = as_float_array(x)
    r, f, h = _split(arr, fmt)
    up = (f > 0.5) | ((f == 0.5) & (r - 2.0 * np.floor(0.5 * r) == 1.0))
    q = (r + up) * h
    _check_range(arr, fmt, q > fmt.max_value)
    q = _overflow(q, fmt, q > fmt.max_value)
    return np.copysign(q, arr).astype(arr.dtype, copy=False)


def stochastic_round_float(x, fmt, rng):
    r"""Stochastic rounding onto the floating-point format ``fmt`` (unbiased).

    .. math::
        Q_{\rm SR}(x) = \operatorname{sign}(x)\,h\,(r + [U < f]), \quad |x|/h = r + f,\
        h = \operatorname{ulp}(x),\ U \sim \mathcal U[0, 1)

    so :math:`E[Q(x)] = x` and :math:`\operatorname{Var} = h^2 f(1 - f) \le h^2/4`: the
    rounding noise scales with the magnitude of x. One uniform is drawn per element in C order
    (``rng.random(x.shape)``); :func:`quanttheory.quantizers.fast.stochastic_round_float` draws
    the same stream and is bit-identical.

    Parameters
    ----------
    x : array_like, shape (...)
        Finite real values; |x| > max_value raises unless the format saturates or has inf.
    fmt : FloatFormat or str
    rng : numpy.random.Generator

    Returns
    -------
    q : ndarray, shape (...)
        One of the two neighbours of each x in ``fmt`` (x itself when representable).
    """
    fmt = as_format(fmt)
    arr = as_float_array(x)
    rng = check_rng(rng)
    past = np.abs(arr) > fmt.max_value  # decided before the draw: an error never depends on U
    _check_range(arr, fmt, past)
    r, f, h = _split(arr, fmt)
    u = rng.random(arr.shape)
    q = _overflow((r + (u < f)) * h, fmt, past)  # |x| <= max_value: (r + 1)h <= max_value too
    return np.copysign(q, arr).astype(arr.dtype, copy=False)


def representable(fmt, *, nonnegative=False) -> np.ndarray:
    """Every finite value of ``fmt`` in increasing order (+0 once), as float64.

    Enumerates the codes (2^(1+e+m) of them, so only for formats up to 16 bits wide).
    """
    fmt = as_format(fmt)
    m = int(fmt.man_bits or 0)
    if 1 + int(fmt.exp_bits) + m > 16:
        raise ValueError(f"{fmt} has more than 2^16 codes; valid: formats of at most 16 bits")
    k = np.arange(2**m, dtype=np.float64)
    sub = np.ldexp(k, fmt.emin - m)
    exps = np.arange(fmt.emin, fmt.emax + 1)
    normal = np.ldexp(1.0 + k[None, :] / 2**m, exps[:, None]).ravel()
    pos = np.concatenate([sub, normal])
    pos = pos[pos <= fmt.max_value]
    return pos if nonnegative else np.concatenate([-pos[:0:-1], pos])

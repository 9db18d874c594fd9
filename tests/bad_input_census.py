"""Bad-input census of the public API: every case must give a finite answer or a clear error.

Each case is a call with one bad argument (non-finite, overflowing, tiny, wrong type, complex,
string bool, ragged list, wrong shape). An outcome is

* ``ok``      — the call returned only finite numbers with no numpy warning (where the
  expectation is a value), or raised ValueError/TypeError whose message names the argument;
* ``silent``  — it returned NaN/±inf, emitted a numpy warning (a silent cast or overflow), or
  accepted an argument it should have refused (``refuse=True`` cases, e.g. ``signed="False"``);
* ``unclear`` — any other exception (ZeroDivisionError, FloatingPointError, …) or a message
  that names none of the case's argument names.

Run ``python tests/bad_input_census.py`` for the table; ``tests/test_bad_input_census.py``
asserts zero silent and zero unclear cases.
"""

from __future__ import annotations

import re
import sys
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from quanttheory import optim, problems
from quanttheory import quantizers as Q
from quanttheory.optim import schedules

HUGE, TINY, MAXF = 1e308, 5e-324, 1.797e308
QN = dict(levels=[-1.0, 0.0, 1.0], biases=[-0.05, 0.05], alpha=1.0, beta=1.0, temperature=1.0)


@dataclass(frozen=True)
class Case:
    cls: str  # class of bad input, for the summary
    label: str
    call: Callable[[], object]
    names: tuple[str, ...]  # an error message must contain one of these
    refuse: bool = False  # the call must raise (a value would be a silent coercion)


def _rng():
    return np.random.default_rng(0)


def _values(out) -> list[np.ndarray]:
    if isinstance(out, dict):
        return [np.asarray(v) for v in out.values()]
    if isinstance(out, tuple | list):
        return [a for v in out for a in _values(v)]
    if out is None or callable(out):
        return []
    if hasattr(out, "__dict__") and not isinstance(out, np.ndarray):
        return [a for v in vars(out).values() if v is not None and not isinstance(v, str)
                for a in _values(v)]
    return [np.asarray(out)]


def classify(case: Case) -> tuple[str, str]:
    """``(outcome, detail)`` of one case."""
    # underflow to 0 or a subnormal is not an error; overflow, invalid and divide are
    with warnings.catch_warnings(record=True) as caught, np.errstate(over="warn", invalid="warn",
                                                                       divide="warn", under="ignore"):
        warnings.simplefilter("always")
        try:
            out = case.call()
        except (ValueError, TypeError) as err:
            msg = str(err)
            if any(re.search(rf"(?<![\w]){re.escape(n)}(?![\w])", msg) for n in case.names):
                return "ok", f"{type(err).__name__}: {msg[:90]}"
            return "unclear", f"{type(err).__name__} not naming {case.names}: {msg[:90]}"
        except Exception as err:  # noqa: BLE001 - the census classifies every exception
            return "unclear", f"{type(err).__name__}: {str(err)[:90]}"
    if case.refuse:
        return "silent", f"accepted: returned {type(out).__name__}"
    numeric = [v for v in _values(out) if v.dtype.kind in "fciub"]
    if any(v.dtype.kind == "c" for v in numeric):
        return "silent", "complex output"
    if any(not np.all(np.isfinite(v)) for v in numeric if v.dtype.kind == "f"):
        return "silent", "non-finite output"
    warned = [w for w in caught if issubclass(w.category, RuntimeWarning | np.exceptions.ComplexWarning)]
    if warned:
        return "silent", f"warning: {warned[0].message}"
    return "ok", "finite"


def _quantizer_cases() -> list[Case]:
    c = []
    add = c.append
    # overflow / non-finite results from finite extreme arguments
    add(Case("overflow", "qn beta=1e308", lambda: Q.qn([1.0, -1.0], **{**QN, "beta": HUGE}), ("beta",)))
    add(Case("overflow", "qn_partials beta=1e308", lambda: Q.qn_partials([1.0], **{**QN, "beta": HUGE}),
             ("beta",)))
    for lv in ([-HUGE, 0.0, HUGE], [-HUGE, HUGE], [-MAXF, 0.0, MAXF]):
        b = [0.0] if len(lv) == 2 else QN["biases"]
        add(Case("overflow", f"qn levels={lv}",
                 lambda lv=lv, b=b: Q.qn([0.3], **{**QN, "levels": lv, "biases": b}), ("levels",)))
        add(Case("overflow", f"qn_init levels={lv}", lambda lv=lv: Q.qn_init(np.linspace(-1, 1, 50), lv),
                 ("levels",)))
    add(Case("overflow", "qn alpha=1e308", lambda: Q.qn([0.3], **{**QN, "alpha": HUGE, "levels": [-2, 0, 2]}),
             ("alpha",)))
    add(Case("overflow", "qn temperature=1e308", lambda: Q.qn_partials([0.3], **{**QN, "temperature": HUGE}),
             ("temperature",)))
    add(Case("overflow", "qn_init x tiny", lambda: Q.qn_init([TINY, -TINY, 0.0], [-1.0, 0.0, 1.0]), ("x",)))
    add(Case("overflow", "qn_init x huge, tiny levels",
             lambda: Q.qn_init([HUGE, -HUGE, 1.0], [-1e-300, 0.0, 1e-300]), ("x", "levels")))
    add(Case("overflow", "qn_init levels tiny", lambda: Q.qn_init([1.0, -1.0, 0.5], [-TINY, 0.0, TINY]),
             ("levels", "x")))
    add(Case("overflow", "qn_init x=1e308, 4 levels", lambda: Q.qn_init(np.array([HUGE, -HUGE, 0.0, 1.0]),
                                                                      [-1.0, 0.0, 1.0, 2.0]), ("x",)))
    add(Case("overflow", "qn_temperature huge", lambda: Q.qn_temperature(HUGE, rate=HUGE), ("epoch", "rate")))
    for w in ([HUGE, HUGE], [HUGE, -HUGE], [MAXF, 0.0], [-MAXF, MAXF, 1.0]):
        add(Case("overflow", f"apot_normalize {w}", lambda w=w: Q.apot_normalize(w), ("w",)))
    add(Case("overflow", "apot_normalize float32 huge", lambda: Q.apot_normalize(np.float32([3e38, -3e38])),
             ("w",)))
    for x, d in (([MAXF], 3.0), ([MAXF], 0.5), ([-MAXF], 0.25), ([1e308, -1e308], 0.1)):
        add(Case("overflow", f"round_nearest {x} delta={d}", lambda x=x, d=d: Q.round_nearest(x, d),
                 ("delta", "x")))
        add(Case("overflow", f"stochastic_round {x} delta={d}",
                 lambda x=x, d=d: Q.stochastic_round(x, d, _rng()), ("delta", "x")))
    add(Case("overflow", "round_nearest float32 max", lambda: Q.round_nearest(np.float32([3.4e38]), 3.0),
             ("delta", "x")))
    for lo, hi in ((-1e300, 1e300), (-1e39, 1e39), (0.0, 1e39)):
        for soft in (False, True):
            add(Case("overflow", f"dsq float32 [{lo},{hi}] soft={soft}",
                     lambda lo=lo, hi=hi, soft=soft: Q.dsq(np.float32([0.5, -2.0]), lower=lo, upper=hi,
                                                           bits=2, alpha=0.5, soft=soft),
                     ("lower", "upper", "float32")))
    add(Case("overflow", "dsq float32 x huge lower", lambda: Q.dsq(np.float32([1.0]), lower=-4e38, upper=0.0,
                                                                   bits=3, alpha=0.3), ("lower", "float32")))
    add(Case("overflow", "uniform alpha=1e308", lambda: Q.uniform([1e308], alpha=MAXF, bits=3, signed=True),
             ("alpha",)))
    add(Case("overflow", "uniform float32 alpha huge", lambda: Q.uniform(np.float32([1.0]), alpha=1e300, bits=3,
                                                                         signed=True), ("alpha", "float32")))
    add(Case("overflow", "apot float32 alpha huge", lambda: Q.apot(np.float32([1.0]), alpha=1e300, bits=3,
                                                                   signed=True), ("alpha", "float32")))
    add(Case("overflow", "uniform_partials alpha tiny", lambda: Q.uniform_partials([1.0, 0.5], alpha=TINY,
                                                                                   bits=3, signed=True),
             ("alpha",)))
    add(Case("overflow", "apot_partials alpha tiny", lambda: Q.apot_partials([1e-320], alpha=TINY, bits=3,
                                                                             signed=True), ("alpha",)))
    # types: checked, never coerced
    for fn in ("uniform", "apot", "uniform_partials", "apot_partials"):
        for bad in ("False", "True", 0, 1, None, np.array([True])):
            add(Case("type", f"{fn} signed={bad!r}",
                     lambda fn=fn, bad=bad: getattr(Q, fn)([0.1], alpha=1.0, bits=3, signed=bad), ("signed",),
                     refuse=True))
    for fn in ("uniform_levels", "apot_levels"):
        for bad in ("False", 1, None):
            add(Case("type", f"{fn} signed={bad!r}", lambda fn=fn, bad=bad: getattr(Q, fn)(3, signed=bad),
                     ("signed",), refuse=True))
    add(Case("type", "dsq soft='no'", lambda: Q.dsq([0.1], lower=0, upper=1, bits=2, alpha=0.5, soft="no"),
             ("soft",), refuse=True))
    add(Case("type", "qn soft='no'", lambda: Q.qn([0.1], **QN, soft="no"), ("soft",), refuse=True))
    for lv in ([-1j, 0, 1j], np.array([-1, 0, 1], dtype=complex), ["-1", "0", "1"], [-1, None, 1]):
        add(Case("type", f"qn levels={lv!r}", lambda lv=lv: Q.qn([0.1], **{**QN, "levels": lv}), ("levels",),
                 refuse=True))
        add(Case("type", f"qn_init levels={lv!r}", lambda lv=lv: Q.qn_init([0.1, 0.5, -0.3], lv), ("levels",),
                 refuse=True))
        add(Case("type", f"qn_steps levels={lv!r}", lambda lv=lv: Q.qn_steps(lv), ("levels",), refuse=True))
    add(Case("type", "qn biases complex", lambda: Q.qn([0.1], **{**QN, "biases": [0j, 1j]}), ("biases",),
             refuse=True))
    add(Case("type", "qn alpha complex", lambda: Q.qn([0.1], **{**QN, "alpha": 1 + 0j}), ("alpha",), refuse=True))
    add(Case("type", "dsq bits=2.0", lambda: Q.dsq([0.1], lower=0, upper=1, bits=2.0, alpha=0.5), ("bits",),
             refuse=True))
    add(Case("type", "round_nearest delta='0.5'", lambda: Q.round_nearest([0.1], "0.5"), ("delta",),
             refuse=True))
    # ragged lists: the message names the argument
    ragged = [[1.0, 2.0], [3.0]]
    for label, call, names in (
        ("round_nearest x", lambda: Q.round_nearest(ragged, 0.5), ("x",)),
        ("uniform x", lambda: Q.uniform(ragged, alpha=1.0, bits=3, signed=True), ("x",)),
        ("apot_normalize w", lambda: Q.apot_normalize(ragged), ("w",)),
        ("dsq x", lambda: Q.dsq(ragged, lower=0, upper=1, bits=2, alpha=0.5), ("x",)),
        ("qn x", lambda: Q.qn(ragged, **QN), ("x",)),
        ("qn levels", lambda: Q.qn([0.1], **{**QN, "levels": [[-1, 0], [1]]}), ("levels",)),
        ("qn biases", lambda: Q.qn([0.1], **{**QN, "biases": [[0.0], [1.0, 2.0]]}), ("biases",)),
        ("qn_init x", lambda: Q.qn_init(ragged, [-1.0, 0.0, 1.0]), ("x",)),
        ("binarize x", lambda: Q.binarize(ragged), ("x",)),
        ("stochastic_round x", lambda: Q.stochastic_round(ragged, 0.5, _rng()), ("x",)),
    ):
        add(Case("ragged", label, call, names, refuse=True))
    return c


def _problem_cases() -> list[Case]:
    c = []
    add = c.append
    quad = problems.Quadratic([1.0, 2.0], [0.0, 0.0])
    quad_full = problems.Quadratic([[2.0, 1.0], [1.0, 2.0]], [0.0, 0.0])
    rng = np.random.default_rng(1)
    ls = problems.LeastSquares(rng.standard_normal((8, 2)), rng.standard_normal(8))
    lr = problems.LogisticRegression(rng.standard_normal((8, 2)), np.where(rng.random(8) < 0.5, -1.0, 1.0))
    mw = problems.MultiWell(2)
    probs = {"Quadratic": quad, "Quadratic(full H)": quad_full, "LeastSquares": ls,
             "LogisticRegression": lr, "MultiWell": mw}
    for pname, prob in probs.items():
        for w in ([[HUGE, HUGE]], [[MAXF, -MAXF]], [[1e200, 1.0]]):
            for meth in ("loss", "full_grad"):
                add(Case("problem", f"{pname}.{meth} w={w}",
                         lambda p=prob, m=meth, w=w: getattr(p, m)(np.array(w)), ("w",)))
            add(Case("problem", f"{pname}.grad w={w}",
                     lambda p=prob, w=w: p.grad(np.array(w), _rng(), batch_size=2), ("w",)))
        add(Case("ragged", f"{pname}.loss ragged w", lambda p=prob: p.loss([[1.0, 2.0], [3.0]]), ("w",),
                 refuse=True))
        add(Case("type", f"{pname}.loss complex w", lambda p=prob: p.loss(np.array([[1j, 0]])), ("w",),
                 refuse=True))
    add(Case("problem", "Quadratic hessian huge", lambda: problems.Quadratic([HUGE, HUGE], [1.0, 1.0]).loss(
        np.array([[2.0, 2.0]])), ("hessian", "w")))
    add(Case("problem", "Quadratic noise huge", lambda: problems.Quadratic([1.0], [0.0], noise_sigma=MAXF).grad(
        np.array([[0.0]]), _rng(), batch_size=1), ("noise_sigma",)))
    add(Case("problem", "MultiWell curvature huge", lambda: problems.MultiWell(1, curvature=MAXF).full_grad(
        np.array([[2.0]])), ("curvature", "w")))
    add(Case("ragged", "LeastSquares ragged A", lambda: problems.LeastSquares([[1.0, 2.0], [3.0]], [1.0, 2.0]),
             ("A",), refuse=True))
    add(Case("type", "Quadratic complex hessian", lambda: problems.Quadratic([1j, 1.0], [0.0, 0.0]),
             ("hessian",), refuse=True))
    add(Case("type", "MultiWell dim=2.0", lambda: problems.MultiWell(2.0), ("dim",), refuse=True))
    add(Case("type", "LeastSquares.random n=3.5", lambda: problems.LeastSquares.random(3.5, 2, _rng()), ("n",),
             refuse=True))
    add(Case("type", "LogisticRegression.random d=-1", lambda: problems.LogisticRegression.random(5, -1, _rng()),
             ("d",), refuse=True))
    return c


def _optim_cases() -> list[Case]:
    c = []
    add = c.append
    for mu in (TINY, 1e-308, 1e-320):
        add(Case("schedule", f"inverse_time({mu})", lambda mu=mu: schedules.inverse_time(mu)(np.arange(3)),
                 ("mu",)))
    add(Case("schedule", "inv_sqrt(1e308)*", lambda: schedules.inv_sqrt(MAXF)(np.arange(3)), ("c",)))
    add(Case("schedule", "constant('0.1')", lambda: schedules.constant("0.1"), ("a",), refuse=True))
    add(Case("schedule", "step_decay every=2.0", lambda: schedules.step_decay(1.0, 2.0, 0.5), ("every",),
             refuse=True))
    add(Case("schedule", "inverse_time(t=-1)", lambda: schedules.inverse_time(1.0)(-1), ("t",)))
    add(Case("schedule", "inverse_time(t=1.5)", lambda: schedules.inverse_time(1.0)(1.5), ("t",), refuse=True))
    w = np.zeros((2, 3))
    for rname, rule in (("sgd", optim.sgd(0.1)), ("sr", optim.sr(0.1, 0.5)), ("adam", optim.adam(0.1)),
                        ("bc", optim.bc(0.1, 0.5))):
        state = rule.init(w)
        for glabel, g in (("nan", np.full((2, 3), np.nan)), ("inf", np.full((2, 3), np.inf)),
                          ("complex", np.ones((2, 3)) * 1j), ("shape", np.ones((3, 2))),
                          ("ragged", [[1.0, 2.0, 3.0], [1.0]]), ("str", np.array([["a"] * 3] * 2))):
            add(Case("rule", f"{rname}.update grads={glabel}",
                     lambda r=rule, s=state, g=g: r.update(g, s, w, _rng()), ("grads",), refuse=True))
    return c


# The cross product: every quantizer argument × every bad value of its kind.
_X_CALLS: dict[str, Callable] = {
    "round_nearest": lambda x: Q.round_nearest(x, 0.5),
    "stochastic_round": lambda x: Q.stochastic_round(x, 0.5, _rng()),
    "binarize": Q.binarize,
    "stochastic_binarize": lambda x: Q.stochastic_binarize(x, _rng()),
    "uniform": lambda x: Q.uniform(x, alpha=1.0, bits=3, signed=True),
    "uniform_partials": lambda x: Q.uniform_partials(x, alpha=1.0, bits=3, signed=False),
    "apot": lambda x: Q.apot(x, alpha=1.0, bits=3, signed=True),
    "apot_partials": lambda x: Q.apot_partials(x, alpha=1.0, bits=3, signed=True),
    "apot_normalize": lambda x: Q.apot_normalize(x),
    "dsq": lambda x: Q.dsq(x, lower=-1, upper=1, bits=2, alpha=0.2),
    "dsq_soft": lambda x: Q.dsq(x, lower=-1, upper=1, bits=2, alpha=0.2, soft=True),
    "dsq_partials": lambda x: Q.dsq_partials(x, lower=-1, upper=1, bits=2, alpha=0.2),
    "qn": lambda x: Q.qn(x, **QN),
    "qn_partials": lambda x: Q.qn_partials(x, **QN),
    "qn_init": lambda x: Q.qn_init(x, [-1.0, 0.0, 1.0]),
    "lsq": lambda x: Q.lsq(x, step=0.1, bits=3, signed=True),
    "lsq_partials": lambda x: Q.lsq_partials(x, step=0.1, bits=3, signed=False),
    "uniform per-channel": lambda x: Q.uniform(x, alpha=1.0, bits=3, signed=True, axis=-1),
    "dsq_partials per-channel": lambda x: Q.dsq_partials(x, lower=-1, upper=1, bits=2, alpha=0.2, axis=0),
}
_X_NAMES = {"apot_normalize": ("w",)}
_BAD_X = {
    "nan": [0.1, np.nan], "inf": [0.1, np.inf], "-inf": [-np.inf, 0.2], "complex": [0.1 + 1j],
    "str": ["0.1"], "object": np.array([object()], dtype=object), "none": [None, 1.0],
    "ragged": [[0.1, 0.2], [0.3]], "huge": [1e308, -1e308, 0.5], "max": [MAXF, 0.0],
    "float32 max": np.float32([3.4e38, -3.4e38]), "subnormal": [TINY, -TINY, 1e-310],
}
_SCALAR_CALLS: dict[str, tuple[Callable, dict]] = {
    "round_nearest": (lambda **k: Q.round_nearest([0.3, -1.2], k["delta"]), {"delta": 0.5}),
    "stochastic_round": (lambda **k: Q.stochastic_round([0.3, -1.2], k["delta"], _rng()), {"delta": 0.5}),
    "uniform": (lambda **k: Q.uniform([0.3, -1.2], signed=True, **k), {"alpha": 1.0, "bits": 3}),
    "apot": (lambda **k: Q.apot([0.3, -1.2], signed=True, **k), {"alpha": 1.0, "bits": 3}),
    "dsq": (lambda **k: Q.dsq([0.3, -1.2], **k), {"lower": -1.0, "upper": 1.0, "bits": 2, "alpha": 0.2}),
    "dsq_partials": (lambda **k: Q.dsq_partials([0.3, -1.2], **k),
                     {"lower": -1.0, "upper": 1.0, "bits": 2, "alpha": 0.2}),
    "qn": (lambda **k: Q.qn([0.3, -1.2], levels=[-1.0, 0.0, 1.0], biases=[-0.05, 0.05], **k),
           {"alpha": 1.0, "beta": 1.0, "temperature": 1.0}),
    "qn_partials": (lambda **k: Q.qn_partials([0.3, -1.2], levels=[-1.0, 0.0, 1.0], biases=[-0.05, 0.05], **k),
                    {"alpha": 1.0, "beta": 1.0, "temperature": 1.0}),
    "apot_normalize": (lambda **k: Q.apot_normalize([0.3, -1.2], **k), {"eps": 1e-5}),
    "qn_temperature": (lambda **k: Q.qn_temperature(**k), {"epoch": 1, "rate": 5.0}),
    "apot_levels_eq5": (lambda **k: Q.apot_levels_eq5(**k), {"k": 2, "n": 2}),
    "lsq": (lambda **k: Q.lsq([0.3, -1.2], signed=True, **k), {"step": 0.1, "bits": 3}),
    "lsq_partials": (lambda **k: Q.lsq_partials([0.3, -1.2], signed=True, **k),
                     {"step": 0.1, "bits": 3, "grad_scale": 1.0}),
}

# Per-channel parameters (issue 13): one bad element, a wrong shape, a bad axis or cotangent.
_PC_X = np.linspace(-1.0, 1.0, 12).reshape(3, 4)
_PC_CALLS: dict[str, tuple[Callable, dict]] = {
    "uniform": (lambda **k: Q.uniform(_PC_X, bits=3, signed=True, **k), {"alpha": np.ones(4)}),
    "apot_partials": (lambda **k: Q.apot_partials(_PC_X, bits=3, signed=True, **k), {"alpha": np.ones(4)}),
    "lsq_partials": (lambda **k: Q.lsq_partials(_PC_X, bits=3, signed=True, **k), {"step": np.ones(2)}),
    "dsq": (lambda **k: Q.dsq(_PC_X, bits=2, **k),
            {"lower": -np.ones(4), "upper": np.ones(2), "alpha": np.full(4, 0.2)}),
    "dsq_partials": (lambda **k: Q.dsq_partials(_PC_X, bits=2, **k),
                     {"lower": -np.ones(4), "upper": np.ones(2), "alpha": np.full(4, 0.2)}),
    "qn_partials": (lambda **k: Q.qn_partials(_PC_X, levels=[-1.0, 0.0, 1.0], temperature=1.0, **k),
                    {"alpha": np.ones(4), "beta": np.ones(1), "biases": np.tile([-0.05, 0.05], (4, 1))}),
}
_BAD_ELEMENTS = {"nan": np.nan, "inf": np.inf, "neg": -1.0, "zero": 0.0, "str": "1", "complex": 1j, "none": None}


def _per_channel_cases() -> list[Case]:
    c = []
    for fn, (f, good) in _PC_CALLS.items():
        for arg, value in good.items():
            for label, bad in _BAD_ELEMENTS.items():
                arr = np.array(value, dtype=object if isinstance(bad, str | complex) or bad is None else float)
                arr.flat[-1] = bad
                kw = {**good, arg: arr, "axis": 1}
                c.append(Case("channel", f"{fn} {arg}[-1]={label}", lambda f=f, kw=kw: f(**kw), (arg,)))
            for shape in ((3,), (4, 1), (5,)):
                kw = {**good, arg: np.ones(shape + np.shape(value)[1:]), "axis": 1}
                c.append(Case("channel", f"{fn} {arg} shape {shape}", lambda f=f, kw=kw: f(**kw), (arg,),
                              refuse=True))
            # this one argument an array, the others per-tensor, and axis=None
            kw = {k: v if k == arg else (v.reshape(-1, v.shape[-1])[0] if k == "biases" else float(v.flat[0]))
                  for k, v in good.items()}
            c.append(Case("channel", f"{fn} {arg} array, axis=None", lambda f=f, kw=kw: f(**kw), (arg, "axis"),
                          refuse=True))
        for axis in (2, -3, (1, 0), (1, 1), "1", 1.0, True, ()):
            c.append(Case("channel", f"{fn} axis={axis!r}", lambda f=f, g=good, a=axis: f(**g, axis=a), ("axis",),
                          refuse=True))
        if fn.endswith("_partials"):
            for label, ct in (("shape", np.ones(4)), ("nan", np.full((3, 4), np.nan)), ("str", [["a"] * 4] * 3)):
                c.append(Case("channel", f"{fn} cotangent {label}",
                              lambda f=f, g=good, ct=ct: f(**g, axis=1, cotangent=ct), ("cotangent",),
                              refuse=True))
    return c


_BAD_SCALARS = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf, "neg": -1.0, "zero": 0.0, "huge": 1e308,
                "subnormal": TINY, "str": "1", "bool": True, "none": None, "complex": 1 + 0j,
                "array": np.array([1.0, 2.0]), "float bits": 3.0, "big int": 10**400}


def _cross_cases() -> list[Case]:
    c = [Case("x", f"{fn} x={label}", lambda f=f, x=x: f(x), _X_NAMES.get(fn, ("x",)))
         for fn, f in _X_CALLS.items() for label, x in _BAD_X.items()]
    for fn, (f, good) in _SCALAR_CALLS.items():
        for arg in good:
            for label, bad in _BAD_SCALARS.items():
                kw = {**good, arg: bad}
                c.append(Case("scalar", f"{fn} {arg}={label}", lambda f=f, kw=kw: f(**kw), (arg,)))
    return c


def cases() -> list[Case]:
    return _quantizer_cases() + _cross_cases() + _per_channel_cases() + _problem_cases() + _optim_cases()


def census(verbose: bool = False) -> tuple[Counter, list[tuple[Case, str, str]]]:
    """``(Counter of outcomes, [(case, outcome, detail) for every non-ok case])``."""
    counts: Counter = Counter()
    bad = []
    for case in cases():
        outcome, detail = classify(case)
        counts[outcome] += 1
        counts[(case.cls, outcome)] += 1
        if outcome != "ok":
            bad.append((case, outcome, detail))
        if verbose:
            print(f"{outcome:8s} {case.cls:9s} {case.label}: {detail}")
    return counts, bad


def main() -> int:
    counts, bad = census(verbose="-v" in sys.argv)
    for case, outcome, detail in bad:
        print(f"{outcome:8s} {case.cls:9s} {case.label}: {detail}")
    classes = sorted({k[0] for k in counts if isinstance(k, tuple)})
    print(f"\n{'class':10s} {'ok':>5s} {'silent':>7s} {'unclear':>8s}")
    for cl in classes:
        print(f"{cl:10s} {counts[(cl, 'ok')]:5d} {counts[(cl, 'silent')]:7d} {counts[(cl, 'unclear')]:8d}")
    print(f"{'total':10s} {counts['ok']:5d} {counts['silent']:7d} {counts['unclear']:8d}")
    return 1 if counts["silent"] or counts["unclear"] else 0


if __name__ == "__main__":
    sys.exit(main())

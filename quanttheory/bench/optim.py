"""``quanttheory bench optim``: throughput of one SR step and one BC step, numba vs numpy.

What is timed, on n float64 parameters (flat arrays, gradient given):

* SR step   ``w ← Q_s(w − α g)`` — numpy reference ``optim.sr(α, Δ).update`` (validation,
  ``rng.random(n)``, vectorised rounding) vs the fused numba loop ``_numba.sr_step`` (one
  uniform per element from the same PCG64 stream; outputs bit-identical, checked in the run);
* BC step   ``w_r ← clip(w_r − α g, −1, 1)`` and the next query ``Q_d(w_r)`` — numpy reference
  ``optim.bc(α, Δ, "deterministic", clip=1).update`` + ``.query`` vs ``_numba.bc_step``;
* SR onto a float format  ``w ← Q_SR,fmt(w − α g)`` for bf16 and fp8 e4m3 (saturating) — numpy
  reference ``optim.sr(α, fmt).update`` vs the fused numba loop ``_numba.sr_float_step`` (bit
  manipulation in the normal range, same PCG64 stream; outputs bit-identical, checked in the run);
* triad     the memory-bound baseline ``a = b + s·c`` in numpy, in place:
  ``np.multiply(c, s, out=tmp); np.add(b, tmp, out=a)`` (two passes over the arrays);
* uniforms  ``rng.random(out=tmp)``: numpy drawing the n uniforms alone (PCG64 through a
  function pointer per element). The numba SR step draws the same stream with PCG64 inlined
  (:mod:`quanttheory.optim._pcg64`), so it can beat this.

Each timing is the minimum of ``repeats`` runs after one warm-up run (JIT compilation is
excluded). Results are elements per second and the ratios numba/numpy and numba/triad.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from ..optim import _numba, bc, sr
from ..quantizers import FloatFormat
from . import best_time

FLOAT_FORMATS = {"bf16": FloatFormat("bf16", saturate=True), "fp8": FloatFormat("e4m3", saturate=True)}


def run(n=10**7, repeats=5, *, alpha=0.01, delta=0.1, seed=0) -> dict:
    """Time the SR step, the BC step and the triad; return elements/s and ratios.

    Returns
    -------
    dict
        ``{"n", "repeats", "elements_per_s": {name: float}, "ratios": {name: float},
        "sr_bit_identical": bool, "sr_float_bit_identical": {fmt: bool}}``.
    """
    rng = np.random.default_rng(seed)
    w, g = rng.standard_normal(n), rng.standard_normal(n)
    out, q, tmp = np.empty(n), np.empty(n), np.empty(n)
    sr_rule = sr(alpha, delta)
    bc_rule = bc(alpha, delta, "deterministic", clip=1.0)
    sr_state, bc_state = sr_rule.init(w), bc_rule.init(w)
    ref = sr_rule.update(g, sr_state, w, np.random.default_rng(1))[0]
    _numba.sr_step(w, g, alpha, delta, np.random.default_rng(1), out)
    identical = bool(np.array_equal(ref, out))
    del ref

    def bc_numpy():
        w_r, _ = bc_rule.update(g, bc_state, w)
        bc_rule.query(w_r, bc_state)

    times, float_identical = _float_cases(w, g, alpha, out, rng, repeats)
    times |= {
        "sr_numpy": best_time(lambda: sr_rule.update(g, sr_state, w, rng), repeats),
        "sr_numba": best_time(lambda: _numba.sr_step(w, g, alpha, delta, rng, out), repeats),
        "bc_numpy": best_time(bc_numpy, repeats),
        "bc_numba": best_time(lambda: _numba.bc_step(w, g, alpha, delta, 1.0, out, q), repeats),
        "triad_numpy": best_time(lambda: (np.multiply(g, alpha, out=tmp), np.add(w, tmp, out=q)), repeats),
        "uniforms_numpy": best_time(lambda: rng.random(out=tmp), repeats),
    }
    eps = {k: n / t for k, t in times.items()}
    ratios = {
        "sr numba/numpy": eps["sr_numba"] / eps["sr_numpy"],
        "sr numba/triad": eps["sr_numba"] / eps["triad_numpy"],
        "bc numba/numpy": eps["bc_numba"] / eps["bc_numpy"],
        "bc numba/triad": eps["bc_numba"] / eps["triad_numpy"],
        "sr numba/uniforms": eps["sr_numba"] / eps["uniforms_numpy"],
    }
    for name in FLOAT_FORMATS:
        ratios[f"sr_{name} numba/numpy"] = eps[f"sr_{name}_numba"] / eps[f"sr_{name}_numpy"]
        ratios[f"sr_{name} numba/triad"] = eps[f"sr_{name}_numba"] / eps["triad_numpy"]
    return {"n": n, "repeats": repeats, "elements_per_s": eps, "ratios": ratios, "sr_bit_identical": identical,
            "sr_float_bit_identical": float_identical}


def _float_cases(w, g, alpha, out, rng, repeats):
    """Timings of SR onto bf16 and fp8 (numpy rule vs numba step) and their bit-identity checks."""
    times, identical = {}, {}
    for name, fmt in FLOAT_FORMATS.items():
        rule = sr(alpha, fmt)
        state = rule.init(w)
        ref = rule.update(g, state, w, np.random.default_rng(2))[0]
        _numba.sr_float_step(w, g, alpha, fmt, np.random.default_rng(2), out)
        identical[name] = bool(np.array_equal(ref, out))
        del ref
        times[f"sr_{name}_numpy"] = best_time(lambda r=rule, s=state: r.update(g, s, w, rng), repeats)
        step = lambda f=fmt: _numba.sr_float_step(w, g, alpha, f, rng, out)  # noqa: E731
        times[f"sr_{name}_numba"] = best_time(step, repeats)
    return times, identical


def main(argv=None) -> int:
    """Command-line entry: ``quanttheory bench optim [--n N] [--repeats K] [--json]``."""
    parser = argparse.ArgumentParser(prog="quanttheory bench optim", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10**7, help="number of float64 parameters (default 1e7)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per case; the minimum is kept")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if args.n < 1 or args.repeats < 1:
        parser.error(f"--n={args.n} and --repeats={args.repeats} must be >= 1")
    res = run(args.n, args.repeats)
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print(f"optimizer step throughput, n = {res['n']:.0e} float64, min of {res['repeats']} runs")
    print(f"{'case':<14}{'Melem/s':>10}")
    for name, v in res["elements_per_s"].items():
        print(f"{name:<14}{v / 1e6:>10.1f}")
    for name, v in res["ratios"].items():
        print(f"{name:<16}{v:>8.2f}x")
    print(f"SR numba bit-identical to the numpy reference: {res['sr_bit_identical']}")
    for name, ok in res["sr_float_bit_identical"].items():
        print(f"SR onto {name} numba bit-identical to the numpy reference: {ok}")
    return 0

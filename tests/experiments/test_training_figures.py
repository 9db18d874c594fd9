"""The QAT experiments (DSQ α evolution, QN temperature schedule, cross-method table)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from quanttheory.experiments import cross_method, dsq_training, qn_training
from quanttheory.sweep import check_protocol, point_seed

MODULES = [dsq_training, qn_training, cross_method]


def _run(module, points):
    return [(p, module.compute(p, np.random.default_rng(point_seed(module.NAME, p, 0)))) for p in points]


def _tiny(module):
    """The quick grid, shrunk further (test budget): fewer epochs and samples, same code path."""
    return [p | {"n_train": 300, "float_epochs": 2, "qat_epochs": 2} for p in module.grid(True)]


@pytest.fixture(scope="module")
def tiny_results():
    return {m.NAME: _run(m, _tiny(m)) for m in MODULES}


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.NAME)
def test_protocol_plot_and_claims(module, tiny_results, tmp_path):
    check_protocol(module)
    assert module.__doc__ and module.PAPER
    quick, full = module.grid(True), module.grid(False)
    assert 0 < len(quick) <= len(full)
    json.dumps(full)
    results = tiny_results[module.NAME]
    paths = module.plot(results, tmp_path)
    assert any(p.suffix == ".png" for p in paths)
    for p in paths:
        assert p.exists() and p.stat().st_size > 200
    ledger = module.claims(results)
    assert [c.id for c in ledger] == list(module.CLAIMS)
    for c in ledger:
        assert np.isfinite(c.measured) and isinstance(c.holds, bool)


def test_compute_is_deterministic():
    p = _tiny(cross_method)[0]
    a, b = _run(cross_method, [p]), _run(cross_method, [p])
    for k in a[0][1]:
        np.testing.assert_array_equal(a[0][1][k], b[0][1][k])


def test_cross_method_grid_covers_every_cell():
    for quick in (True, False):
        cells = {(p["method"], p["bits"]) for p in cross_method.grid(quick)}
        want = {(m, b) for m in cross_method.METHODS for b in cross_method.BITS}
        assert want | {("float", cross_method.FLOAT_BITS)} == cells


def _fake_cross(errors):
    """Fabricated cross-method results: ``errors[(method, bits)]`` = list of test errors per seed."""
    return [({"method": m, "bits": b, "seed": s}, {"test_error": e})
            for (m, b), es in errors.items() for s, e in enumerate(es)]


def test_cross_method_claims_flip_on_fabricated_results():
    good = {(m, b): [0.20, 0.22] for m in cross_method.METHODS for b in cross_method.BITS}
    good[("float", cross_method.FLOAT_BITS)] = [0.20, 0.21]
    verdicts = {c.id: c.holds for c in cross_method.claims(_fake_cross(good))}
    assert all(verdicts.values()), verdicts
    bad = dict(good)
    bad[("apot", 3)] = [0.30, 0.31]       # APoT worse than uniform at 3 bits
    bad[("qn", 4)] = [0.25, 0.26]         # 4-bit QN 5 points behind float
    verdicts = {c.id: c.holds for c in cross_method.claims(_fake_cross(bad))}
    assert verdicts == {"apot-1": False, "dsq-2": True, "qn-2": True, "qat-4bit": False}
    md = cross_method.markdown(_fake_cross(good))
    assert "| apot | 21.0 ± 1.0 |" in md and "float (32 bit) | 20.5 ± 0.5" in md


def test_dsq_claim_flips_on_fabricated_results():
    grow = {f"{s}.alpha": np.array([0.2, 0.1]) for s in ("w1", "a1", "w2", "a2")}
    assert dsq_training.claims([({}, grow)])[0].holds
    grow["a2.alpha"] = np.array([0.2, 0.21])
    claim = dsq_training.claims([({}, grow)])[0]
    assert not claim.holds and claim.measured == pytest.approx(1.05)


def test_qn_claims_flip_on_fabricated_results():
    base = {"soft_hard_gap": np.array([0.9, 0.5, 0.2, 0.05]),
            "test_error": np.array([0.3, 0.25, 0.2, 0.2]), "soft_test_error": np.array([0.3, 0.2, 0.2, 0.195])}
    point = {"rate": 5.0, "seed": 0}
    assert [c.holds for c in qn_training.claims([(point, base)])] == [True, True]
    stuck = base | {"soft_hard_gap": np.array([0.9, 0.5, 0.45, 0.4]), "test_error": np.array([0.3, 0.3, 0.3, 0.3])}
    assert [c.holds for c in qn_training.claims([(point, stuck)])] == [False, False]


"""The float ConvNet anchors (MNIST-1D published CNN, MNIST-5k): protocol, plot and verdict logic."""

from __future__ import annotations

import json

import numpy as np
import pytest

from quanttheory import committed
from quanttheory.experiments import mnist1d_float as m
from quanttheory.sweep import check_protocol, point_seed


@pytest.fixture(scope="module")
def tiny_results():
    """One epoch of ConvBase on two seeds (the real data and code path, a tiny budget)."""
    points = [{"net": "convbase", "seed": s, "epochs": 1} for s in range(2)]
    return [(p, m.compute(p, np.random.default_rng(point_seed(m.NAME, p, 0)))) for p in points]


def test_protocol_grid_and_plot(tiny_results, tmp_path):
    check_protocol(m)
    quick, full = m.grid(True), m.grid(False)
    assert 0 < len(quick) < len(full) and {p["net"] for p in full} == set(m.NETS)
    assert sum(p["net"] == "convbase" for p in full) >= 5  # at least 5 seeds behind the claim
    json.dumps(full)
    paths = m.plot(tiny_results, tmp_path)
    assert {p.suffix for p in paths} == {".png", ".svg", ".npz", ".json"} and all(p.exists() for p in paths)


def test_explicit_only_results_round_trip_exactly(tiny_results, tmp_path):
    """``figures`` redraws this experiment from results.json: the file must give back the run's
    arrays bit for bit, and so the same ledger rows."""
    assert m.EXPLICIT_ONLY
    m.plot(tiny_results, tmp_path)
    back = committed.read(tmp_path / "results.json")
    assert [p for p, _ in back] == [p for p, _ in tiny_results]
    for (_, a), (_, b) in zip(tiny_results, back, strict=True):
        assert a.keys() == b.keys()
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])
            assert b[k].dtype == np.float64
    assert [c.to_dict() for c in m.claims(back)] == [c.to_dict() for c in m.claims(tiny_results)]


def test_seed_drives_init_and_order_and_learning_happens(tiny_results):
    (_, a), (_, b) = tiny_results
    assert a["test_accuracy"].shape == (1,) and a["train_loss"][0] < np.log(10)  # below chance loss
    assert a["test_accuracy"][0] != b["test_accuracy"][0] or a["train_loss"][0] != b["train_loss"][0]


def _fake(net, accs):
    return [({"net": net, "seed": s, "epochs": 200},
             {"test_accuracy": np.array([0.5, a]), "train_loss": np.ones(2)}) for s, a in enumerate(accs)]


@pytest.mark.parametrize(("accs", "verdict"), [
    ([0.935, 0.94, 0.945, 0.938, 0.942], "holds"),
    ([0.91, 0.912, 0.909, 0.911, 0.913], "fails"),
    ([0.90, 0.95], "inconclusive"),
])
def test_claim_is_a_tost_band_around_the_published_94(accs, verdict):
    rows = m.claims(_fake("convbase", accs) + _fake("convbase-he", [0.91, 0.92]))
    (row,) = rows
    assert row.id == "mnist1d-cnn-94" and row.verdict == verdict and row.kind == "empirical"
    assert row.margin and row.ci is not None and "He-normal" in row.detail


def test_mnist5k_row_is_a_one_sided_sanity_check():
    (row,) = m.claims(_fake("lenet-bn", [0.97, 0.975, 0.972]))
    assert row.id == "mnist5k-float-cnn" and row.verdict == "holds" and row.kind == "sanity"
    (row,) = m.claims(_fake("lenet-bn", [0.90, 0.91, 0.905]))
    assert row.verdict == "fails"

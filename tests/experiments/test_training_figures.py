"""The QAT experiments: protocol, plots, ledger rows on fabricated results, --seed, quick vs full."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from quanttheory.experiments import (
    _qat_claims,
    cross_method,
    dsq_training,
    qat_cnn,
    qat_study,
    qat_tune,
    qn_training,
)
from quanttheory.experiments import _qat_stage as S
from quanttheory.sweep import check_protocol, point_seed

MODULES = [dsq_training, qn_training, cross_method]
TINY = {"dataset": "digits", "n_train": 300, "float_epochs": 2, "qat_epochs": 1}


def _run(module, points, seed=0):
    return [(p, module.compute(p, np.random.default_rng(point_seed(module.NAME, p, seed)))) for p in points]


def _tiny(module):
    """The quick grid on the digits data set (test budget): same code path, smaller data."""
    return [p | TINY for p in module.grid(True)][:2]


@pytest.fixture(scope="module")
def tiny_results():
    return {m.NAME: _run(m, _tiny(m)) for m in MODULES}


@pytest.mark.parametrize("module", [*MODULES, qat_study, qat_tune, qat_cnn], ids=lambda m: m.NAME)
def test_protocol_and_grids(module):
    check_protocol(module)
    assert module.__doc__ and module.PAPER
    quick, full = module.grid(True), module.grid(False)
    assert 0 < len(quick) <= len(full)
    json.dumps(full)


def test_explicit_only_study_is_not_run_by_figures():
    assert qat_study.EXPLICIT_ONLY and qat_tune.EXPLICIT_ONLY and qat_cnn.EXPLICIT_ONLY
    assert not any(getattr(m, "EXPLICIT_ONLY", False) for m in MODULES)


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.NAME)
def test_plot_writes_files(module, tiny_results, tmp_path):
    paths = module.plot(tiny_results[module.NAME], tmp_path)
    assert any(p.suffix == ".png" for p in paths) and any(p.suffix == ".svg" for p in paths)
    for p in paths:
        assert p.exists() and p.stat().st_size > 200


def test_compute_is_deterministic_and_seed_changes_data_and_draws():
    p = _tiny(cross_method)[0]
    a, b, c = _run(cross_method, [p], 0), _run(cross_method, [p], 0), _run(cross_method, [p], 1)
    for k in a[0][1]:
        np.testing.assert_array_equal(a[0][1][k], b[0][1][k])
    assert any(not np.array_equal(a[0][1][k], c[0][1][k]) for k in a[0][1])


def test_seed_changes_the_data_split_and_the_checkpoint():
    p = {"dataset": "digits", "n_train": 200, "float_epochs": 1, "qat_epochs": 1}
    stages = [S.checkpoint(p, np.random.default_rng(point_seed("qat-study", p, s))) for s in (0, 0, 1)]
    np.testing.assert_array_equal(stages[0][0].x_train, stages[1][0].x_train)
    assert not np.array_equal(stages[0][0].x_train, stages[2][0].x_train)
    assert not np.array_equal(stages[0][2]["fc0.w"], stages[2][2]["fc0.w"])


# -- ledger rows on fabricated results --------------------------------------------------------------

SITES = ("fc1.w", "fc1.a", "fc2.w", "fc2.a")


def _fabricate(n=6, *, dsq_gain=0.02, apot_gain=0.01, qn_gain=0.01, alpha_end=0.1, gap_end=0.01,
               four_bit_loss=0.005, step_cost=0.0, noise=0.002, seed=0):
    """Replicates whose paired effects are known: each is the given effect plus small noise."""
    rng = np.random.default_rng(seed)
    out = []
    for r in range(n):
        e = 0.2 + 0.02 * rng.standard_normal()  # replicate effect, shared by all methods (pairing)

        def v(x, e=e):
            return float(x + e + noise * rng.standard_normal())
        res = {S.key("float", 32, "test_error"): v(0.0)}
        for b in (2, 3, 4):
            res |= {S.key(k, b, "test_error"): v(0.05 / b) for k in qat_study.RECIPES}
            res[S.key("uniform-rcf", b, "test_error")] = v(0.05 / b + apot_gain)
        res[S.key("dsq-ste", 2, "test_error")] = v(0.025 + dsq_gain)
        res[S.key("uniform-w", 2, "test_error")] = v(0.025 + qn_gain)
        for k in ("dsq", "apot", "qn-w"):
            res[S.key(k, 4, "test_error")] = v(four_bit_loss)
        for k in ("qn-w", "qn"):
            res[S.key(k, 2, "soft_test_error")] = res[S.key(k, 2, "test_error")] - step_cost
            res[S.key(k, 2, "h:gap")] = np.array([0.5, 0.1, gap_end]) * (1 + 0.01 * rng.random())
        for s in SITES:
            res[S.key("dsq", 2, f"h:{s}.alpha")] = np.array([0.2, 0.15, alpha_end * (1 + 0.01 * rng.random())])
        out.append(({"dataset": "mnist1d", "replicate": r}, res))
    return out


def _verdicts(results):
    return {c.id: c.verdict for c in qat_study.claims(results)}


def test_claims_hold_and_fail_on_fabricated_results():
    good = _verdicts(_fabricate())
    assert good == dict.fromkeys(_qat_claims.IDS, "holds"), good
    bad = _verdicts(_fabricate(dsq_gain=-0.02, apot_gain=-0.02, qn_gain=-0.02, alpha_end=0.5, gap_end=0.4,
                               four_bit_loss=0.05, step_cost=0.03))
    assert bad == dict.fromkeys(_qat_claims.IDS, "fails"), bad
    unclear = _verdicts(_fabricate(n=3, dsq_gain=0.0, noise=0.02))
    assert unclear["dsq-2"] == "inconclusive"


def test_claim_rows_carry_ci_margin_and_kind():
    for c in qat_study.claims(_fabricate()):
        assert c.ci is not None and c.ci[0] <= c.measured <= c.ci[1]
        assert c.margin and c.kind == "empirical" and c.detail


def test_study_plot_and_committed_results_roundtrip(tmp_path, monkeypatch):
    results = _fabricate()
    paths = qat_study.plot(results, tmp_path)
    assert {p.name for p in paths} >= {"qat_study.png", "qat_study_claims.png", "qat_study.md", "results.json"}
    monkeypatch.setattr(qat_study, "RESULTS_FILE", tmp_path / "results.json")
    again = qat_study.committed_results()
    assert _verdicts(again) == _verdicts(results)
    monkeypatch.setattr(qat_study, "RESULTS_FILE", tmp_path / "absent.json")
    assert qat_study.committed_results() == []


def test_cnn_stage_builds_the_convnet_and_names_bad_models():
    net = S.network("cnn", (1, 40), 10)
    assert net.quantized_layers == ("conv1", "conv2") and net.channels == S.CNN_1D["channels"]
    assert S.network("mlp", (1, 40), 10).sizes == (40, *S.HIDDEN, 10)
    with pytest.raises(ValueError, match="'cnn' .*1-D"):
        S.network("cnn", (1, 8, 8), 10)
    with pytest.raises(ValueError, match="model='resnet'"):
        S.network("resnet", (1, 40), 10)


def test_cnn_checkpoint_trains_a_convnet_with_paired_streams():
    p = {"dataset": "mnist1d", "model": "cnn", "n_train": 300, "float_epochs": 1, "qat_epochs": 1}
    a, b = (S.checkpoint(p, np.random.default_rng(point_seed(qat_cnn.NAME, p, 0))) for _ in range(2))
    assert a[2]["conv1.w"].shape == (32, 32, 5)  # (out, in, k)
    np.testing.assert_array_equal(a[2]["conv1.w"], b[2]["conv1.w"])
    assert a[-1] == b[-1] and 0.0 <= a[-1] <= 1.0


def _cnn_fabricate(**kw):
    """The MLP fabrication with ConvNet site names and without the 4-bit and W/A runs qat-cnn skips."""
    out = []
    for p, r in _fabricate(**kw):
        r = {k.replace("fc1", "conv1").replace("fc2", "conv2"): v for k, v in r.items()
             if "@4:" not in k and not k.startswith(("qn@", "dsq-mq@", "lsq@3", "qn-w@3"))}
        out.append((p | {"model": "cnn"}, r))
    return out


def test_cnn_rows_are_the_mlp_rows_with_their_own_ids_and_no_four_bit_row():
    good = {c.id: c.verdict for c in qat_cnn.claims(_cnn_fabricate())}
    assert good == dict.fromkeys(qat_cnn.CLAIMS, "holds"), good
    assert set(qat_cnn.CLAIMS) == {f"{c}-cnn" for c in _qat_claims.IDS} - {"qat-4bit-cnn"}
    bad = {c.id: c.verdict for c in qat_cnn.claims(_cnn_fabricate(
        dsq_gain=-0.02, apot_gain=-0.02, qn_gain=-0.02, alpha_end=0.5, gap_end=0.4, step_cost=0.03))}
    assert bad == dict.fromkeys(qat_cnn.CLAIMS, "fails"), bad
    for c in qat_cnn.claims(_cnn_fabricate()):
        assert "ConvNet" in c.detail and "MNIST-5k" not in c.detail and "nan" not in c.detail


def test_cnn_plot_and_committed_results_roundtrip(tmp_path, monkeypatch):
    results = _cnn_fabricate()
    paths = qat_cnn.plot(results, tmp_path)
    assert {p.name for p in paths} >= {"qat_cnn.png", "qat_cnn_claims.png", "qat_cnn.md", "results.json"}
    assert "validation error" in (tmp_path / "qat_cnn.md").read_text()
    monkeypatch.setattr(qat_cnn, "RESULTS_FILE", tmp_path / "results.json")
    assert [c.verdict for c in qat_cnn.claims(qat_cnn.committed_results())] == \
        [c.verdict for c in qat_cnn.claims(results)]


# -- quick vs full ----------------------------------------------------------------------------------

OPPOSITE = {("holds", "fails"), ("fails", "holds")}


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("QT_QAT_QUICK_VS_FULL"),
                    reason="~10 min of QAT (2 seeds × 2 MNIST-1D replicates): set QT_QAT_QUICK_VS_FULL=1")
@pytest.mark.parametrize("seed", [1, 2])
def test_quick_grid_never_contradicts_the_committed_full_run(seed):
    """The quick grid at --seed 1 and 2 against the committed full run (seed 0): a quick verdict
    may be inconclusive where the full one decides, never the opposite."""
    full = qat_study.committed_results()
    if not full:
        pytest.skip("no committed qat-study results (figures/qat-study/results.json)")
    quick = _run(qat_study, qat_study.grid(True), seed)
    fv, qv = _verdicts(full), _verdicts(quick)
    clash = {k: (fv[k], qv[k]) for k in fv if (fv[k], qv[k]) in OPPOSITE}
    assert not clash, clash


def test_tuned_rates_are_the_committed_validation_pick():
    """The study's rates must be what ``qat-tune`` picked on the validation split (its committed
    table), for every recipe the study runs; a new tuning run that changes the pick fails here."""
    from quanttheory import committed
    from quanttheory.experiments import _qat_stage
    results = committed.read(committed.FIGURES / qat_tune.NAME / "qat_tune.json")
    assert results, "figures/qat-tune/qat_tune.json is missing"
    assert qat_tune.pick(results) == _qat_stage.TUNED_LR
    assert set(qat_study.RECIPES) | {"float"} == set(_qat_stage.TUNED_LR)
    assert qat_study.TUNED_LR is _qat_stage.TUNED_LR

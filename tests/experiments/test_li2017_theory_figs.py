"""End-to-end quick runs of the Li et al. 2017 lemma, Markov-chain and Fig. 1 experiments.

Each module's quick grid is computed once per seed (module-scoped fixture); seed 0 is also
plotted; both seeds must give verdicts that are not the wrong way (quick mode may leave an
equivalence inconclusive); fabricated results must flip them, and a lost positive control must
turn "holds" into "inconclusive".
"""

import numpy as np
import pytest

from quanttheory.experiments import li2017_fig1, li2017_lemmas, li2017_markov
from quanttheory.theory import markov as M

MODULES = {"lemmas": li2017_lemmas, "markov": li2017_markov, "fig1": li2017_fig1}


def computed(module, seed=0):
    return [(p, module.compute(p, np.random.default_rng([seed, i]))) for i, p in enumerate(module.grid(True))]


@pytest.fixture(scope="module")
def quick():
    return {(name, seed): computed(mod, seed) for name, mod in MODULES.items() for seed in (0, 1)}


def fresh(results):
    return [(p, {k: np.copy(v) for k, v in r.items()}) for p, r in results]


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MODULES))
def test_quick_plot_writes_png_and_data(tmp_path, quick, name):
    paths = MODULES[name].plot(quick[name, 0], tmp_path)
    assert any(p.suffix == ".png" and p.stat().st_size > 10_000 for p in paths)
    assert any(p.suffix == ".svg" for p in paths)
    assert any(p.suffix in (".npz", ".csv") for p in paths)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name, ids", [("lemmas", ["li2017-1", "li2017-6"]), ("markov", ["li2017-7"]),
                                       ("fig1", ["li2017-8"])])
def test_quick_claims_hold_for_two_seeds(quick, name, ids, seed):
    claims = MODULES[name].claims(quick[name, seed])
    assert [c.id for c in claims] == ids
    assert all(c.verdict != "fails" for c in claims), [c.detail for c in claims if c.verdict == "fails"]
    assert all(c.ci is not None and c.margin for c in claims)
    assert all("NOT detected" not in c.detail for c in claims)  # every positive control is resolved


@pytest.mark.slow
def test_lemma_claims_fail_on_fabricated_results(quick):
    results = fresh(quick["lemmas", 0])
    lem = results[0][1]
    lem["mc"] = lem["bound"] * 1.5 + 10 * lem["se"]  # a quantizer whose error exceeds the lemma
    lem["exact"] = lem["bound"] * 1.5
    results[1][1]["mismatch"] = np.float64(3.0)  # an R that moves on a small step
    assert [c.verdict for c in li2017_lemmas.claims(results)] == ["fails", "fails"]


@pytest.mark.slow
def test_lemma_kinds():
    kinds = {c.id: c.kind for c in li2017_lemmas.claims(fresh(computed(li2017_lemmas)))}
    assert kinds == {"li2017-1": "derived", "li2017-6": "sanity"}


def _perturbed_law_simulation(results, factor):
    """Replace the simulated draws by exact draws of the law with noise σ·factor."""
    exact = results[0][1]
    sim = results[1][1]
    x = exact["x"]
    P = M.transition_matrix_1d(li2017_markov._grad, x, 0.003, li2017_markov.SIGMA * factor)
    pi = M.stationary_distribution(P)
    rng = np.random.default_rng(5)
    draws = rng.choice(x, size=sim["f_final"].size, p=pi)
    sim["f_final"] = li2017_markov._f(draws)
    idx = np.rint((draws - x[0]) / li2017_markov.DELTA).astype(int)
    sim["hist"] = np.bincount(idx, minlength=x.size) / draws.size


@pytest.mark.slow
@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_markov_claim_rejects_a_law_with_10_percent_wrong_noise(quick, factor):
    results = fresh(quick["markov", 0])
    _perturbed_law_simulation(results, factor)  # a simulator whose noise is 10 % off
    assert li2017_markov.claims(results)[0].verdict == "fails"


@pytest.mark.slow
def test_markov_claim_without_power_is_inconclusive(quick):
    results = fresh(quick["markov", 0])
    results[0][1]["pi_wrong"] = np.stack([results[0][1]["pi"][-1]] * 2)  # a "control" identical to π
    assert li2017_markov.claims(results)[0].verdict == "inconclusive"


def test_chi2_pvalue_pools_small_bins(rng):
    probs = np.array([1e-6, 0.2, 0.3, 0.5 - 1e-6])
    counts = rng.multinomial(10_000, probs)
    assert li2017_markov.chi2_pvalue(counts, probs) > 1e-4
    assert li2017_markov.chi2_pvalue(counts, probs[::-1]) < 1e-12


@pytest.mark.slow
def test_fig1_claim_fails_if_sr_concentrates(quick):
    results = fresh(quick["fig1", 0])
    for p, r in results:
        if p["method"] == "sr":
            r["var"] = r["var"] * p["alpha"] * 100  # fabricated: SR shrinking with α like SGD
    assert li2017_fig1.claims(results)[0].verdict == "fails"


@pytest.mark.slow
def test_fig1_claim_without_control_is_inconclusive(quick):
    results = fresh(quick["fig1", 0])
    res = {(p["method"], p["alpha"]): r for p, r in results}
    res["sr", 1.0]["var"] = res["sr", 0.1]["var"].copy()  # fabricated: SR's law not changing above threshold
    claim = li2017_fig1.claims(results)[0]
    assert claim.verdict == "inconclusive" and "NOT detected" in claim.detail


def test_fig1_exact_law_is_a_distribution():
    pi = li2017_fig1.exact_sr_law()
    assert pi.shape == (li2017_fig1.EDGES.size - 1,) * 2 and abs(pi.sum() - 1) < 1e-12


def test_markov_threshold_is_below_one_cell():
    a = li2017_markov.threshold_alpha()
    assert all(p["alpha"] <= a for p in li2017_markov.grid(False) if p["part"] == "simulate")

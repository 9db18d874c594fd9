"""End-to-end quick runs of the Li et al. 2017 lemma, Markov-chain and Fig. 1 experiments.

Each module's quick grid is computed once per seed (module-scoped fixture); seed 0 is also
plotted; both seeds must give the verdicts meant to hold; fabricated results must flip them.
"""

import numpy as np
import pytest

from quanttheory.experiments import li2017_fig1, li2017_lemmas, li2017_markov

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
    assert any(p.suffix in (".npz", ".csv") for p in paths)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name, ids", [("lemmas", ["li2017-1", "li2017-6"]), ("markov", ["li2017-7"]),
                                       ("fig1", ["li2017-8"])])
def test_quick_claims_hold_for_two_seeds(quick, name, ids, seed):
    claims = MODULES[name].claims(quick[name, seed])
    assert [c.id for c in claims] == ids
    assert all(c.holds for c in claims), [c.detail for c in claims if not c.holds]


@pytest.mark.slow
def test_lemma_claims_fail_on_fabricated_results(quick):
    results = fresh(quick["lemmas", 0])
    lem = results[0][1]
    lem["mc"] = lem["bound"] * 1.5 + 10 * lem["se"]  # a quantizer whose error exceeds the lemma
    lem["exact"] = lem["bound"] * 1.5
    results[1][1]["mismatch"] = np.float64(3.0)  # an R that moves on a small step
    assert not any(c.holds for c in li2017_lemmas.claims(results))


@pytest.mark.slow
def test_markov_claim_fails_on_wrong_simulation(quick):
    results = fresh(quick["markov", 0])
    sim = results[1][1]
    sim["tv"] = 3 * sim["tv_null_q"]  # a simulation far from the exact law
    assert not li2017_markov.claims(results)[0].holds


@pytest.mark.slow
def test_fig1_claim_fails_if_sr_concentrates(quick):
    results = fresh(quick["fig1", 0])
    for p, r in results:
        if p["method"] == "sr":
            r["var"] = r["var"] * p["alpha"] * 100  # fabricated: SR shrinking with α like SGD
    assert not li2017_fig1.claims(results)[0].holds


def test_fig1_exact_law_is_a_distribution():
    pi = li2017_fig1.exact_sr_law()
    assert pi.shape == (li2017_fig1.EDGES.size - 1,) * 2 and abs(pi.sum() - 1) < 1e-12


def test_markov_threshold_is_below_one_cell():
    a = li2017_markov.threshold_alpha()
    assert all(p["alpha"] <= a for p in li2017_markov.grid(False) if p["part"] == "simulate")

"""End-to-end quick runs of the Li et al. 2017 lemma and Markov-chain experiments, and their claims."""

import numpy as np
import pytest
from quanttheory.experiments import li2017_fig1, li2017_lemmas, li2017_markov


def computed(module, seed=0):
    return [(p, module.compute(p, np.random.default_rng([seed, i]))) for i, p in enumerate(module.grid(True))]


def run_quick(module, tmp_path, seed=0):
    results = computed(module, seed)
    paths = module.plot(results, tmp_path)
    assert any(p.suffix == ".png" and p.stat().st_size > 10_000 for p in paths)
    assert any(p.suffix in (".npz", ".csv") for p in paths)
    return results, module.claims(results)


@pytest.mark.parametrize("seed", [0, 1])
def test_lemmas_quick_end_to_end(tmp_path, seed):
    results, claims = run_quick(li2017_lemmas, tmp_path, seed)
    assert [c.id for c in claims] == ["li2017-1", "li2017-6"]
    assert all(c.holds for c in claims)


def test_lemma1_claim_fails_on_fabricated_excess(tmp_path):
    results = computed(li2017_lemmas)
    lem = results[0][1]
    lem["mc"] = lem["bound"] * 1.5 + 10 * lem["se"]  # a quantizer whose error exceeds the lemma
    lem["exact"] = lem["bound"] * 1.5
    results[1][1]["mismatch"] = 3.0  # an R that moves on a small step
    claims = li2017_lemmas.claims(results)
    assert not claims[0].holds and not claims[1].holds


@pytest.mark.parametrize("seed", [0, 1])
def test_markov_quick_end_to_end(tmp_path, seed):
    results, claims = run_quick(li2017_markov, tmp_path, seed)
    assert claims[0].id == "li2017-7" and claims[0].holds


def test_markov_claim_fails_on_wrong_simulation(tmp_path):
    results = computed(li2017_markov)
    sim = results[1][1]
    sim["tv"] = 3 * sim["tv_null_q"]  # a simulation far from the exact law
    assert not li2017_markov.claims(results)[0].holds


@pytest.mark.parametrize("seed", [0, 1])
def test_fig1_quick_end_to_end(tmp_path, seed):
    results, claims = run_quick(li2017_fig1, tmp_path, seed)
    assert claims[0].id == "li2017-8" and claims[0].holds


def test_fig1_claim_fails_if_sr_concentrates():
    results = computed(li2017_fig1)
    for p, r in results:
        if p["method"] == "sr":
            r["var"] = r["var"] * p["alpha"] * 100  # fabricated: SR shrinking with α like SGD
    assert not li2017_fig1.claims(results)[0].holds


def test_fig1_exact_law_is_a_distribution():
    pi = li2017_fig1.exact_sr_law()
    assert pi.shape == (li2017_fig1.EDGES.size - 1,) * 2 and abs(pi.sum() - 1) < 1e-12

"""End-to-end quick runs of the Li et al. 2017 convex experiments (quadratic, floor) and their claims."""

import numpy as np
import pytest

from quanttheory.experiments import li2017_floor, li2017_quadratic


def computed(module, seed=0):
    return [(p, module.compute(p, np.random.default_rng([seed, i]))) for i, p in enumerate(module.grid(True))]


def check_outputs(module, results, tmp_path):
    paths = module.plot(results, tmp_path)
    assert any(p.suffix == ".png" and p.stat().st_size > 10_000 for p in paths)
    assert any(p.suffix in (".npz", ".csv") for p in paths)


@pytest.mark.parametrize("seed", [0, 1])
def test_quadratic_quick_end_to_end(tmp_path, seed):
    results = computed(li2017_quadratic, seed)
    check_outputs(li2017_quadratic, results, tmp_path)
    claims = li2017_quadratic.claims(results)
    assert [c.id for c in claims] == ["li2017-4", "li2017-5"]
    # quick mode may leave the equivalence undecided, never decide it the wrong way
    assert claims[0].verdict in ("holds", "inconclusive") and claims[1].verdict == "holds"
    assert "(detected)" in claims[0].detail  # SR's stall is resolved by the same slope measurement
    assert all(c.ci is not None and c.margin and c.kind in ("empirical", "derived") for c in claims)


def test_quadratic_claims_fail_when_bc_stalls_or_converges():
    results = computed(li2017_quadratic)
    res = {p["method"]: r for p, r in results}
    bc_s, bc_d = res["bc_s"]["gap"].copy(), res["bc_d"]["gap"].copy()
    res["bc_s"]["gap"][:] = bc_d  # fabricated: BC(Q_s) stalling
    res["bc_d"]["gap"][:] = bc_s  # fabricated: BC(Q_d) converging
    assert [c.verdict for c in li2017_quadratic.claims(results)] == ["fails", "fails"]


def test_quadratic_equivalence_has_no_power_without_a_stalling_control():
    results = computed(li2017_quadratic)
    res = {p["method"]: r for p, r in results}
    res["sr"]["gap"][:] = res["sgd"]["gap"]  # fabricated: the control converges like SGD
    c4 = li2017_quadratic.claims(results)[0]
    assert c4.verdict != "holds" and "NOT detected" in c4.detail


@pytest.fixture(scope="module")
def floor_results():
    return {seed: computed(li2017_floor, seed) for seed in (0, 1)}


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_floor_quick_end_to_end(tmp_path, floor_results, seed):
    results = floor_results[seed]
    check_outputs(li2017_floor, results, tmp_path)
    claims = li2017_floor.claims(results)
    assert [c.id for c in claims] == ["li2017-2", "li2017-2b", "li2017-3", "li2017-10"]
    assert all(c.verdict != "fails" and c.ci is not None and c.margin for c in claims)
    assert all("NOT detected" not in c.detail for c in claims)  # SGD's α- and Δ-controls are resolved


@pytest.mark.slow
def test_floor_claims_fail_on_fabricated_results(floor_results):
    results = [(p, dict(r)) for p, r in floor_results[0]]
    for p, r in results:
        if p["method"] == "sr":
            # fabricated: a floor quadratic in Δ, doubled at α/10, and rising with the batch
            r["floor"] = r["floor"] * (p["delta"] / 0.2) * (2.0 if p["alpha"] < li2017_floor.ALPHA else 1.0)
            r["floor"] = r["floor"] * p["batch"]
        if p["method"] == "sr_avg":
            r["avg_gap"] = np.broadcast_to(r["avg_gap"][:1], r["avg_gap"].shape).copy()  # fabricated: stalls
    assert {c.id: c.verdict for c in li2017_floor.claims(results)} == {
        "li2017-2": "fails", "li2017-2b": "fails", "li2017-3": "fails", "li2017-10": "fails"}


@pytest.mark.slow
def test_floor_equivalence_without_sgd_control_is_inconclusive(floor_results):
    results = [(p, dict(r)) for p, r in floor_results[0]]
    sgd = {p["alpha"]: r for p, r in results if p["method"] == "sgd" and p["delta"] == 0.2}
    sgd[li2017_floor.ALPHA / 10]["floor"] = sgd[li2017_floor.ALPHA]["floor"] * 1.01  # a control with no α effect
    c2 = li2017_floor.claims(results)[0]
    assert c2.verdict == "inconclusive" and "NOT detected" in c2.detail


def test_exact_floor_matches_equipartition_at_small_delta():
    # T_SR = σΔ/√(2π) per coordinate ⇒ E F ≈ d T_SR / 2 when σ ≫ λΔ
    pred = li2017_floor.D * 4.0 * 0.05 / (2 * np.sqrt(2 * np.pi))
    assert li2017_floor.exact_sr_floor(0.05, li2017_floor.ALPHA, 4.0) == pytest.approx(pred, rel=0.03)

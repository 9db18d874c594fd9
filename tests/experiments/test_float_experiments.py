"""End-to-end quick runs of the float-grid SR experiments (issue 11): outputs, verdicts, and
fabricated results that must flip them."""

import numpy as np
import pytest

from quanttheory.experiments import float_sr_floor, float_sr_network, float_sr_stagnation

MODULES = {"floor": float_sr_floor, "stagnation": float_sr_stagnation, "network": float_sr_network}
IDS = {"floor": list(float_sr_floor.CLAIMS), "stagnation": list(float_sr_stagnation.CLAIMS),
       "network": list(float_sr_network.CLAIMS)}


def computed(module, seed=0):
    return [(p, module.compute(p, np.random.default_rng([seed, i]))) for i, p in enumerate(module.grid(True))]


@pytest.fixture(scope="module")
def quick():
    return {name: computed(mod) for name, mod in MODULES.items()}


def fresh(results):
    return [(p, {k: np.copy(v) for k, v in r.items()}) for p, r in results]


def verdicts(module, results):
    return {c.id: c.verdict for c in module.claims(results)}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MODULES))
def test_quick_plot_writes_png_svg_and_data(tmp_path, quick, name):
    paths = MODULES[name].plot(quick[name], tmp_path)
    assert any(p.suffix == ".png" and p.stat().st_size > 10_000 for p in paths)
    assert any(p.suffix == ".svg" for p in paths)
    assert any(p.suffix in (".npz", ".csv") for p in paths)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MODULES))
def test_quick_claims_never_fail_and_carry_ci_margin_kind(quick, name):
    claims = MODULES[name].claims(quick[name])
    assert [c.id for c in claims] == IDS[name]
    assert all(c.verdict in ("holds", "inconclusive") for c in claims), [(c.id, c.detail) for c in claims]
    assert all(c.ci is not None and c.margin and c.kind for c in claims)


@pytest.mark.slow
def test_quick_derived_rows_hold(quick):
    v = verdicts(float_sr_floor, quick["floor"]) | verdicts(float_sr_stagnation, quick["stagnation"])
    for cid in ("floatsr-floor-exact", "floatsr-floor-alpha", "floatsr-floor-magnitude", "floatsr-rn-stall",
                "floatsr-kahan-stall"):
        assert v[cid] == "holds", cid


@pytest.mark.slow
def test_floor_claims_fail_when_the_floor_does_not_scale_with_ulp(quick):
    results = fresh(quick["floor"])
    for p, r in results:
        scale = 2.0 ** (p.get("m", 7) - 6) if p["part"] != "magnitude" else 2.0 ** -p["k"]
        for key in ("exact", "exact_small_alpha"):
            r[key] = r[key] * scale  # a floor that does not depend on m (or on k)
        if "per_chain" in r:
            r["per_chain"] = r["per_chain"] * scale
    v = verdicts(float_sr_floor, results)
    assert v["floatsr-floor-exact"] == "fails" and v["floatsr-floor-magnitude"] == "fails"
    assert v["floatsr-floor-mantissa"] == "fails"


@pytest.mark.slow
def test_stagnation_claims_fail_when_rn_does_not_stall(quick):
    results = fresh(quick["stagnation"])
    stall = results[0][1]["stall"]
    stall[:, 3] = stall[:, 4] * 0.2  # frozen far inside the predicted distance
    stall[stall[:, 0] == 0, 6] = 3 * stall[stall[:, 0] == 0, 7]  # Kahan three ulps away
    for _, r in results[1:]:
        r["gap_r"] = r["gap_sgd"] * 1.01
        r["gap_kahan"] = r["gap_bc"] * 5.0
    v = verdicts(float_sr_stagnation, results)
    assert v["floatsr-rn-stall"] == "fails" and v["floatsr-kahan-stall"] == "fails"
    assert v["floatsr-stagnation-rn"] == "fails"
    assert v["floatsr-stagnation-kahan"] != "holds"


@pytest.mark.slow
def test_network_claims_fail_on_fabricated_results(quick):
    results = fresh(quick["network"])
    for _, r in results:
        r["loss_r"] = r["loss_bc"] - 0.05  # RN better than master weights
        r["loss_sr"] = r["loss_r"] + 0.1
    v = verdicts(float_sr_network, results)
    assert v["floatsr-net-rn"] == "fails" and v["floatsr-net-sr"] == "fails"
    results = fresh(quick["network"])
    for i, (_, r) in enumerate(results):
        r["loss_r"] = r["loss_bc"] + (-1) ** i * 1e-3  # no stall: the positive control vanishes
    assert verdicts(float_sr_network, results)["floatsr-net-kahan"] == "inconclusive"


def test_grids_are_json_scalars_and_quick_is_smaller():
    import json

    for mod in MODULES.values():
        assert len(mod.grid(True)) <= len(mod.grid(False))
        json.dumps(mod.grid(False))

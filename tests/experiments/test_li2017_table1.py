"""Li et al. 2017 Table-1 / exploration module: pairing, verdicts from data, end-to-end, quick vs full."""

import numpy as np
import pytest

from quanttheory import claims as ledger
from quanttheory.experiments import li2017_table1 as T
from quanttheory.sweep import run_sweep

EPOCHS, DECAY = 12, 6


def tiny(point):
    return {**point, "epochs": 4, "decay_at": 2, "hidden": 16, "batch_size": 100}


def test_grid_quick_is_a_subset_of_full_and_full_has_five_paired_replicates():
    quick, full = T.grid(True), T.grid(False)
    assert all(p in full for p in quick)
    main = [p for p in full if p["part"] == "main"]
    assert sorted(p["replicate"] for p in main) == list(range(5))
    assert {p["part"] for p in full} == {"main", "ablation"}


@pytest.mark.slow
def test_compute_is_paired_deterministic_and_seeded():
    p = tiny(T.grid(True)[0])
    a, b = T.compute(p, np.random.default_rng(0)), T.compute(p, np.random.default_rng(0))
    assert set(a) == {f"{m}/{k}" for m in T.ORDER for k in T.KEYS}
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert np.all(a["r_adam/changed"] == 0)
    c = T.compute(p, np.random.default_rng(1))  # another --seed: other data, init and draws
    assert not np.array_equal(a["adam/test_error"], c["adam/test_error"])
    with pytest.raises(ValueError, match="part='x'"):
        T.compute({**p, "part": "x"}, np.random.default_rng(0))


def fabricated(err, changed, flips, n=5):
    """Results for n replicates: final errors / changed fractions / (before, after) flips per method."""
    out = []
    for r in range(n):
        res = {}
        for m in T.ORDER:
            jitter = 0.002 * np.sin(r + len(m))
            flip = np.r_[np.full(DECAY, flips[m][0]), np.full(EPOCHS - DECAY, flips[m][1])] * (1 + jitter)
            res.update({f"{m}/test_error": np.r_[np.full(EPOCHS - 1, 0.9), err[m] + jitter],
                        f"{m}/changed": np.r_[np.zeros(EPOCHS - 1), changed[m] + jitter],
                        f"{m}/flips": flip, f"{m}/flipped": flip, f"{m}/train_loss": np.ones(EPOCHS)})
        out.append(({"replicate": r, "part": "main", **T.RECIPE, "epochs": EPOCHS, "decay_at": DECAY}, res))
    return out


PAPER_LIKE = (
    dict(zip(T.ORDER, (0.08, 0.09, 0.15, 0.2, 0.25), strict=True)),
    dict(zip(T.ORDER, (0.3, 0.1, 0.45, 0.5, 0.0), strict=True)),
    dict(zip(T.ORDER, ((0.05, 0.01), (0.05, 0.01), (0.2, 0.18), (0.3, 0.28), (0.0, 0.0)), strict=True)),
)


def verdicts(results):
    return {c.id: c.verdict for c in T.claims(results)}


def test_claims_follow_the_data():
    err, changed, flips = PAPER_LIKE
    assert set(verdicts(fabricated(err, changed, flips)).values()) == {"holds"}
    bad = verdicts(fabricated({**err, "sr_adam": 0.14}, {**changed, "sr_adam": 0.2, "bc_adam": 0.3},
                              {**flips, "sr_adam": (0.3, 0.03), "bc_adam": (0.05, 0.045)}))
    assert bad == dict.fromkeys(T.CLAIMS, "fails")


def test_claims_are_inconclusive_when_the_replicates_disagree():
    err, changed, flips = PAPER_LIKE
    results = fabricated(err, changed, flips)
    # SR better than Big SR in one replicate by about as much as it is worse in the four others
    results[0][1]["sr_adam/test_error"][-1] = 0.0
    assert verdicts(results)["li2017-11"] == "inconclusive"


@pytest.mark.slow
def test_tiny_end_to_end(tmp_path):
    pts = [tiny(p) for p in T.grid(False)]
    results = [(p, T.compute(p, np.random.default_rng(i))) for i, p in enumerate(pts[:2] + pts[5:7])]
    paths = T.plot(results, tmp_path)
    assert any(p.suffix == ".png" and p.stat().st_size > 10_000 for p in paths)
    assert any(p.suffix == ".svg" for p in paths)
    assert (tmp_path / "li2017_table1.csv").read_text().count("\n") == len(T.ORDER) + 1
    rows = T.claims(results)
    assert [c.id for c in rows] == list(T.CLAIMS)
    assert all(c.kind == "empirical" and c.ci is not None and c.margin for c in rows)
    assert "ablation" in rows[1].detail and "ablation" in rows[4].detail
    assert ledger.to_markdown(rows).count("li2017-") == len(T.CLAIMS)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_quick_and_full_never_give_opposite_verdicts(seed, tmp_path):
    from quanttheory.cache import Cache

    cache = Cache(tmp_path)
    full = verdicts(run_sweep(T, quick=False, seed=seed, executor="processes", jobs=2, cache=cache,
                              progress=False).results)
    quick = verdicts(run_sweep(T, quick=True, seed=seed, cache=cache, progress=False).results)
    opposite = {k for k in full if {full[k], quick[k]} == {"holds", "fails"}}
    assert not opposite, f"seed {seed}: quick {quick} vs full {full}"

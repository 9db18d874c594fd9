"""Li et al. 2017 Table-1 / exploration module: tiny end-to-end run and verdicts from data."""

import numpy as np
import pytest

from quanttheory.experiments import li2017_table1 as T1


def tiny_grid():
    return [{**p, "n_train": 400, "epochs": 2} for p in T1.grid(True)]


@pytest.mark.slow
def test_tiny_end_to_end(tmp_path):
    results = [(p, T1.compute(p, np.random.default_rng(i))) for i, p in enumerate(tiny_grid())]
    assert results[0][1]["test_error"].shape == (2,)
    paths = T1.plot(results, tmp_path)
    assert any(p.suffix == ".png" and p.stat().st_size > 10_000 for p in paths)
    assert (tmp_path / "li2017_table1.csv").read_text().count("\n") == len(T1.ORDER) + 1
    claims = T1.claims(results)
    assert [c.id for c in claims] == ["li2017-11", "li2017-9"]
    assert all(isinstance(c.holds, bool) for c in claims)


def fabricated(errors, changed):
    """Results with the given final test errors / changed fractions per method (2 seeds)."""
    out = []
    for seed in (0, 1):
        for m in T1.ORDER:
            e, c = errors[m] + 0.001 * seed, changed[m]
            out.append(({"method": m, "data_seed": seed},
                        {"test_error": np.array([0.9, e]), "train_loss": np.ones(2),
                         "changed": np.array([0.0, c]), "flipped": np.zeros(2)}))
    return out


def test_claims_follow_the_data():
    good_err = dict(zip(T1.ORDER, (0.08, 0.09, 0.15, 0.2, 0.25), strict=True))
    good_ch = dict(zip(T1.ORDER, (0.3, 0.1, 0.4, 0.45, 0.0), strict=True))
    assert all(c.holds for c in T1.claims(fabricated(good_err, good_ch)))
    bad_err = {**good_err, "sr_adam": 0.14}  # SR better than Big SR
    bad_ch = {**good_ch, "r_adam": 0.01}  # R moved
    c11, c9 = T1.claims(fabricated(bad_err, bad_ch))
    assert not c11.holds and not c9.holds

"""Every quantizer rejects bad input with a clear error naming the value — never a silent NaN."""

import numpy as np
import pytest

from quanttheory import quantizers as Q

RNG = np.random.default_rng(0)
QN = dict(levels=[-1, 0, 1], biases=[-0.05, 0.05], alpha=1.0, beta=1.0, temperature=1.0)
CALLS = {
    "round_nearest": lambda x: Q.round_nearest(x, 0.5),
    "stochastic_round": lambda x: Q.stochastic_round(x, 0.5, RNG),
    "binarize": Q.binarize,
    "stochastic_binarize": lambda x: Q.stochastic_binarize(x, RNG),
    "uniform": lambda x: Q.uniform(x, alpha=1.0, bits=3, signed=True),
    "uniform_partials": lambda x: Q.uniform_partials(x, alpha=1.0, bits=3, signed=False),
    "apot": lambda x: Q.apot(x, alpha=1.0, bits=3, signed=True),
    "apot_partials": lambda x: Q.apot_partials(x, alpha=1.0, bits=3, signed=True),
    "dsq": lambda x: Q.dsq(x, lower=-1, upper=1, bits=2, alpha=0.2),
    "dsq_soft": lambda x: Q.dsq(x, lower=-1, upper=1, bits=2, alpha=0.2, soft=True),
    "dsq_partials": lambda x: Q.dsq_partials(x, lower=-1, upper=1, bits=2, alpha=0.2),
    "qn": lambda x: Q.qn(x, **QN),
    "qn_partials": lambda x: Q.qn_partials(x, **QN),
    "fast.stochastic_round": lambda x: Q.fast.stochastic_round(x, 0.5, RNG),
    "fast.apot": lambda x: Q.fast.apot(x, alpha=1.0, bits=3, signed=True),
}


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_raises_naming_the_value(name, bad):
    with pytest.raises(ValueError, match=str(bad)):
        CALLS[name](np.array([0.1, bad]))


@pytest.mark.parametrize("name", sorted(CALLS))
def test_wrong_dtype_raises(name):
    for x in (np.array([1 + 1j]), np.array(["a"]), np.array([object()], dtype=object)):
        with pytest.raises(TypeError, match="dtype"):
            CALLS[name](x)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_empty_input_gives_empty_output(name):
    out = CALLS[name](np.empty((0, 3)))
    for v in out.values() if isinstance(out, dict) else [out]:
        assert v.shape[:2] == (0, 3)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_input_not_mutated(name):
    x = np.linspace(-2, 2, 11)
    before = x.copy()
    CALLS[name](x)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("call,match", [
    (lambda: Q.round_nearest([1.0], 0.0), "delta=0.0"),
    (lambda: Q.round_nearest([1.0], -1), "delta=-1"),
    (lambda: Q.stochastic_round([1.0], float("nan"), RNG), "delta=nan"),
    (lambda: Q.uniform([1.0], alpha=0.0, bits=3, signed=True), "alpha=0.0"),
    (lambda: Q.uniform([1.0], alpha=1.0, bits=1, signed=True), "bits=1"),
    (lambda: Q.uniform([1.0], alpha=1.0, bits=17, signed=False), "bits=17"),
    (lambda: Q.apot([1.0], alpha=1.0, bits=7, signed=False), "bits=7"),
    (lambda: Q.apot([1.0], alpha=-2.0, bits=3, signed=True), "alpha=-2.0"),
    (lambda: Q.dsq([1.0], lower=0, upper=1, bits=0, alpha=0.2), "bits=0"),
    (lambda: Q.dsq([1.0], lower=0, upper=float("inf"), bits=2, alpha=0.2), "upper=inf"),
    (lambda: Q.qn([1.0], **{**QN, "temperature": 0.0}), "temperature=0.0"),
    (lambda: Q.qn([1.0], **{**QN, "beta": -1.0}), "beta=-1.0"),
    (lambda: Q.apot_levels_eq5(4, 5), "k\\*n=20"),
])
def test_bad_parameters_name_the_value(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_bits_must_be_integers():
    with pytest.raises(TypeError, match="2.5"):
        Q.uniform([1.0], alpha=1.0, bits=2.5, signed=True)

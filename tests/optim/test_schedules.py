"""Learning-rate schedules: values, vectorisation, bad arguments."""

import numpy as np
import pytest

from quanttheory.optim import schedules as S


def test_values():
    assert S.constant(0.3)(7) == 0.3
    assert S.inverse_time(2.0)(0) == 0.5 and S.inverse_time(2.0)(3) == 1 / 8
    assert S.inv_sqrt(3.0)(8) == 1.0
    decay = S.step_decay(1.0, every=10, factor=0.5)
    assert [float(decay(t)) for t in (0, 9, 10, 25)] == [1.0, 1.0, 0.5, 0.25]


@pytest.mark.parametrize("sched", [S.constant(0.1), S.inverse_time(0.7), S.inv_sqrt(0.3),
                                   S.step_decay(0.2, 7, 0.3)])
def test_vectorised_equals_scalar_bit_for_bit(sched):
    t = np.arange(50)
    np.testing.assert_array_equal(sched(t), [float(sched(int(k))) for k in t])


@pytest.mark.parametrize("make", [lambda: S.constant(0.0), lambda: S.inverse_time(-1.0),
                                  lambda: S.inv_sqrt(np.nan), lambda: S.step_decay(1.0, 0, 0.5),
                                  lambda: S.step_decay(1.0, 5, 1.5)])
def test_bad_arguments(make):
    with pytest.raises(ValueError, match="valid"):
        make()

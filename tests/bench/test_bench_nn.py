"""The ConvNet benchmark executes and reports sane numbers (it is not a performance test)."""

import json

import pytest

from quanttheory.bench import nn as bench


@pytest.mark.parametrize("model", list(bench.MODELS))
def test_run_executes_and_backends_give_identical_gradients(model):
    res = bench.run(model, n=200, repeats=1)
    assert res["grads_bit_identical"]
    assert set(res["samples_per_s"]) == {"numpy", "numba"} and all(v > 0 for v in res["samples_per_s"].values())
    assert res["ratio numba/numpy"] > 0


def test_main_prints_json_and_rejects_bad_arguments(capsys):
    assert bench.main(["--model", "mnist1d", "--n", "100", "--repeats", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["n"] == 100
    with pytest.raises(SystemExit):
        bench.main(["--n", "0"])
    with pytest.raises(ValueError, match="valid"):
        bench.run("cifar")

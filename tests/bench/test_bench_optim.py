"""The optimizer benchmark executes and reports sane numbers (it is not a performance test)."""

import json

from quanttheory.bench import optim as bench


def test_run_executes_and_the_fast_path_is_bit_identical():
    res = bench.run(n=10**4, repeats=1)
    assert res["sr_bit_identical"]
    assert res["sr_float_bit_identical"] == {"bf16": True, "fp8": True}
    assert set(res["elements_per_s"]) == {"sr_numpy", "sr_numba", "bc_numpy", "bc_numba", "triad_numpy",
                                          "uniforms_numpy", "sr_bf16_numpy", "sr_bf16_numba", "sr_fp8_numpy",
                                          "sr_fp8_numba"}
    assert {"sr_bf16 numba/triad", "sr_fp8 numba/numpy"} <= set(res["ratios"])
    assert all(v > 0 for v in res["elements_per_s"].values())
    assert all(v > 0 for v in res["ratios"].values())


def test_main_prints_json(capsys):
    assert bench.main(["--n", "1000", "--repeats", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 1000

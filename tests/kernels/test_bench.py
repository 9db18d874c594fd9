"""The kernel benchmark: host smoke run and the instruction-counting method."""

import subprocess

import pytest

from quanttheory.bench import kernels as bench
from quanttheory.kernels.qemu import count_instructions


def test_host_bench_smoke(capsys):
    assert bench.main(["--size", "64", "--repeats", "1", "--no-qemu"]) == 0
    out = capsys.readouterr().out
    assert "numpy float32 a @ w.T" in out and "binary ±1 (xor-popcount)" in out


@pytest.mark.qemu
def test_block_weighted_count_matches_singlestep(driver):
    # the spec's recipe (one log line per executed instruction) vs our block-weighted count:
    # the net counts (run minus start-up run) must agree exactly
    def singlestep(cmd):
        log = subprocess.run(["qemu-aarch64", "-singlestep", "-d", "exec,nochain", *cmd],
                             capture_output=True, text=True, check=True).stderr
        return sum(line.startswith("Trace ") for line in log.splitlines())

    run, skip = ([str(driver), "bench", "bs22", "8", "8", "256", s] for s in ("0", "1"))
    net = count_instructions(run) - count_instructions(skip)
    assert net > 0
    assert net == singlestep(run) - singlestep(skip)

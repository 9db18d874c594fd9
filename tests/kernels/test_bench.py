"""The kernel benchmark: host smoke run, the qemu table/JSON at a tiny shape, and the
instruction-counting method."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from quanttheory.bench import kernels as bench
from quanttheory.kernels.qemu import count_instructions


def test_host_bench_smoke(capsys):
    assert bench.main(["--size", "64", "--repeats", "1", "--no-qemu"]) == 0
    out = capsys.readouterr().out
    assert "numpy float32 a @ w.T" in out and "binary ±1 (xor-popcount)" in out and "int8 SDOT" in out
    assert "BLAS pinned to 1 thread" in out


def test_shape_argument():
    assert bench._shape("64x32x129") == (64, 32, 129)
    with pytest.raises(Exception, match="MxNxK"):
        bench._shape("64x0x1")


@pytest.mark.qemu
@pytest.mark.slow
def test_qemu_bench_json(driver, tmp_path, capsys):
    path = tmp_path / "bench.json"
    assert bench.main(["--no-host", "--shapes", "8x8x128", "--kernels", "bgemm", "bs22", "--json", str(path)]) == 0
    rows = json.loads(path.read_text())["qemu"]
    names = {r["kernel"] for r in rows}
    assert names == {"bgemm", "bs22", "sdot", "gemmlowp_default", "gemmlowp_lhsnonzero", "gemmlowp_dotprod"}
    sdot = next(r for r in rows if r["kernel"] == "sdot")
    assert sdot["vs_sdot"] == 1.0 and all(r["instructions"] > 0 for r in rows)
    best = min(r["instructions"] for r in rows if r["kernel"].startswith("gemmlowp"))
    assert all(r["vs_gemmlowp_best"] == best / r["instructions"] for r in rows)
    assert "vs best gemmlowp" in capsys.readouterr().out


@pytest.mark.qemu
def test_block_weighted_count_matches_singlestep(driver):
    # the spec's recipe (one log line per executed instruction) vs our block-weighted count:
    # the net counts (run minus start-up run) must agree exactly
    def singlestep(cmd):  # the same guest set-up as count_instructions: empty env, argv[0] = base name
        exe = Path(cmd[0])
        log = subprocess.run(["qemu-aarch64", "-0", exe.name, "-singlestep", "-d", "exec,nochain",
                              f"./{exe.name}", *cmd[1:]], cwd=exe.parent, env={},
                             capture_output=True, text=True, check=True).stderr
        return sum(line.startswith("Trace ") for line in log.splitlines())

    run, skip = ([str(driver), "bench", "bs22", "8", "8", "256", s] for s in ("0", "1"))
    net = count_instructions(run) - count_instructions(skip)
    assert net > 0
    assert net == singlestep(run) - singlestep(skip)


@pytest.mark.qemu
def test_count_does_not_depend_on_the_callers_environment_or_path(driver, tmp_path, monkeypatch):
    """With the caller's environment passed to the guest, one more variable moved a kernel's net
    count by up to ±110 instructions (stack alignment of the driver's buffers), so
    kernels-apot-shiftadd differed between machines; the guest now gets a fixed set-up."""
    deep = tmp_path / ("a_long_directory_name_" * 5)
    deep.mkdir()
    moved = deep / driver.name
    shutil.copy(driver, moved)

    def net(exe):
        run, skip = ([str(exe), "bench", "shiftadd", "8", "8", "128", s] for s in ("0", "1"))
        return count_instructions(run) - count_instructions(skip)
    base = net(driver)
    for pad in (1, 7, 100):
        monkeypatch.setenv("QT_PAD", "x" * pad)
        assert net(driver) == base, pad
    assert net(moved) == base

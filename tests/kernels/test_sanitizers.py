"""The C sources built for the host with AddressSanitizer + UndefinedBehaviorSanitizer
(-fno-sanitize-recover: any report aborts), running every equivalence case and every bench
kernel through the driver. Slow (a separate -O1 build); runs in CI."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from quanttheory.kernels.qemu import C_SOURCES, SOURCE_DIR, run_cases

from .cases import all_cases

pytestmark = [pytest.mark.slow, pytest.mark.sanitizers]

BENCH_KERNELS = ("binary_v1", "bgemm", "bgemm_bits", "bgemm_float", "bs11", "bs22", "bs44", "narrow2_8",
                 "narrow2_16", "narrow4_16", "codebook", "sdot", "codebook_sdot", "shiftadd", "f32_naive",
                 "f32_neon")


def _simde_include() -> str:
    try:
        import simde_py

        candidates = [simde_py.get_include(), "/usr/include"]
    except ImportError:
        candidates = ["/usr/include"]
    for inc in candidates:
        if (Path(inc) / "simde" / "arm" / "neon.h").is_file():
            return inc
    pytest.skip("SIMDe headers missing: install simde-py or Debian libsimde-dev")


@pytest.fixture(scope="module")
def asan_driver(tmp_path_factory):
    if shutil.which("gcc") is None or not SOURCE_DIR.is_dir():
        pytest.skip("needs gcc and the kernels/ source tree")
    exe = tmp_path_factory.mktemp("asan") / "driver"
    cmd = ["gcc", "-O1", "-g", "-std=c11", "-march=x86-64-v2", "-ffp-contract=off",
           "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer",
           f"-I{_simde_include()}", f"-I{SOURCE_DIR}", "-o", str(exe), *(str(SOURCE_DIR / s) for s in C_SOURCES)]
    try:
        subprocess.run(cmd, check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as err:
        pytest.fail(f"sanitizer build failed:\n{err.stderr[-3000:]}")
    return exe


def test_sanitized_cases_exact(asan_driver, tmp_path):
    cases = list(all_cases())
    results = run_cases(asan_driver, [c for c, _ in cases], tmp_path, runner=())
    for (case, expected), (simd, twin) in zip(cases, results, strict=True):
        assert np.array_equal(simd, expected), (case.kind, case.params.get("k"), case.a.shape)
        assert np.array_equal(twin, expected), (case.kind, case.params.get("k"), case.a.shape)


@pytest.mark.parametrize("shape", [("9", "5", "129"), ("16", "8", "300")])
def test_sanitized_bench_paths(asan_driver, shape):
    for name in BENCH_KERNELS:
        out = subprocess.run([str(asan_driver), "bench", name, *shape, "0"], capture_output=True, text=True)
        if name == "f32_neon" and int(shape[0]) % 8:  # 8 x 8 tiles only: refused, not overrun
            assert out.returncode == 3 and "multiples of 8" in out.stderr
            continue
        assert out.returncode == 0 and "checksum" in out.stdout, (name, out.stderr[-2000:])

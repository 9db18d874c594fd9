"""The same C source built for AArch64 (real arm_neon.h) and run under qemu-aarch64.

All cases of cases.py plus the deliberately unsafe flush = limit + 1 calls go through ONE
driver invocation; NEON and scalar-twin outputs must equal int64 numpy *and* the host build,
bit for bit (including the wrapped results of the unsafe calls). Skips, naming the missing
Debian packages, when the toolchain is absent — unless QT_REQUIRE_QEMU=1 (CI), where a
missing toolchain fails.
"""

import subprocess

import numpy as np
import pytest

from quanttheory import kernels as qk
from quanttheory.kernels._lib import _fn
from quanttheory.kernels.qemu import Case, call, run_cases

from .cases import all_cases

pytestmark = pytest.mark.qemu


def _unsafe_cases():
    """flush = limit + 1 with worst-case codes: wraps; host raw call gives the reference."""
    for bits in (2, 4):
        for lane in (8, 16):
            limit = qk.narrow_flush_limit(bits, symmetric=False, lane=lane)
            a = np.full((1, 16 * (limit + 1)), -(2 ** (bits - 1)), dtype=np.int8)
            params = {"bits": bits, "symmetric": False, "lane": lane, "flush": limit + 1}
            out = np.zeros((1, 1), dtype=np.int32)
            _fn("narrow_gemm", False)(a.ctypes.data, a.ctypes.data, 1, 1, a.shape[1], lane, limit + 1,
                                         out.ctypes.data)
            yield Case("narrow", a, a.copy(), params), out


def test_aarch64_equals_numpy_and_host(driver, tmp_path):
    cases = list(all_cases())
    results = run_cases(driver, [c for c, _ in cases], tmp_path)
    for (case, expected), (neon, twin) in zip(cases, results, strict=True):
        host = call(case)
        assert np.array_equal(neon, expected), (case.kind, case.params, case.a.shape)
        assert np.array_equal(twin, expected), (case.kind, case.params, case.a.shape)
        assert np.array_equal(neon, host)


def test_aarch64_unsafe_flush_wraps_like_host(driver, tmp_path):
    cases = list(_unsafe_cases())
    results = run_cases(driver, [c for c, _ in cases], tmp_path)
    for (case, host), (neon, twin) in zip(cases, results, strict=True):
        exact = case.a.shape[1] * int(case.a[0, 0]) ** 2
        assert neon[0, 0] == twin[0, 0] == host[0, 0] != exact, case.params


def test_driver_reports_its_backend(driver):
    out = subprocess.run(["qemu-aarch64", str(driver), "bench", "bgemm", "4", "4", "128", "0"],
                         capture_output=True, text=True, check=True).stdout
    assert out.startswith("neon bgemm")

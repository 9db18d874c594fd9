"""``quanttheory bench kernels``: the bit-packed kernels against float32 and int8 baselines.

(a) x86 (the host build, SIMDe): wall time of each kernel vs numpy float32 ``a @ w.T`` on the
    same shape, in the same run (min of ``--repeats`` after one warm-up); reported as a ratio.
(b) AArch64 under qemu-aarch64: dynamically executed instructions of each kernel and of two
    baselines built and counted the same way — a float32 GEMM (gcc -O3, auto-vectorised) and
    gemmlowp's uint8 GEMM — minus a start-up baseline (the same binary and arguments with the
    GEMM call skipped), as MACs per executed instruction. Instruction counts are a proxy for
    cycles (deterministic, load-independent), not a timing.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from .. import kernels as qk
from ..kernels import packing as pk
from ..kernels.qemu import SOURCE_DIR, build_driver, count_instructions, missing_tools
from . import best_time

QEMU_KERNELS = {  # driver name → description
    "binary": "binary ±1 (xor-popcount, 4x4 blocked)",
    "bs11": "bit-serial 1x1-bit", "bs22": "bit-serial 2x2-bit", "bs44": "bit-serial 4x4-bit",
    "narrow2_8": "DSQ narrow 2-bit, int8 lanes (flush 31)",
    "narrow2_16": "DSQ narrow 2-bit, int16 lanes (flush 8191)",
    "narrow4_16": "DSQ narrow 4-bit, int16 lanes (flush 511)",
    "codebook": "codebook 4-bit (TBL decode)",
    "f32": "baseline: float32 GEMM, gcc -O3",
}




def _host_calls(n: int, rng: np.random.Generator) -> dict:
    signs = [rng.choice(np.array([-1, 1], np.int8), size=(n, n)) for _ in range(2)]
    ps = [pk.pack_signs(s) for s in signs]
    planes = [pk.pack_bitplanes(rng.integers(0, 4, (n, n)), 2) for _ in range(2)]
    codes = [rng.integers(-2, 2, (n, n)).astype(np.int8) for _ in range(2)]
    idx = [rng.integers(0, 16, (n, n)).astype(np.uint8) for _ in range(2)]
    table = np.arange(-8, 8, dtype=np.int8)
    return {
        "binary ±1 (xor-popcount)": lambda: qk.binary_gemm(ps[0], ps[1], n),
        "bit-serial 2x2-bit": lambda: qk.bitserial_gemm(planes[0], planes[1]),
        "DSQ narrow 2-bit, int8 lanes": lambda: qk.narrow_gemm(*codes, bits=2, symmetric=False, lane=8),
        "DSQ narrow 2-bit, int16 lanes": lambda: qk.narrow_gemm(*codes, bits=2, symmetric=False, lane=16),
        "codebook 4-bit (TBL)": lambda: qk.codebook_gemm(idx[0], idx[1], table, table),
    }


def bench_host(n: int, repeats: int, seed: int = 0) -> list[tuple[str, float, float]]:
    """(kernel, seconds, numpy-float32 seconds / kernel seconds) at M = N = K = n."""
    rng = np.random.default_rng(seed)
    a, w = rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)
    t_ref = best_time(lambda: a @ w.T, repeats)
    rows = [("numpy float32 a @ w.T", t_ref, 1.0)]
    for name, fn in _host_calls(n, rng).items():
        t = best_time(fn, repeats)
        rows.append((name, t, t_ref / t))
    return rows


def _build_gemmlowp(outdir: Path) -> Path:
    exe = outdir / "bench_gemmlowp"
    subprocess.run(["aarch64-linux-gnu-g++", "-O3", "-std=c++14", "-static", "-I/usr/include/gemmlowp",
                    "-o", str(exe), str(SOURCE_DIR / "bench_gemmlowp.cc"), "-lpthread"],
                   check=True, capture_output=True, text=True)
    return exe


def bench_qemu(m: int, n: int, k: int, outdir: Path) -> list[tuple[str, int, float]]:
    """(kernel, executed instructions net of start-up, MACs per instruction) under qemu."""
    driver, gemmlowp = build_driver(outdir), _build_gemmlowp(outdir)
    shape = [str(m), str(n), str(k)]
    rows = []
    for name, desc in QEMU_KERNELS.items():
        run, skip = ([str(driver), "bench", name, *shape, s] for s in ("0", "1"))
        net = count_instructions(run) - count_instructions(skip)
        rows.append((desc, net, m * n * k / net))
    net = count_instructions([str(gemmlowp), *shape, "0"]) - count_instructions([str(gemmlowp), *shape, "1"])
    rows.append(("baseline: gemmlowp uint8 GEMM", net, m * n * k / net))
    return rows


def _table(header, rows, fmt) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(f.format(v) for f, v in zip(fmt, r, strict=True)) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print markdown tables; returns a process exit code."""
    p = argparse.ArgumentParser(prog="quanttheory bench kernels", description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, default=1024, help="x86: M = N = K (default 1024)")
    p.add_argument("--repeats", type=int, default=5, help="x86: timed repeats after a warm-up")
    p.add_argument("--qemu-shape", type=int, nargs=3, default=(64, 64, 1024), metavar=("M", "N", "K"))
    p.add_argument("--no-host", action="store_true")
    p.add_argument("--no-qemu", action="store_true")
    args = p.parse_args(argv)
    if not args.no_host:
        rows = bench_host(args.size, args.repeats)
        print(f"## x86 host build ({qk.backend()}), M = N = K = {args.size}, min of {args.repeats}\n")
        print(_table(["kernel", "time (ms)", "speed-up vs numpy float32"],
                     [(r[0], 1e3 * r[1], r[2]) for r in rows], ["{}", "{:.2f}", "{:.2f}x"]))
    if not args.no_qemu:
        missing = missing_tools(("aarch64-linux-gnu-gcc", "aarch64-linux-gnu-g++", "qemu-aarch64"))
        if missing or not SOURCE_DIR.is_dir():
            print(f"\nqemu benchmark skipped: install Debian packages {' '.join(missing)} "
                  f"(and libgemmlowp-dev), from a source checkout")
            return 0 if not args.no_host else 1
        m, n, k = args.qemu_shape
        with tempfile.TemporaryDirectory() as tmp:
            counts = bench_qemu(m, n, k, Path(tmp))
        gl = counts[-1][1]
        print(f"\n## AArch64 under qemu, M x N x K = {m} x {n} x {k}: executed instructions "
              "(a proxy for cycles), net of start-up\n")
        print(_table(["kernel", "instructions", "MACs / instruction", "gemmlowp instr. / kernel instr."],
                     [(r[0], r[1], r[2], gl / r[1]) for r in counts], ["{}", "{:,}", "{:.2f}", "{:.2f}"]))
    return 0

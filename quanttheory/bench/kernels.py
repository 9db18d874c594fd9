"""``quanttheory bench kernels``: the low-bit kernels against the strongest baselines.

(a) AArch64 under qemu-aarch64 (the metric that matters): dynamically executed instructions
    of each kernel and of baselines built and counted the same way, net of a start-up run
    (same binary, GEMM call skipped), reported as MACs per instruction and as ratios to the
    SDOT int8 kernel and to the best of three gemmlowp configurations. Activation packing
    (sign bits, bit planes, zero-padded or decoded int8 rows, float panels) is done in C
    inside the counted region for our kernels, as gemmlowp packs inside its call. Instruction
    counts are a proxy for cycles (deterministic, load-independent), not a timing; an LDP or
    multi-register load counts as one instruction.
(b) x86 host build (SIMDe): wall time vs numpy float32 ``a @ w.T`` in the same run, with BLAS
    pinned to one thread (threadpoolctl), min of ``--repeats``. SIMDe emulates NEON, so these
    ratios say nothing about ARM.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from .. import kernels as qk
from ..kernels import packing as pk
from ..kernels.qemu import SOURCE_DIR, build_driver, count_instructions, missing_tools
from . import best_time

#: driver kernel → (description, what the count includes besides the GEMM)
QEMU_KERNELS = {
    "bgemm": ("binary ±1, 8×4 ADDP tiles, int32 out", "sign packing of int8 activations"),
    "bgemm_bits": ("binary ±1, 8×4, fused bit-packed out", "none (input: previous layer's bits)"),
    "bgemm_float": ("binary ±1, 8×4, fused scale·dot+bias, clamp", "none (pre-packed)"),
    "binary_v1": ("binary ±1, previous 4×4 UADDLV kernel", "none (pre-packed)"),
    "bs11": ("bit-serial W1A1", "bit-plane packing"),
    "bs22": ("bit-serial W2A2", "bit-plane packing"),
    "bs44": ("bit-serial W4A4", "bit-plane packing"),
    "narrow2_8": ("DSQ narrow 2-bit, int8 lanes (flush 31)", "none (byte codes)"),
    "narrow2_16": ("DSQ narrow 2-bit, int16 lanes", "none (byte codes)"),
    "narrow4_16": ("DSQ narrow 4-bit, int16 lanes", "none (byte codes)"),
    "codebook": ("codebook 4-bit, TBL + SMLAL", "none (indices)"),
    "codebook_sdot": ("codebook 4-bit, decode once + SDOT", "TBL decode of activations"),
    "shiftadd": ("APoT W4A4 shift-add (SSHL, no multiply)", "none (codes; weights pre-decomposed)"),
    "sdot": ("baseline: int8 SDOT 4×4 (also narrow codes)", "zero-padded int8 rows"),
    "f32_neon": ("baseline: float32 NEON 8×8 FMLA", "activation panel packing"),
    "f32_naive": ("baseline: float32 naive i-k-j, gcc -O3", "none"),
}
#: gemmlowp configuration → (binary, MODE argument)
GEMMLOWP = {
    "gemmlowp_default": ("plain", "default"),
    "gemmlowp_lhsnonzero": ("plain", "lhsnonzero"),
    "gemmlowp_dotprod": ("dotprod", "default"),
}
DESCRIPTIONS = {**{k: v[0] for k, v in QEMU_KERNELS.items()},
                "gemmlowp_default": "baseline: gemmlowp DefaultL8R8 (NEON 12x8 depth 2)",
                "gemmlowp_lhsnonzero": "baseline: gemmlowp L8R8WithLhsNonzero (ARMv8.0)",
                "gemmlowp_dotprod": "baseline: gemmlowp dot-product kernel (ARMv8.2)"}
SHAPES = ((64, 64, 1024), (256, 256, 1024), (64, 64, 129), (16, 16, 16384))
#: the naive float loop costs ~100 M instructions at 256²×1024; counted at the first shape only
NAIVE_MAX_MACS = 2**23


def _build_gemmlowp(outdir: Path) -> dict[str, Path]:
    exes = {}
    for variant, extra in (("plain", []), ("dotprod", ["-march=armv8.2-a+dotprod", "-DGEMMLOWP_DOTPROD_KERNEL"])):
        exe = outdir / f"bench_gemmlowp_{variant}"
        subprocess.run(["aarch64-linux-gnu-g++", "-O3", "-std=c++14", "-static", "-I/usr/include/gemmlowp", *extra,
                        "-o", str(exe), str(SOURCE_DIR / "bench_gemmlowp.cc"), "-lpthread"],
                       check=True, capture_output=True, text=True)
        exes[variant] = exe
    return exes


def _net(prefix: list[str], shape) -> int:
    run, skip = ([*prefix, *map(str, shape), s] for s in ("0", "1"))
    return count_instructions(run) - count_instructions(skip)


def bench_qemu(shapes, outdir: Path, kernels=None) -> list[dict]:
    """One row per (kernel, shape): executed instructions net of start-up, MACs/instruction,
    and the instruction ratios ``vs_sdot`` = SDOT / kernel and ``vs_gemmlowp_best``."""
    driver, gl = build_driver(outdir), _build_gemmlowp(outdir)
    names = list(kernels or QEMU_KERNELS)
    rows = []
    for shape in shapes:
        macs = int(np.prod(shape))
        counts = {name: _net([str(gl[b]), mode], shape) for name, (b, mode) in GEMMLOWP.items()}
        for name in dict.fromkeys(["sdot", *names]):
            if name == "f32_naive" and macs > NAIVE_MAX_MACS:
                continue
            if name == "f32_neon" and (shape[0] % 8 or shape[1] % 8):
                continue
            counts[name] = _net([str(driver), "bench", name], shape)
        best_gl = min(counts[g] for g in GEMMLOWP)
        for name, n in counts.items():
            rows.append({"kernel": name, "description": DESCRIPTIONS[name],
                         "packing": QEMU_KERNELS.get(name, ("", "inside gemmlowp (both operands)"))[1],
                         "M": shape[0], "N": shape[1], "K": shape[2], "instructions": n,
                         "macs_per_instruction": macs / n, "vs_sdot": counts["sdot"] / n,
                         "vs_gemmlowp_best": best_gl / n})
    return rows


def _host_calls(n: int, rng: np.random.Generator) -> dict:
    signs = [rng.choice(np.array([-1, 1], np.int8), size=(n, n)) for _ in range(2)]
    ps = [pk.pack_signs(s) for s in signs]
    planes = [pk.pack_bitplanes(rng.integers(0, 4, (n, n)), 2) for _ in range(2)]
    codes = [rng.integers(-2, 2, (n, n)).astype(np.int8) for _ in range(2)]
    i8 = [rng.integers(-128, 128, (n, n)).astype(np.int8) for _ in range(2)]
    idx = [rng.integers(0, 16, (n, n)).astype(np.uint8) for _ in range(2)]
    table = np.arange(-8, 8, dtype=np.int8)
    return {
        "binary ±1 (xor-popcount)": lambda: qk.binary_gemm(ps[0], ps[1], n),
        "bit-serial 2x2-bit": lambda: qk.bitserial_gemm(planes[0], planes[1]),
        "DSQ narrow 2-bit, int8 lanes": lambda: qk.narrow_gemm(*codes, bits=2, symmetric=False, lane=8),
        "DSQ narrow 2-bit, int16 lanes": lambda: qk.narrow_gemm(*codes, bits=2, symmetric=False, lane=16),
        "codebook 4-bit (TBL)": lambda: qk.codebook_gemm(idx[0], idx[1], table, table),
        "int8 SDOT": lambda: qk.int8_gemm(i8[0], i8[1]),
    }


def bench_host(n: int, repeats: int, seed: int = 0) -> tuple[list[tuple[str, float, float]], str]:
    """(kernel, seconds, numpy-float32 seconds / kernel seconds) at M = N = K = n, and a note
    on BLAS threading (pinned to 1 thread when threadpoolctl is available)."""
    rng = np.random.default_rng(seed)
    a, w = rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)
    try:
        from threadpoolctl import threadpool_limits

        limit, note = threadpool_limits(limits=1, user_api="blas"), "BLAS pinned to 1 thread (threadpoolctl)"
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        limit, note = None, "BLAS threads NOT pinned (install threadpoolctl): ratios may be distorted"
    try:
        t_ref = best_time(lambda: a @ w.T, repeats)
        rows = [("numpy float32 a @ w.T", t_ref, 1.0)]
        for name, fn in _host_calls(n, rng).items():
            t = best_time(fn, repeats)
            rows.append((name, t, t_ref / t))
    finally:
        if limit is not None:
            limit.restore_original_limits()
    return rows, note


def _table(header, rows, fmt) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(f.format(v) for f, v in zip(fmt, r, strict=True)) + " |" for r in rows]
    return "\n".join(lines)


def qemu_markdown(rows: list[dict]) -> str:
    """Markdown tables of :func:`bench_qemu` rows, one per shape."""
    out = []
    for shape in dict.fromkeys((r["M"], r["N"], r["K"]) for r in rows):
        sel = [r for r in rows if (r["M"], r["N"], r["K"]) == shape]
        out.append(f"\n### AArch64 (qemu), M×N×K = {shape[0]}×{shape[1]}×{shape[2]}: executed instructions "
                   "(a proxy for cycles), net of start-up, packing included\n")
        out.append(_table(["kernel", "packing counted", "instructions", "MACs/instr", "vs SDOT int8",
                           "vs best gemmlowp"],
                          [(r["description"], r["packing"], r["instructions"], r["macs_per_instruction"],
                            r["vs_sdot"], r["vs_gemmlowp_best"]) for r in sel],
                          ["{}", "{}", "{:,}", "{:.2f}", "{:.2f}×", "{:.2f}×"]))
    return "\n".join(out)


def _shape(text: str) -> tuple[int, int, int]:
    parts = text.lower().split("x")
    if len(parts) != 3 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(f"shape must be MxNxK with positive integers; got {text!r}")
    return int(parts[0]), int(parts[1]), int(parts[2])


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print markdown tables (or JSON); returns a process exit code."""
    p = argparse.ArgumentParser(prog="quanttheory bench kernels", description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, default=1024, help="x86: M = N = K (default 1024)")
    p.add_argument("--repeats", type=int, default=5, help="x86: timed repeats after a warm-up")
    p.add_argument("--shapes", type=_shape, nargs="+", default=list(SHAPES), metavar="MxNxK",
                   help="qemu shapes (default: 64x64x1024 256x256x1024 64x64x129 16x16x16384)")
    p.add_argument("--kernels", nargs="+", choices=list(QEMU_KERNELS), help="qemu: a subset of our kernels")
    p.add_argument("--json", metavar="PATH", help="also write all rows as JSON to PATH ('-' = stdout only)")
    p.add_argument("--no-host", action="store_true")
    p.add_argument("--no-qemu", action="store_true")
    args = p.parse_args(argv)
    result: dict = {"backend": qk.backend()}
    if not args.no_host:
        rows, note = bench_host(args.size, args.repeats)
        result["host"] = [{"kernel": r[0], "seconds": r[1], "speedup_vs_numpy_f32": r[2]} for r in rows]
        if args.json != "-":
            print(f"## x86 host build ({qk.backend()}), M = N = K = {args.size}, min of {args.repeats}; {note}\n")
            print(_table(["kernel", "time (ms)", "speed-up vs numpy float32"],
                         [(r[0], 1e3 * r[1], r[2]) for r in rows], ["{}", "{:.2f}", "{:.2f}x"]))
    if not args.no_qemu:
        missing = missing_tools(("aarch64-linux-gnu-gcc", "aarch64-linux-gnu-g++", "qemu-aarch64"))
        if missing or not SOURCE_DIR.is_dir():
            print(f"\nqemu benchmark skipped: install Debian packages {' '.join(missing)} "
                  f"(and libgemmlowp-dev), from a source checkout")
            return 0 if not args.no_host else 1
        with tempfile.TemporaryDirectory() as tmp:
            result["qemu"] = bench_qemu(args.shapes, Path(tmp), args.kernels)
        if args.json != "-":
            print(qemu_markdown(result["qemu"]))
    if args.json:
        text = json.dumps(result, indent=1)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n")
    return 0

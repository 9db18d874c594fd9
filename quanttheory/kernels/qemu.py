"""Running the kernels' C source as AArch64 under qemu-aarch64 (tests and benchmarks).

The same ``kernels/*.c`` is cross-compiled with ``aarch64-linux-gnu-gcc`` (real ``arm_neon.h``)
into ``kernels/driver.c``, which runs a batch of cases read from one file, so that many
equivalence cases cost one qemu start-up. Needs the source tree (``kernels/`` next to the
package) and the Debian packages in :data:`DEBIAN_PACKAGES`.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .. import kernels as qk
from ._lib import _fn
from .apot import shift_pack, shiftadd_gemm
from .packing import unpack_signs

SOURCE_DIR = Path(__file__).resolve().parents[2] / "kernels"
C_SOURCES = ("driver.c", "qt_popcount.c", "qt_bytes.c", "qt_scalar.c", "qt_binary.c", "qt_sdot.c",
             "qt_pack.c", "qt_baselines.c", "qt_shiftadd.c")
#: the SDOT kernels (and only they) are built for ARMv8.2-A with the dot-product extension
SOURCE_FLAGS = {"qt_sdot.c": ["-march=armv8.2-a+dotprod"]}
DEBIAN_PACKAGES = {"aarch64-linux-gnu-gcc": "gcc-aarch64-linux-gnu",
                   "aarch64-linux-gnu-g++": "g++-aarch64-linux-gnu",
                   "qemu-aarch64": "qemu-user"}
_KINDS = {"binary_v1": 1, "bitserial": 2, "narrow": 3, "codebook": 4, "binary": 5, "sdot": 6, "shiftadd": 7}


class Case(NamedTuple):
    """One kernel call: ``kind`` in binary/binary_v1/bitserial/narrow/codebook/sdot, its operands
    as passed to :mod:`quanttheory.kernels`, and ``params`` (k and, for binary, the output
    ``mode`` 0 int32 / 1 float (scale, bias, lo, hi) / 2 bits (thr, sign); lane, flush;
    table_a, table_w). ``binary`` is the 8×4 ADDP kernel the binding uses, ``binary_v1`` the
    earlier 4×4 UADDLV kernel kept as a benchmark reference."""

    kind: str
    a: np.ndarray
    w: np.ndarray
    params: dict


def missing_tools(tools=("aarch64-linux-gnu-gcc", "qemu-aarch64")) -> list[str]:
    """Debian packages whose tools are missing from PATH (empty when all are there)."""
    return [DEBIAN_PACKAGES[t] for t in tools if shutil.which(t) is None]


def build_driver(outdir: Path) -> Path:
    """Cross-compile the driver (static, -O3) into ``outdir``; returns the executable."""
    outdir.mkdir(parents=True, exist_ok=True)
    exe = outdir / "driver"
    objs = []
    for src in C_SOURCES:
        # -ffp-contract=off as in setup.py: the fused float epilogue and its scalar twin round
        # alike (the float32 baselines use explicit FMLA intrinsics or the naive loop)
        obj = outdir / (src + ".o")
        flags = ["-O3", "-std=c11", "-ffp-contract=off", *SOURCE_FLAGS.get(src, [])]
        subprocess.run(["aarch64-linux-gnu-gcc", *flags, "-c", "-o", str(obj), str(SOURCE_DIR / src)],
                       check=True, capture_output=True, text=True)
        objs.append(str(obj))
    subprocess.run(["aarch64-linux-gnu-gcc", "-static", "-o", str(exe), *objs], check=True, capture_output=True,
                   text=True)
    return exe


def call(case: Case, *, scalar: bool = False) -> np.ndarray:
    """Run one case through the host build (:mod:`quanttheory.kernels`)."""
    p = case.params
    if case.kind == "binary":
        return _call_binary(case, scalar)
    if case.kind == "binary_v1":
        out = np.zeros((case.a.shape[0], case.w.shape[0]), np.int32)
        _fn("binary_gemm", scalar)(case.a.ctypes.data, case.w.ctypes.data, case.a.shape[0], case.w.shape[0],
                                   p["k"], case.a.shape[1], out.ctypes.data)
        return out
    if case.kind == "sdot":
        return qk.int8_gemm(case.a, case.w, scalar=scalar)
    if case.kind == "shiftadd":
        return shiftadd_gemm(case.a, shift_pack(case.w, p["table"]), bits_a=p["bits_a"], scalar=scalar)
    if case.kind == "bitserial":
        return qk.bitserial_gemm(case.a, case.w, scalar=scalar)
    if case.kind == "narrow":
        return qk.narrow_gemm(case.a, case.w, bits=p["bits"], symmetric=p["symmetric"],
                              lane=p["lane"], flush=p.get("flush"), scalar=scalar)
    return qk.codebook_gemm(case.a, case.w, p["table_a"], p["table_w"], scalar=scalar)


def _call_binary(case: Case, scalar: bool) -> np.ndarray:
    p = case.params
    mode = p.get("mode", 0)
    if mode == 0:
        return qk.binary_gemm(case.a, case.w, p["k"], scalar=scalar)
    if mode == 1:
        return qk.binary_gemm_float(case.a, case.w, p["k"], p["scale"], p["bias"], lo=p["lo"], hi=p["hi"],
                                    scalar=scalar)
    bits = qk.binary_gemm_bits(case.a, case.w, p["k"], p["thr"], p["sign"], scalar=scalar)
    return (unpack_signs(bits, case.w.shape[0]) < 0).astype(np.int32)  # bit 1 ⇔ −1 ⇔ 1 here


def _binary_extra(case: Case) -> bytes:
    """Per-channel payload of a ``binary`` record: scale, bias, lo, hi, sign, thr (padded to 4)."""
    p, n = case.params, case.w.shape[0]
    n4 = -(-n // 4) * 4
    f = np.zeros(2 * n4 + 2, np.float32)
    i = np.zeros(2 * n4, np.int32)
    if p.get("mode", 0) == 1:
        f[:n], f[n4:n4 + n] = np.broadcast_to(p["scale"], (n,)), np.broadcast_to(p["bias"], (n,))
        f[2 * n4:] = p["lo"], p["hi"]
    if p.get("mode", 0) == 2:
        i[:n], i[n4:n4 + n] = np.broadcast_to(p["sign"], (n,)), np.broadcast_to(p["thr"], (n,))
    return f.tobytes() + i.tobytes()


def _record(case: Case) -> bytes:
    p, a, w = case.params, case.a, case.w
    if case.kind in ("binary", "binary_v1"):
        m, n, k, extra = a.shape[0], w.shape[0], p["k"], (a.shape[1], p.get("mode", 0), 0)
    elif case.kind == "sdot":
        m, n, k, extra = a.shape[0], w.shape[0], a.shape[1], (a.shape[1], 0, 0)
    elif case.kind == "shiftadd":
        m, n, k, extra = a.shape[0], w.shape[0], a.shape[1], (0, 0, 0)
        sp = shift_pack(w, p["table"])
        w = np.concatenate([sp["e1"].ravel(), sp["e2"].ravel(), sp["sg"].ravel()]).view(np.uint8)
        w = np.concatenate([w, sp["negc"].view(np.uint8)])
    elif case.kind == "bitserial":
        m, n, k, extra = a.shape[1], w.shape[1], 8 * a.shape[2], (a.shape[2], a.shape[0], w.shape[0])
    elif case.kind == "narrow":
        flush = p.get("flush") or qk.narrow_flush_limit(p["bits"], symmetric=p["symmetric"], lane=p["lane"])
        m, n, k, extra = a.shape[0], w.shape[0], a.shape[1], (p["lane"], flush, 0)
    else:
        flush = qk.codebook_flush_limit(p["table_a"], p["table_w"])
        m, n, k, extra = a.shape[0], w.shape[0], a.shape[1], (flush, 0, 0)
    hdr = np.array([_KINDS[case.kind], m, n, k, *extra, 0], dtype=np.int64)
    parts = [hdr.tobytes(), a.tobytes(), w.tobytes()]
    if case.kind == "codebook":
        parts += [np.pad(p[t], (0, 16 - p[t].size)).astype(np.int8).tobytes() for t in ("table_a", "table_w")]
    if case.kind == "binary":
        parts.append(_binary_extra(case))
    return b"".join(parts)


def _out_shape(case: Case) -> tuple[int, int]:
    if case.kind == "bitserial":
        return case.a.shape[1], case.w.shape[1]
    return case.a.shape[0], case.w.shape[0]


def run_cases(driver: Path, cases: list[Case], workdir: Path,
              runner: tuple[str, ...] = ("qemu-aarch64",)) -> list[tuple[np.ndarray, np.ndarray]]:
    """All cases in one ``qemu-aarch64 driver run`` (``runner=()``: a host-built driver, e.g.
    the sanitizer build): per case (NEON/SIMDe output, scalar-twin output)."""
    src, dst = workdir / "cases.bin", workdir / "outputs.bin"
    src.write_bytes(b"".join(_record(c) for c in cases))
    subprocess.run([*runner, str(driver), "run", str(src), str(dst)], check=True,
                   capture_output=True, text=True, timeout=1200)
    flat = np.fromfile(dst, dtype=np.int32)
    results, pos = [], 0
    for c in cases:
        m, n = _out_shape(c)
        pair = (flat[pos:pos + m * n].reshape(m, n), flat[pos + m * n:pos + 2 * m * n].reshape(m, n))
        if c.kind == "binary" and c.params.get("mode", 0) == 1:
            pair = (pair[0].view(np.float32), pair[1].view(np.float32))
        results.append(pair)
        pos += 2 * m * n
    if pos != flat.size:
        raise RuntimeError(f"driver wrote {flat.size} int32 values, expected {pos}")
    return results


def count_instructions(cmd: list[str]) -> int:
    """Dynamically executed AArch64 instructions of ``cmd`` under qemu-aarch64.

    ``-d in_asm,exec,nochain`` logs every translated block (its instructions) and every block
    execution (no chaining, so none is skipped); the count is the sum over executions of the
    block's length. It equals the ``-singlestep -d exec,nochain`` line count to within a
    constant ~70 instructions of start-up (checked on the gemmlowp and binary benches; the
    constant cancels in differences) while running ~10x faster.

    The guest gets an empty environment and ``argv[0]`` = the executable's base name, run from its
    directory: the size of the environment and of the path moves the initial stack, hence the
    alignment of the driver's buffers and the instructions ``memcpy``/``memset`` execute — with the
    caller's environment, one more variable changed a kernel's net count by up to ±110
    instructions, so the same code counted differently from one machine (or shell) to the next.
    """
    exe = Path(cmd[0]).resolve()
    qemu = shutil.which("qemu-aarch64") or "qemu-aarch64"
    proc = subprocess.run([qemu, "-0", exe.name, "-d", "in_asm,exec,nochain", "-D", "/dev/stderr",
                           f"./{exe.name}", *cmd[1:]], cwd=exe.parent, env={},
                          capture_output=True, text=True, check=True, timeout=1200)
    sizes: dict[int, int] = {}
    total, start, n = 0, None, 0
    for line in proc.stderr.splitlines():
        if line.startswith("0x"):
            if start is None:
                start, n = int(line[:line.index(":")], 16), 0
            n += 1
            continue
        if start is not None:  # a block listing ended: remember its length (latest translation)
            sizes[start], start = n, None
        if line.startswith("Trace "):
            total += sizes[int(line.split("[", 1)[1].split("/")[1], 16)]
    return total

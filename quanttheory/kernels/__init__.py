r"""Bit-packed and low-bit GEMM kernels (C11 + NEON, SIMDe off ARM) and their deployment.

Every function validates its arguments in Python before a pointer reaches C (dtype,
C-contiguity, shapes, code ranges, padding bits, integer ``k`` and zero points, K limits,
flush intervals): a bad call raises ``TypeError``/``ValueError`` echoing the bad value and
listing what is valid, never a crash. Results are integer accumulators exactly equal to the
int64 numpy product of the integer operands (tests/kernels). ``scalar=True`` runs the plain-C
twin of a kernel instead.

======================  ==========================================  ============================
function                computes                                    for
======================  ==========================================  ============================
binary_gemm             K − 2·popcount(a ⊕ w) (8×4 tiles, ADDP)     binary (BinaryConnect)
binary_gemm_float       clamp(scale·dot + bias), fused              binary layer + folded BN
binary_gemm_bits        sign bits of the above, packed              binary layer → binary layer
bitserial_gemm          Σ 2^{i+j} popcount(a_i ∧ w_j)               uniform, DSQ hard, 1–4 bit
uniform_matmul          zero points; bit-serial or SDOT dispatch    uniform / QAT codes
narrow_gemm             Σ a·w in int8/int16 lanes (or SDOT)         DSQ ARM deployment, 2–4 bit
codebook_gemm           Σ T_a[a]·T_w[w], TBL decode (or SDOT)       APoT Eq. 5, QN Eq. 1
shiftadd_gemm           Σ a·(±(2^e1 + 2^e2)), shifts and adds       APoT §2 multiplier-free
int8_gemm               Σ a·w by SDOT into int32                    int8 baseline, byte codes
deploy                  a trained MLP as integer kernels            end-to-end, bit-exact
======================  ==========================================  ============================

Layouts: :mod:`quanttheory.kernels.packing` (also importable as ``quanttheory.packing``).
AArch64 under qemu: :mod:`quanttheory.kernels.qemu`.
"""

from ._lib import backend
from .apot import shift_decompose, shift_pack, shiftadd_gemm
from .binary import binary_gemm, binary_gemm_bits, binary_gemm_float, sign_thresholds
from .deploy import QATMLP, BinaryMLP, deploy
from .int8 import decode_rows, dotprod_available, int8_gemm, pack_bitplanes_c, pack_signs_c, pad_rows
from .lowbit import (
    bitserial_gemm,
    codebook_flush_limit,
    codebook_gemm,
    codebook_grid,
    narrow_flush_limit,
    narrow_gemm,
    prefer_bitserial,
    uniform_matmul,
)

__all__ = [
    "BinaryMLP", "QATMLP", "backend", "binary_gemm", "binary_gemm_bits", "binary_gemm_float", "bitserial_gemm",
    "codebook_flush_limit", "codebook_gemm", "codebook_grid", "decode_rows", "deploy", "dotprod_available",
    "int8_gemm", "narrow_flush_limit", "narrow_gemm", "pack_bitplanes_c", "pack_signs_c", "pad_rows",
    "prefer_bitserial",
    "shift_decompose", "shift_pack", "shiftadd_gemm", "sign_thresholds", "uniform_matmul",
]

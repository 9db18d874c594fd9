"""An inlined PCG64 uniform stream for numba loops, bit-identical to ``numpy.random.PCG64``.

Why: numba's ``Generator.random()`` calls the bit generator through a function pointer per
element, which makes an SR step (one uniform per parameter) about twice as slow as its
arithmetic. Here the PCG64 state (128-bit LCG, XSL-RR output, O'Neill 2014; numpy's
``pcg64.h``) lives in two uint64 locals inside the loop; the 128-bit multiply is emitted as one
LLVM ``i128`` operation. The state is read from and written back to the numpy Generator, so the
stream continues exactly as if numpy had drawn the uniforms itself (tested against numpy).

``next_double`` is numpy's: ``(next64 >> 11) · 2⁻⁵³``. Only ``numpy.random.PCG64`` (the
``default_rng`` bit generator) is supported; callers fall back to ``Generator.random()``
otherwise.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

_MULTIPLIER = 0x2360ED051FC65DA44385DF649FCCF645  # PCG_DEFAULT_MULTIPLIER_128
_MASK64 = (1 << 64) - 1


@intrinsic
def _lcg_step(typingctx, hi, lo, inc_hi, inc_lo):
    """state ← state · M + inc (mod 2¹²⁸), with the 128-bit state as (hi, lo) uint64 halves."""
    sig = types.UniTuple(types.uint64, 2)(types.uint64, types.uint64, types.uint64, types.uint64)

    def codegen(context, builder, signature, args):
        i128, i64 = ir.IntType(128), ir.IntType(64)

        def join(h, low):
            return builder.or_(builder.shl(builder.zext(h, i128), ir.Constant(i128, 64)), builder.zext(low, i128))

        state = builder.add(builder.mul(join(args[0], args[1]), ir.Constant(i128, _MULTIPLIER)),
                            join(args[2], args[3]))
        new_hi = builder.trunc(builder.lshr(state, ir.Constant(i128, 64)), i64)
        return context.make_tuple(builder, signature.return_type, (new_hi, builder.trunc(state, i64)))

    return sig, codegen


@njit(cache=True, inline="always")
def next_double(hi, lo, inc_hi, inc_lo):
    """One uniform in [0, 1) and the new state: PCG64 step, XSL-RR output, numpy's next_double."""
    hi, lo = _lcg_step(hi, lo, inc_hi, inc_lo)
    x = hi ^ lo
    rot = hi >> np.uint64(58)
    r = (x >> rot) | (x << ((np.uint64(64) - rot) & np.uint64(63)))
    # r >> 11 < 2^53 fits int64 exactly; the signed conversion is the cheap one on x86
    return np.float64(np.int64(r >> np.uint64(11))) * (1.0 / 9007199254740992.0), hi, lo


def get_state(rng):
    """(hi, lo, inc_hi, inc_lo) as uint64, or None if ``rng`` is not backed by PCG64."""
    if type(rng.bit_generator) is not np.random.PCG64:
        return None
    st = rng.bit_generator.state["state"]
    s, inc = st["state"], st["inc"]
    return (np.uint64(s >> 64), np.uint64(s & _MASK64), np.uint64(inc >> 64), np.uint64(inc & _MASK64))


def set_state(rng, hi, lo):
    """Write the advanced 128-bit state back into ``rng`` (its uint32 buffer is untouched)."""
    full = rng.bit_generator.state
    full["state"]["state"] = (int(hi) << 64) | int(lo)
    rng.bit_generator.state = full

"""numba loops for the two copies of a convolution (im2col gather, col2im scatter-add).

They mirror :func:`quanttheory.nn._conv.im2col` / :func:`~quanttheory.nn._conv.col2im` one-to-one
(same (i, j, c) column order, same summation order per output element: the kernel offsets in
row-major order), so the numba and numpy paths agree bit for bit; the tests check it. Each inner
loop copies a contiguous run of C channels, which numpy's strided 6-D reshape copy cannot.
"""

from __future__ import annotations

import numba


@numba.njit(cache=True, nogil=True)
def im2col(xp, kh, kw, stride, ho, wo, cols):  # pragma: no cover - compiled
    n, _, _, c = xp.shape
    row = 0
    for b in range(n):
        for h in range(ho):
            for w in range(wo):
                col = 0
                for i in range(kh):
                    for j in range(kw):
                        src = xp[b, h * stride + i, w * stride + j]
                        for k in range(c):
                            cols[row, col + k] = src[k]
                        col += c
                row += 1


@numba.njit(cache=True, nogil=True)
def col2im(dcols, kh, kw, stride, ho, wo, dxp):  # pragma: no cover - compiled
    n, _, _, c = dxp.shape
    # Same accumulation order as the numpy reference: offset (i, j) outermost, so every
    # element of dxp receives its terms in the order i, j = (0, 0), (0, 1), ...
    for i in range(kh):
        for j in range(kw):
            col = (i * kw + j) * c
            row = 0
            for b in range(n):
                for h in range(ho):
                    for w in range(wo):
                        dst = dxp[b, h * stride + i, w * stride + j]
                        for k in range(c):
                            dst[k] += dcols[row, col + k]
                        row += 1

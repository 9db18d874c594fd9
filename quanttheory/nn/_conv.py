r"""Convolution and pooling on channels-last tensors: numpy reference (im2col + one GEMM).

Activations are ``(N, H, W, C)`` float64 (a 1-D signal is ``H = 1``); conv weights keep the
PyTorch layout ``(C_out, C_in, kh, kw)``. A stride-``s`` convolution with zero padding ``p``

.. math::
    y_{n,h,w,o} = b_o + \sum_{i,j,c} x^{\mathrm{pad}}_{n,\,sh+i,\,sw+j,\,c}\, w_{o,c,i,j},
    \qquad H_{\mathrm{out}} = \lfloor (H + 2p_h - k_h)/s \rfloor + 1

is computed as ``cols @ W`` with ``cols[(n,h,w), (i,j,c)]`` the unfolded windows (im2col) and
``W[(i,j,c), o]``; the (i, j, c) order keeps each copied run contiguous in C. The backward pass
is ``dW = colsᵀ dY`` and, for the input, the scatter-add of ``dY Wᵀ`` back onto the windows
(col2im). ``backend="numba"`` swaps the two copies for the loops of
:mod:`quanttheory.nn._conv_numba`; the GEMMs are BLAS either way.
"""

from __future__ import annotations

import numpy as np

BACKENDS = ("numpy", "numba")


def out_size(size, kernel, stride, pad):
    """Output length ``⌊(size + 2 pad − kernel)/stride⌋ + 1`` (≥ 1, else ValueError)."""
    out = (size + 2 * pad - kernel) // stride + 1
    if out < 1:
        raise ValueError(f"input size {size} with kernel {kernel}, stride {stride}, padding {pad} "
                         "gives an empty output; valid: size + 2·padding >= kernel")
    return out


def _pad(x, ph, pw):
    if ph == 0 and pw == 0:
        return x
    n, h, w, c = x.shape
    xp = np.zeros((n, h + 2 * ph, w + 2 * pw, c))  # np.pad costs more than the copy itself here
    xp[:, ph : ph + h, pw : pw + w] = x
    return xp


def im2col(xp, kh, kw, stride, backend="numpy"):
    """Unfold padded ``xp`` (N, Hp, Wp, C) into ``cols`` (N·Ho·Wo, kh·kw·C), order (i, j, c)."""
    n, hp, wp, c = xp.shape
    ho, wo = (hp - kh) // stride + 1, (wp - kw) // stride + 1
    if backend == "numba":
        from ._conv_numba import im2col as fast
        cols = np.empty((n * ho * wo, kh * kw * c))
        fast(np.ascontiguousarray(xp), kh, kw, stride, ho, wo, cols)
        return cols
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(1, 2))  # (N, H', W', C, kh, kw)
    win = win[:, : stride * (ho - 1) + 1 : stride, : stride * (wo - 1) + 1 : stride]
    return win.transpose(0, 1, 2, 4, 5, 3).reshape(n * ho * wo, kh * kw * c)


def col2im(dcols, shape, kh, kw, stride, backend="numpy"):
    """Adjoint of :func:`im2col`: scatter-add ``dcols`` (N·Ho·Wo, kh·kw·C) onto ``shape`` (padded)."""
    n, hp, wp, c = shape
    ho, wo = (hp - kh) // stride + 1, (wp - kw) // stride + 1
    dxp = np.zeros(shape)
    if backend == "numba":
        from ._conv_numba import col2im as fast
        fast(np.ascontiguousarray(dcols), kh, kw, stride, ho, wo, dxp)
        return dxp
    d6 = dcols.reshape(n, ho, wo, kh, kw, c)
    for i in range(kh):
        for j in range(kw):
            rows, cols = slice(i, i + stride * (ho - 1) + 1, stride), slice(j, j + stride * (wo - 1) + 1, stride)
            dxp[:, rows, cols] += d6[:, :, :, i, j]
    return dxp


def conv_forward(x, w, b, stride, pad, backend="numpy"):
    """Convolution of ``x`` (N, H, W, C_in) with ``w`` (C_out, C_in, kh, kw) [+ ``b`` (C_out,)].

    Returns ``(y, cache)`` with ``y`` (N, Ho, Wo, C_out); ``cache`` feeds :func:`conv_backward`.
    """
    n, h, wd, _ = x.shape
    c_out, c_in, kh, kw = w.shape
    if x.shape[3] != c_in:
        raise ValueError(f"input has {x.shape[3]} channels but the weights expect {c_in}")
    ph, pw = pad
    ho, wo = out_size(h, kh, stride, ph), out_size(wd, kw, stride, pw)
    xp = _pad(x, ph, pw)
    cols = im2col(xp, kh, kw, stride, backend)
    wmat = w.transpose(2, 3, 1, 0).reshape(kh * kw * c_in, c_out)
    y = cols @ wmat
    if b is not None:
        y += b
    return y.reshape(n, ho, wo, c_out), (cols, wmat, xp.shape, w.shape, stride, pad, backend)


def conv_backward(dy, cache, need_dx=True):
    """Gradients ``(dx or None, dw, db)`` of :func:`conv_forward` for upstream ``dy`` (N, Ho, Wo, C_out)."""
    cols, wmat, xp_shape, w_shape, stride, (ph, pw), backend = cache
    c_out, c_in, kh, kw = w_shape
    d2 = dy.reshape(-1, c_out)
    dw = (cols.T @ d2).reshape(kh, kw, c_in, c_out).transpose(3, 2, 0, 1)
    db = d2.sum(axis=0)
    if not need_dx:
        return None, dw, db
    dxp = col2im(d2 @ wmat.T, xp_shape, kh, kw, stride, backend)
    return dxp[:, ph : xp_shape[1] - ph, pw : xp_shape[2] - pw], dw, db


def _windows(x, ph, pw):
    n, h, w, c = x.shape
    ho, wo = h // ph, w // pw
    xr = x[:, : ho * ph, : wo * pw].reshape(n, ho, ph, wo, pw, c)
    return xr.transpose(0, 1, 3, 5, 2, 4).reshape(n, ho, wo, c, ph * pw)


def pool_forward(x, size, kind):
    """Non-overlapping ``size`` = (ph, pw) max or average pooling (a ragged edge is dropped)."""
    if kind not in ("max", "avg"):
        raise ValueError(f"pool must be 'max' or 'avg'; got {kind!r}")
    win = _windows(x, *size)
    if kind == "avg":
        return win.mean(axis=-1), (x.shape, size, kind, None)
    # argmax picks the first maximum, so ties send the whole gradient to one input (exact
    # subgradient) instead of duplicating it.
    idx = win.argmax(axis=-1)[..., None]
    return np.take_along_axis(win, idx, axis=-1)[..., 0], (x.shape, size, kind, idx)


def pool_backward(dy, cache):
    """Gradient of :func:`pool_forward` w.r.t. its input."""
    shape, (ph, pw), kind, idx = cache
    n, h, w, c = shape
    ho, wo = h // ph, w // pw
    if kind == "avg":
        dwin = np.broadcast_to(dy[..., None] / (ph * pw), (*dy.shape, ph * pw))
    else:
        dwin = np.zeros((*dy.shape, ph * pw))
        np.put_along_axis(dwin, idx, dy[..., None], axis=-1)
    dx = np.zeros(shape)
    dx[:, : ho * ph, : wo * pw] = dwin.reshape(n, ho, wo, c, ph, pw).transpose(0, 1, 4, 2, 5, 3).reshape(
        n, ho * ph, wo * pw, c)
    return dx

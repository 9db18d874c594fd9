"""Core of :mod:`quanttheory.torch`: argument checks, per-channel layouts and the one
``torch.autograd.Function`` whose backward is the reference partials' vector–Jacobian product.

Imported only by :mod:`quanttheory.torch` (which checks first that torch is installed).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from .quantizers import _validate as V

F64 = torch.float64
BACKWARDS = ("soft", "ste")


# --------------------------------------------------------------------------- checks and layouts
def check_x(x) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor; got {type(x).__name__}")
    if x.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"x must be float32 or float64; got dtype {x.dtype}")
    if x.numel() and not bool(torch.isfinite(x).all()):
        bad = x[~torch.isfinite(x)].flatten()[0].item()
        raise ValueError(f"x contains a non-finite value ({bad}); quantizers need finite input")


def check_backward(backward) -> str:
    if backward not in BACKWARDS:
        raise ValueError(f"backward={backward!r} is not supported; valid: {list(BACKWARDS)}")
    return backward


def param(value, name, x, axes, trailing=0, **interval):
    """A parameter as a tensor (numbers become float64 constants), checked like the reference.

    Returns ``(tensor, layout)``; ``layout = (repeats, bshape)`` from ``param_layout`` on the
    leading dims (all but ``trailing`` ones, QN's per-step dim).
    """
    if isinstance(value, torch.Tensor):
        if value.dtype not in (torch.float32, torch.float64):
            raise TypeError(f"{name} must be a float32 or float64 tensor; got dtype {value.dtype}")
        V.check_param(value.detach().cpu().numpy(), name, **interval)
        tensor = value
    else:  # a number or array-like: a constant (no gradient), checked by the reference's rules
        tensor = torch.as_tensor(V.check_param(value, name, **interval), dtype=F64, device=x.device)
    shape = tuple(tensor.shape)
    lead = shape[: len(shape) - trailing]
    return tensor, V.param_layout(lead, tuple(x.shape), axes, name)


def expand(p, layout, trailing=0):
    """float64 copy of a parameter, repeated per group and shaped to broadcast against x."""
    repeats, bshape = layout
    p = p.detach().to(F64)
    for i, r in enumerate(repeats):
        if r != 1:
            p = p.repeat_interleave(r, dim=i)
    return p.reshape(bshape + tuple(p.shape[p.ndim - trailing:]))


def reduce(d, p, layout, x_shape, axes, trailing=0):
    """Sum ``d`` (x.shape + trailing dims) over the elements each value of ``p`` governs (the VJP
    of :func:`expand`; the torch twin of ``_validate.reduce_to_param``), in p's dtype."""
    nx = len(x_shape)
    shape = tuple(p.shape)
    lead = shape[: len(shape) - trailing]
    d = d.expand(tuple(x_shape) + tuple(d.shape[nx:]))
    if lead == ():
        out = d.sum(dim=tuple(range(nx))) if nx else d
        return out.reshape(shape).to(p.dtype)
    split, summed = V.group_split(x_shape, lead, layout[0], axes)
    d = d.reshape(split + tuple(d.shape[nx:]))
    return d.sum(dim=summed).reshape(shape).to(p.dtype)


# --------------------------------------------------------------------------- the one Function
class Quantizer(torch.autograd.Function):
    """Forward ``rule.forward(x64, *params64)``; backward the reference partials' VJP.

    ``rule`` carries the static arguments and two pure functions on float64 tensors:
    ``forward`` (the map) and ``partials(x64, q64, *params64)`` → (∂q/∂x, ∂q/∂p_1, …), each
    broadcastable to x.shape (+ a parameter's trailing dims). ``q64`` is the output after the
    cast to x's dtype, as the reference partials see it.
    """

    @staticmethod
    def forward(ctx, rule, x, *params):
        ps = [expand(p, lay, tr) for p, (lay, tr) in zip(params, rule.layouts, strict=True)]
        q = rule.forward(x.detach().to(F64), *ps)
        out = q.to(x.dtype)
        if not bool(torch.isfinite(out).all()):
            raise ValueError(f"{rule.name} output is not finite in {x.dtype} (the dtype of x); "
                             "the parameters put a level beyond that dtype's range")
        ctx.rule = rule
        ctx.save_for_backward(x, out, *params)
        return out

    @staticmethod
    @once_differentiable  # the partials are not themselves differentiated (no double backward)
    def backward(ctx, ct):
        rule = ctx.rule
        x, out, *params = ctx.saved_tensors
        ps = [expand(p, lay, tr) for p, (lay, tr) in zip(params, rule.layouts, strict=True)]
        parts = rule.partials(x.detach().to(F64), out.detach().to(F64), *ps)
        if not all(bool(torch.isfinite(d).all()) for d in parts):
            raise ValueError(f"{rule.name} partials are not finite (overflow in float64) at these "
                             "parameters; use smaller magnitudes")
        ct64 = ct.to(F64)
        grads = [None, (ct64 * parts[0]).expand(x.shape).to(x.dtype) if ctx.needs_input_grad[1] else None]
        for k, (p, (lay, tr)) in enumerate(zip(params, rule.layouts, strict=True)):
            if not ctx.needs_input_grad[2 + k]:
                grads.append(None)
                continue
            ctk = ct64.reshape(ct64.shape + (1,) * tr)
            grads.append(reduce(ctk * parts[1 + k], p, lay, tuple(x.shape), rule.axes, tr))
        return tuple(grads)


class Rule:
    """Static arguments and the float64 forward/partials of one call (see :class:`Quantizer`)."""

    def __init__(self, name, forward, partials, layouts, axes):
        self.name, self.forward, self.partials = name, forward, partials
        self.layouts, self.axes = layouts, axes


def apply(name, x, fwd, partials, params, axes):
    """``params``: list of (tensor, layout, trailing)."""
    rule = Rule(name, fwd, partials, [(lay, tr) for _, lay, tr in params], axes)
    return Quantizer.apply(rule, x, *[p for p, _, _ in params])


class Identity(torch.autograd.Function):
    """Forward a precomputed value, backward the identity (the straight-through estimator)."""

    @staticmethod
    def forward(ctx, x, q):
        return q

    @staticmethod
    def backward(ctx, ct):
        return ct, None


def check_grid(x, delta) -> float:
    """x and Δ for the rounding maps: finite x, Δ > 0, and x/Δ must not overflow (as the reference)."""
    check_x(x)
    delta = V.check_scalar(delta, "delta", low=0.0)
    if x.numel():
        V.check_grid(np.array([x.detach().abs().max().item()]), delta)
    return delta

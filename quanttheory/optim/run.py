r"""Run a rule on a problem for many independent chains and summarise the trajectory.

Per step t = 0, …, T−1 and for all chains at once, the draws come in this fixed order (so that
the numba loop, which draws element by element, reproduces them exactly):

1. ``q = rule.query(w, state, rng)``   — BC with Q_s: one uniform per element, C order;
2. ``g = problem.grad(q, rng, batch)`` — minibatch indices or Gaussian noise (see problems);
3. ``w, state = rule.update(g, state, w, rng)`` — SR: one uniform per element, C order.

Averaging window: w̄_T = (1/T) Σ_{t=0}^{T−1} w_t, the iterate *before* each of the T updates
(w_0 included, w_T excluded). This is the window of every bound in
:mod:`quanttheory.theory.bounds` (their telescoping sums run over t = 0 … T−1), so measured
gaps and bounds average the same iterates.

References
----------
.. [1] Li et al. NeurIPS 2017, arXiv:1706.02379, §3: bounds on F(w̄_T) − F* for an average of
   T iterates (for BC the float buffer w_r); the window above is ours, fixed by our derivation.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ..problems._base import check_batch, check_points, check_rng, seq_sum
from .rules import Rule


@dataclass(frozen=True)
class Trajectory:
    """Summary of :func:`run` (C chains, d parameters, R records).

    Attributes
    ----------
    steps : ndarray, shape (R,)
        Number of updates done at each record (``record_every``, 2·``record_every``, …).
    iterates, deployed : ndarray, shape (R, C, d)
        Stored iterate w_t (w_r for BC) and deployed weights (Q_d(w_r) for BC) at the records.
    average, deployed_average : ndarray, shape (C, d)
        w̄_T = (1/T) Σ_{t=0}^{T−1} w_t (module docstring), and the same mean of the deployed
        weights.
    loss_of_average, loss_of_deployed_average : ndarray, shape (C,)
        F(w̄_T) and F of the mean deployed weights.
    gap_of_average : ndarray, shape (C,), or None
        F(w̄_T) − F* when the problem knows F*.
    final, final_deployed : ndarray, shape (C, d)
        w_T and its deployed weights.
    grad_sq_mean : ndarray, shape (C,)
        (1/T) Σ_t ‖g_t‖², an estimate of G² of the theorems (E‖∇f̃‖² ≤ G²).
    loss_curve, deployed_loss_curve : ndarray, shape (R, C)
        The loss curve: F(w_t) and F(deployed weights) at each record (``steps``).
    """

    steps: np.ndarray
    iterates: np.ndarray
    deployed: np.ndarray
    average: np.ndarray
    deployed_average: np.ndarray
    loss_of_average: np.ndarray
    loss_of_deployed_average: np.ndarray
    gap_of_average: np.ndarray | None
    final: np.ndarray
    final_deployed: np.ndarray
    grad_sq_mean: np.ndarray
    loss_curve: np.ndarray | None = None
    deployed_loss_curve: np.ndarray | None = None


def run(rule: Rule, problem, w0, *, steps, rng, batch_size=1, record_every=None, backend="numpy"):
    """Run ``rule`` on ``problem`` from ``w0`` for ``steps`` updates, all chains at once.

    Parameters
    ----------
    rule : Rule
        From :mod:`quanttheory.optim` (``sgd``, ``rounded``, ``sr``, ``bc``, ``*_adam``).
    problem
        A :mod:`quanttheory.problems` object.
    w0 : array_like, shape (chains, d)
        Initial points (finite); for BC the initial float buffer.
    steps : int
        T ≥ 1.
    rng : numpy.random.Generator
        The only source of randomness (gradient noise / minibatches and rounding).
    batch_size : int or None, default 1
        Minibatch size; None = exact gradients.
    record_every : int, optional
        Record iterates every this many steps (default: only the final one).
    backend : {"numpy", "numba"}
        "numba" runs the whole loop in compiled code and gives bit-identical results for
        the same Generator state (LogisticRegression: equal to rounding, see its docstring).

    Returns
    -------
    Trajectory

    Examples
    --------
    >>> import numpy as np
    >>> from quanttheory import optim, problems
    >>> prob = problems.Quadratic([1.0, 2.0], [0.3, -0.2], noise_sigma=1.0)
    >>> traj = optim.run(optim.sr(optim.schedules.inverse_time(prob.mu), 0.1), prob,
    ...                  np.zeros((8, 2)), steps=2000, rng=np.random.default_rng(0))
    >>> traj.gap_of_average.shape
    (8,)
    """
    if not isinstance(rule, Rule):
        raise TypeError(f"rule must be a quanttheory.optim Rule; got {rule!r}")
    w = check_points(w0, problem.dim).copy()
    steps = _positive_int(steps, "steps")
    record_every = steps if record_every is None else _positive_int(record_every, "record_every")
    batch = check_batch(batch_size)
    rng = check_rng(rng)
    start = (w.copy(), rule.deploy(w.copy()))
    if backend == "numpy":
        out = _run_numpy(rule, problem, w, steps, rng, batch, record_every)
    elif backend == "numba":
        from ._numba import run_numba

        out = run_numba(rule, problem, w, steps, rng, batch, record_every)
    else:
        raise ValueError(f"backend={backend!r} is invalid; valid: 'numpy' or 'numba'")
    return _summarise(problem, steps, record_every, start, *out)


_DIVERGED = "the iterates diverged (non-finite values) at step {}; lower the learning rate"


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name}={value!r} is invalid; valid: an integer >= 1")
    return int(value)


def _run_numpy(rule, problem, w, steps, rng, batch, record_every):
    state = rule.init(w)
    w_sum, d_sum = np.zeros_like(w), np.zeros_like(w)
    g_sq = np.zeros(w.shape[0])
    rec_w, rec_d = [], []
    for t in range(steps):
        q = rule.query(w, state, rng)
        g = problem.grad(q, rng, batch)
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported below
            g_sq += seq_sum(g * g, axis=1)
            w, state = rule.update(g, state, w, rng)
        if not np.all(np.isfinite(w)):
            raise FloatingPointError(_DIVERGED.format(t + 1))
        dep = rule.deploy(w, state)
        w_sum += w
        d_sum += dep
        if (t + 1) % record_every == 0:
            rec_w.append(w)
            rec_d.append(dep)
    return w, w_sum, d_sum, g_sq, np.array(rec_w), np.array(rec_d), rule


def _summarise(problem, steps, record_every, start, w, w_sum, d_sum, g_sq, rec_w, rec_d, rule):
    if not (np.all(np.isfinite(w_sum)) and np.all(np.isfinite(g_sq))):
        raise FloatingPointError(_DIVERGED.format("some"))
    # the loops accumulate w_1 … w_T; shift the window to w_0 … w_{T−1} (module docstring)
    final_deployed = rule.deploy(w)
    average = (w_sum - w + start[0]) / steps
    deployed_average = (d_sum - final_deployed + start[1]) / steps
    loss_avg = problem.loss(average)
    gap = None if problem.minimum is None else loss_avg - problem.minimum
    return Trajectory(
        steps=record_every * np.arange(1, steps // record_every + 1),
        iterates=rec_w,
        deployed=rec_d,
        average=average,
        deployed_average=deployed_average,
        loss_of_average=loss_avg,
        loss_of_deployed_average=problem.loss(deployed_average),
        gap_of_average=gap,
        final=w,
        final_deployed=final_deployed,
        grad_sq_mean=g_sq / steps,
        loss_curve=_curve(problem, rec_w, w.shape[0]),
        deployed_loss_curve=_curve(problem, rec_d, w.shape[0]),
    )


def _curve(problem, records, chains):
    """F at each recorded point set, shape (R, C)."""
    return np.array([problem.loss(x) for x in records]).reshape(len(records), chains)

"""Optimizers of Li et al. (2017): SGD, R, SR, BC and their Adam variants (Optax-shaped rules),
learning-rate schedules, and a runner over many independent chains with a numpy reference and
a bit-identical numba fast path.

Examples
--------
>>> import numpy as np
>>> from quanttheory import optim, problems
>>> prob = problems.Quadratic([1.0, 2.0], [0.3, -0.2], noise_sigma=1.0)
>>> rule = optim.sr(optim.schedules.inverse_time(prob.mu), delta=0.1)
>>> traj = optim.run(rule, prob, np.zeros((4, 2)), steps=1000, rng=np.random.default_rng(0))
>>> traj.loss_of_average.shape
(4,)
"""

from . import schedules
from .rules import Rule, RuleState, adam, bc, bc_adam, kahan, r_adam, rounded, sgd, sr, sr_adam
from .run import Trajectory, run

__all__ = ["Rule", "RuleState", "Trajectory", "adam", "bc", "bc_adam", "kahan", "r_adam", "rounded",
           "run", "schedules", "sgd", "sr", "sr_adam"]

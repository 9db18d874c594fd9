"""``quanttheory bench nn``: ConvNet training throughput (samples/s), numba vs numpy backend.

What is timed: one training epoch of :func:`quanttheory.nn.cnn.fit` (forward, softmax
cross-entropy, backward, Adam step; batch 100) over ``n`` synthetic inputs of the real data
sets' shapes, for the two nets of the QAT study:

* ``mnist1d``  ``CNN1d((1, 40), (32, 32, 32), kernel 5, BN, GAP)``;
* ``mnist5k``  ``CNN2d((1, 28, 28), (16, 32, 32), kernel 3, BN, 2×2 max pool, GAP)``.

The backends differ only in who does the im2col/col2im copies (numpy strided copies vs the
numba loops of :mod:`quanttheory.nn._conv_numba`); the GEMMs are BLAS in both, pinned to
``--threads`` threads with threadpoolctl. The run first checks that both backends give
bit-identical gradients. Each timing is the minimum of ``repeats`` epochs after a warm-up
(JIT compilation excluded); the ratio numba/numpy is measured in the same run. Besides wall time
the run reports samples per CPU-second of this process (``time.process_time``), which a machine
shared with other jobs inflates far less than wall time.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from ..nn import cnn
from ..nn.data import Dataset


def _best(fn, repeats):
    """(min wall time, min process CPU time) of ``repeats`` calls after one warm-up call."""
    fn()
    wall = cpu = np.inf
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall, cpu = min(wall, time.perf_counter() - w0), min(cpu, time.process_time() - c0)
    return wall, cpu

MODELS: dict[str, dict[str, Any]] = {
    "mnist1d": dict(in_shape=(1, 40), channels=(32, 32, 32), kernel=5, n_classes=10),
    "mnist5k": dict(in_shape=(1, 28, 28), channels=(16, 32, 32), kernel=3, n_classes=10, pool="max"),
}


def _identical_grads(model, rng):
    nets = [cnn.CNN(**MODELS[model], backend=b) for b in ("numpy", "numba")]
    params, state = nets[0].init(rng), nets[0].init_state()
    x, y = rng.standard_normal((50, *nets[0].in_shape)), rng.integers(0, 10, 50)
    grads = []
    for net in nets:
        logits, tape, _ = net.forward(params, state, x, train=True)
        grads.append(net.backward(tape, cnn.softmax_cross_entropy(logits, y)[1]))
    return all(np.array_equal(grads[0][k], grads[1][k]) for k in grads[0])


def run(model="mnist1d", n=2000, repeats=3, *, threads=1, seed=0) -> dict:
    """Time one epoch per backend; return samples/s, the numba/numpy ratio and the gradient check."""
    if model not in MODELS:
        raise ValueError(f"model={model!r}; valid: {tuple(MODELS)}")
    rng = np.random.default_rng(seed)
    shape = MODELS[model]["in_shape"]
    x, y = rng.standard_normal((n, *shape)), rng.integers(0, 10, n)
    data = Dataset(x, y, x[:1], y[:1], 10)
    with threadpool_limits(threads):
        identical = _identical_grads(model, np.random.default_rng(seed))
        sps, cpu = {}, {}
        for backend in ("numpy", "numba"):
            net = cnn.CNN(**MODELS[model], backend=backend)
            params, state = net.init(np.random.default_rng(seed)), net.init_state()

            def epoch(net=net, params=params, state=state):
                cnn.fit(net, params, state, data, np.random.default_rng(seed), epochs=1, batch_size=100)
            wall, cpu_s = _best(epoch, repeats)
            sps[backend], cpu[backend] = n / wall, n / cpu_s
    return {"model": model, "n": n, "repeats": repeats, "threads": threads, "samples_per_s": sps,
            "samples_per_cpu_s": cpu, "ratio numba/numpy": sps["numba"] / sps["numpy"],
            "grads_bit_identical": identical}


def main(argv=None) -> int:
    """Command-line entry: ``quanttheory bench nn [--model M] [--n N] [--repeats K] [--threads T] [--json]``."""
    parser = argparse.ArgumentParser(prog="quanttheory bench nn", description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=(*MODELS, "all"), default="all", help="which net (default: all)")
    parser.add_argument("--n", type=int, default=2000, help="samples per timed epoch (default 2000)")
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs per backend; the minimum is kept")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (threadpoolctl; default 1)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if args.n < 1 or args.repeats < 1 or args.threads < 1:
        parser.error(f"--n={args.n}, --repeats={args.repeats} and --threads={args.threads} must be >= 1")
    models = list(MODELS) if args.model == "all" else [args.model]
    results = [run(m, args.n, args.repeats, threads=args.threads) for m in models]
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"ConvNet training throughput, one epoch of n = {args.n}, batch 100, Adam, "
          f"{args.threads} BLAS thread(s), min of {args.repeats}")
    print(f"{'model':<10}{'numpy /s':>11}{'numba /s':>11}{'numba/numpy':>13}"
          f"{'numpy /cpu-s':>14}{'numba /cpu-s':>14}{'grads identical':>17}")
    for r in results:
        s, c = r["samples_per_s"], r["samples_per_cpu_s"]
        print(f"{r['model']:<10}{s['numpy']:>11.0f}{s['numba']:>11.0f}{r['ratio numba/numpy']:>12.2f}x"
              f"{c['numpy']:>14.0f}{c['numba']:>14.0f}{r['grads_bit_identical']!s:>17}")
    return 0

"""The README's JAX example, executed: one QAT step of a 2-layer MLP with DSQ-quantized weights
(per-output-channel l, u, α) and Optax."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("jax")  # the test extra installs jax and optax: this skips only without them
pytest.importorskip("optax")

README_SNIPPET = '''
import jax
import jax.numpy as jnp
import optax

import quanttheory.jax as qj


def init(key, sizes=(16, 32, 4)):
    params = {}
    for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:])):
        key, sub = jax.random.split(key)
        w = jax.random.normal(sub, (m, n)) / jnp.sqrt(m)
        clip = jnp.max(jnp.abs(w), axis=0)  # one range per output channel
        params[f"layer{i}"] = {"w": w, "b": jnp.zeros(n), "lower": -clip, "upper": clip,
                               "alpha": jnp.full(n, 0.2, dtype=w.dtype)}
    return params


def logits(params, x):
    for i, p in enumerate(params.values()):
        # 2-bit DSQ weights: hard levels forward, soft-map partials backward (w, l, u and alpha)
        wq = qj.dsq(p["w"], lower=p["lower"], upper=p["upper"], alpha=p["alpha"], bits=2, axis=1)
        x = x @ wq + p["b"]
        if i < len(params) - 1:
            x = jax.nn.relu(x)
    return x


def loss(params, x, y):
    return optax.softmax_cross_entropy_with_integer_labels(logits(params, x), y).mean()


optimizer = optax.sgd(0.05, momentum=0.9)


@jax.jit
def qat_step(params, opt_state, x, y):
    value, grads = jax.value_and_grad(loss)(params, x, y)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    params = optax.apply_updates(params, updates)
    # keep alpha in (0, 0.5], as DSQ implementations do (quanttheory.nn.layers.DSQ_ALPHA_MAX)
    params = {k: p | {"alpha": jnp.clip(p["alpha"], 1e-4, 0.5)} for k, p in params.items()}
    return params, opt_state, value


kx, ky, kp = jax.random.split(jax.random.key(0), 3)
x, y = jax.random.normal(kx, (64, 16)), jax.random.randint(ky, (64,), 0, 4)
params = init(kp)
opt_state = optimizer.init(params)
params, opt_state, value = qat_step(params, opt_state, x, y)
'''


def test_readme_qat_step_runs_and_learns():
    ns: dict = {}
    exec(compile(README_SNIPPET, "README.md (JAX example)", "exec"), ns)  # noqa: S102 - our own snippet
    jax, jnp, qj = ns["jax"], ns["jnp"], ns["qj"]
    before, after = ns["init"](ns["kp"]), ns["params"]
    # every parameter moved: the custom VJP delivers gradients to w, b, l, u and the per-channel alpha
    for layer in before:
        for name in ("w", "b", "lower", "upper", "alpha"):
            moved = np.asarray(before[layer][name] != after[layer][name])
            assert moved.any(), (layer, name)
        w = after[layer]["w"]
        wq = qj.dsq(w, lower=after[layer]["lower"], upper=after[layer]["upper"],
                    alpha=after[layer]["alpha"], bits=2, axis=1)
        assert all(len(np.unique(np.asarray(wq[:, c]))) <= 4 for c in range(w.shape[1]))  # 2 bits
    assert wq.dtype == jnp.float32  # the default (x64 off) runs in float32
    # a few more steps on the same batch lower the loss (the step is a descent step, not noise)
    params, opt_state, first = ns["params"], ns["opt_state"], float(ns["value"])
    for _ in range(20):
        params, opt_state, value = ns["qat_step"](params, opt_state, ns["x"], ns["y"])
    assert float(value) < first
    assert jax is not None


def test_snippet_is_the_readme_text():
    """The snippet executed above is, verbatim, the one README.md shows."""
    from pathlib import Path
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert README_SNIPPET.strip() in readme

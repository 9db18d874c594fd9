"""The sweep engine: per-point seeds, the cache, resume after interruption, and executor parity."""

from __future__ import annotations

import importlib
import json
import sys
import textwrap

import numpy as np
import pytest

from quanttheory import sweep
from quanttheory.cache import Cache, canonical_json

TOY_SOURCE = textwrap.dedent(
    '''
    """A toy experiment for the sweep tests."""
    import numpy as np

    NAME = "{name}"
    PAPER = "none (test)"
    CLAIMS = ()
    CALLS = []       # points computed in this process
    FAIL_AT = None   # raise at this call number (1-based) to simulate an interruption


    def grid(quick):
        extra = [] if quick else [{{"n": 7, "scale": 1.0}}]
        return [{{"n": n, "scale": s}} for n in (3, 5) for s in (0.5, 2.0)] + extra


    def compute(point, rng):
        CALLS.append(point)
        if FAIL_AT is not None and len(CALLS) == FAIL_AT:
            raise KeyboardInterrupt("injected")
        x = point["scale"] * rng.standard_normal(point["n"])
        return {{"x": x, "mean": float(x.mean()), "count": point["n"]}}


    def plot(results, outdir):
        return []
    '''
)


def _write_toy(directory, name: str):
    (directory / f"{name}.py").write_text(TOY_SOURCE.format(name=name))
    importlib.invalidate_caches()
    return importlib.import_module(name)


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    d = tmp_path_factory.mktemp("toy")
    sys.path.insert(0, str(d))
    module = _write_toy(d, "qt_toy_sweep")
    yield module
    sys.path.remove(str(d))
    sys.modules.pop("qt_toy_sweep", None)


def _same(a, b):
    assert [p for p, _ in a.results] == [p for p, _ in b.results]
    for (_, ra), (_, rb) in zip(a.results, b.results, strict=True):
        assert ra.keys() == rb.keys()
        for k in ra:
            np.testing.assert_array_equal(ra[k], rb[k], strict=True)


def test_seeds_differ_across_points_and_are_stable():
    points = [{"n": 3, "scale": 0.5}, {"n": 3, "scale": 2.0}, {"scale": 0.5, "n": 3}]
    states = [tuple(sweep.point_seed("toy", p, 7).generate_state(4)) for p in points]
    assert states[0] != states[1]
    assert states[0] == states[2]  # key order does not matter: canonical JSON
    assert tuple(sweep.point_seed("other", points[0], 7).generate_state(4)) != states[0]
    assert tuple(sweep.point_seed("toy", points[0], 8).generate_state(4)) != states[0]
    # Stable across runs and interpreters: pinned to the SHA-256 derivation.
    assert sweep.point_seed("toy", points[0], 7).spawn_key == (
        int.from_bytes(
            __import__("hashlib").sha256(b"toy\0" + canonical_json(points[0]).encode()).digest()[:8],
            "little",
        ),
    )


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_bad_seed(bad):
    with pytest.raises(ValueError, match="seed"):
        sweep.point_seed("toy", {}, bad)


@pytest.mark.parametrize("bad", [{"a": float("nan")}, {"a": [1.0, float("inf")]}])
def test_nonfinite_point_rejected(bad):
    with pytest.raises(ValueError, match="non-finite"):
        canonical_json(bad)


def test_unserialisable_point_rejected():
    with pytest.raises(TypeError, match="JSON"):
        canonical_json({"a": object()})


def test_cache_hit_and_provenance(toy, tmp_path):
    cache = Cache(tmp_path)
    first = sweep.run_sweep(toy, quick=True, seed=3, cache=cache, progress=False)
    assert (first.n_computed, first.n_cached) == (4, 0)
    again = sweep.run_sweep(toy, quick=True, seed=3, cache=cache, progress=False)
    assert (again.n_computed, again.n_cached) == (0, 4)
    _same(first, again)
    assert isinstance(again.results[0][1]["mean"], float)
    prov = [json.loads(p.read_text()) for p in (tmp_path / toy.NAME).glob("*.json")]
    assert len(prov) == 4
    assert {"python", "numpy", "scipy", "numba", "git_commit", "seed", "point", "wall_seconds"} <= set(prov[0])
    assert not any("host" in k for k in prov[0])
    # A different seed, or a new grid point (full grid), misses the cache only where it must.
    assert sweep.run_sweep(toy, quick=True, seed=4, cache=cache, progress=False).n_computed == 4
    full = sweep.run_sweep(toy, quick=False, seed=3, cache=cache, progress=False)
    assert (full.n_computed, full.n_cached) == (1, 4)


def test_code_version_change_invalidates(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    module = _write_toy(tmp_path, "qt_toy_version")
    cache = Cache(tmp_path / "cache")
    assert sweep.run_sweep(module, quick=True, cache=cache, progress=False).n_computed == 4
    path = tmp_path / "qt_toy_version.py"
    path.write_text(path.read_text() + "\n# an edit\n")
    assert sweep.run_sweep(module, quick=True, cache=cache, progress=False).n_computed == 4
    assert sweep.run_sweep(module, quick=True, cache=cache, progress=False).n_computed == 0
    sys.modules.pop("qt_toy_version", None)


def test_interrupted_sweep_resumes_without_recomputing(toy, tmp_path, monkeypatch):
    cache = Cache(tmp_path)
    reference = sweep.run_sweep(toy, seed=5, cache=Cache(tmp_path / "ref"), progress=False)
    monkeypatch.setattr(toy, "CALLS", [])
    monkeypatch.setattr(toy, "FAIL_AT", 3)
    with pytest.raises(KeyboardInterrupt):
        sweep.run_sweep(toy, seed=5, cache=cache, progress=False)
    assert len(toy.CALLS) == 3 and len(list((tmp_path / toy.NAME).glob("*.npz"))) == 2
    assert not list((tmp_path / toy.NAME).glob("*.tmp"))
    monkeypatch.setattr(toy, "CALLS", [])
    monkeypatch.setattr(toy, "FAIL_AT", None)
    resumed = sweep.run_sweep(toy, seed=5, cache=cache, progress=False)
    assert len(toy.CALLS) == 3 and (resumed.n_computed, resumed.n_cached) == (3, 2)
    assert toy.CALLS == [p for p, _ in reference.results][2:]
    _same(resumed, reference)


def test_executors_are_bit_identical(toy, tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    serial = sweep.run_sweep(toy, seed=11, cache=Cache(tmp_path / "s"), progress=False)
    procs = sweep.run_sweep(toy, seed=11, executor="processes", jobs=2, cache=Cache(tmp_path / "p"),
                            progress=False)
    _same(serial, procs)
    with sweep.process_pool(2) as pool:  # one pool shared by two sweeps, as the CLI does
        shared = [sweep.run_sweep(toy, seed=11, executor="processes", pool=pool, progress=False,
                                  cache=Cache(tmp_path / f"shared{k}")) for k in range(2)]
    for run in shared:
        _same(serial, run)
    monkeypatch.setenv("PYTHONPATH", sys.path[0])  # the toy module's directory, for the workers
    with distributed.LocalCluster(host="127.0.0.1", n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        dask = sweep.run_sweep(toy, seed=11, executor="dask", scheduler=cluster.scheduler_address,
                               cache=Cache(tmp_path / "d"), progress=False)
    _same(serial, dask)
    assert dask.n_computed == 5


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"executor": "threads"}, "executor"), ({"jobs": 0}, "jobs"), ({"seed": -2}, "seed"),
    ({"executor": "dask"}, "scheduler"),
])
def test_bad_sweep_arguments(toy, tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        sweep.run_sweep(toy, cache=Cache(tmp_path), progress=False, **kwargs)


def test_protocol_errors(toy, monkeypatch):
    monkeypatch.delattr(toy, "grid")
    with pytest.raises(TypeError, match="lacks grid"):
        sweep.check_protocol(toy)
    with pytest.raises(ValueError, match="unknown experiment 'no-such'"):
        sweep.get_experiment("no-such")


def test_bad_result_type(toy, tmp_path, monkeypatch):
    monkeypatch.setattr(toy, "compute", lambda point, rng: {"x": object()})
    with pytest.raises(TypeError, match="results must be"):
        sweep.run_sweep(toy, cache=Cache(tmp_path), progress=False)

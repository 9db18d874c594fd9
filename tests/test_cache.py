"""Cache integrity: damaged entries are misses (named, moved aside, recomputed byte for byte),
swapped entries are detected, stray temporaries are cleaned up, and concurrent runs on one
cache compute every point once."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest

from quanttheory import sweep
from quanttheory.cache import Cache, CacheWarning, npz_bytes, save_npz

TOY = textwrap.dedent(
    '''
    """A toy experiment for the cache tests: logs every computed point to $QT_TOY_LOG."""
    import json, os, time
    import numpy as np

    NAME = "qt-toy-cache"
    PAPER = "none (test)"
    CLAIMS = ()


    def grid(quick):
        return [{"i": i} for i in range(6)]


    def compute(point, rng):
        log = os.environ.get("QT_TOY_LOG")
        if log:
            with open(log, "a") as f:
                f.write(json.dumps(point) + "\\n")
            time.sleep(float(os.environ.get("QT_TOY_SLEEP", "0")))
        return {"x": rng.standard_normal(4), "i": point["i"], "s": "label"}


    def plot(results, outdir):
        return []
    '''
)


@pytest.fixture
def toy(tmp_path, monkeypatch):
    d = tmp_path / "mod"
    d.mkdir()
    (d / "qt_toy_cache.py").write_text(TOY)
    monkeypatch.syspath_prepend(str(d))
    importlib.invalidate_caches()
    module = importlib.import_module("qt_toy_cache")
    yield module
    sys.modules.pop("qt_toy_cache", None)


def _files(cache_dir, name):
    return {p.name: p.read_bytes() for p in sorted((cache_dir / name).glob("*.npz"))}


def _run(toy, cache, **kw):
    return sweep.run_sweep(toy, cache=cache, progress=False, **kw)


def _truncate(p):
    p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])


def _flip(p):
    b = bytearray(p.read_bytes())
    b[len(b) // 2] ^= 0x01
    p.write_bytes(bytes(b))


def _bad_json(p):
    p.with_suffix(".json").write_text("{not json")


def _nan_fill(p):
    with np.load(p) as data:
        arrays = {k: np.full_like(v, np.nan) if v.dtype.kind == "f" else v for k, v in data.items()}
    p.write_bytes(npz_bytes(arrays))


def _drop_array(p):
    with np.load(p) as data:
        arrays = {k: v for k, v in data.items() if k != "x"}
    p.write_bytes(npz_bytes(arrays))


def _no_provenance(p):
    p.with_suffix(".json").unlink()


@pytest.mark.parametrize("damage", [_truncate, _flip, _bad_json, _nan_fill, _drop_array, _no_provenance])
def test_damaged_entry_is_recomputed_byte_for_byte(toy, tmp_path, damage):
    cache = Cache(tmp_path / "c")
    first = _run(toy, cache, seed=1)
    before = _files(cache.root, toy.NAME)
    victim = sorted((cache.root / toy.NAME).glob("*.npz"))[2]
    damage(victim)
    with pytest.warns(CacheWarning, match=str(victim)):
        again = _run(toy, cache, seed=1)
    assert (again.n_computed, again.n_cached) == (1, 5)
    assert _files(cache.root, toy.NAME) == before  # the recomputed entry is byte-identical
    for (_, a), (_, b) in zip(first.results, again.results, strict=True):
        np.testing.assert_array_equal(a["x"], b["x"])
    assert list((cache.root / toy.NAME / "damaged").iterdir())  # moved aside, not deleted
    assert _run(toy, cache, seed=1).n_computed == 0  # and healthy again


def test_swapped_entries_are_detected(toy, tmp_path):
    cache = Cache(tmp_path / "c")
    _run(toy, cache, seed=2)
    a, b = sorted((cache.root / toy.NAME).glob("*.npz"))[:2]
    da, db = a.read_bytes(), b.read_bytes()
    a.write_bytes(db)
    b.write_bytes(da)
    with pytest.warns(CacheWarning, match="SHA-256"):
        again = _run(toy, cache, seed=2)
    assert again.n_computed == 2
    assert a.read_bytes() == da and b.read_bytes() == db


def test_provenance_records_key_arrays_and_hash(toy, tmp_path):
    cache = Cache(tmp_path / "c")
    _run(toy, cache)
    for prov in (cache.root / toy.NAME).glob("*.json"):
        meta = json.loads(prov.read_text())
        assert meta["key"] == prov.stem
        assert meta["arrays"] == ["i", "s", "x"]
        assert len(meta["sha256"]) == 64


def test_stray_tmp_files_are_cleaned(toy, tmp_path):
    cache = Cache(tmp_path / "c")
    d = cache.root / toy.NAME
    d.mkdir(parents=True)
    key = cache.key(toy.NAME, {"i": 0}, 0, sweep.code_version(toy))
    mine = d / f".{key}.npz.abc.tmp"
    old = d / ".0123.npz.xyz.tmp"
    fresh_other = d / ".4567.npz.xyz.tmp"
    for p in (mine, old, fresh_other):
        p.write_bytes(b"partial")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    _run(toy, cache)
    assert not mine.exists() and not old.exists()
    assert fresh_other.exists()  # may belong to a live concurrent writer


def test_npz_bytes_deterministic_and_loadable(tmp_path):
    arrays = {"b": np.arange(3.0), "a": np.array(2)}
    assert npz_bytes(arrays) == npz_bytes(dict(reversed(arrays.items())))
    path = save_npz(tmp_path / "d.npz", arrays)
    with np.load(path) as data:
        assert sorted(data) == ["a", "b"] and data["a"] == 2
    with zipfile.ZipFile(path) as zf:
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}


RUNNER = textwrap.dedent(
    """
    import sys, time, pathlib
    sys.path.insert(0, sys.argv[1])
    from quanttheory import sweep
    from quanttheory.cache import Cache
    import qt_toy_cache
    go = pathlib.Path(sys.argv[3])
    while not go.exists():
        time.sleep(0.01)
    s = sweep.run_sweep(qt_toy_cache, cache=Cache(pathlib.Path(sys.argv[2])), progress=False,
                        executor=sys.argv[4], jobs=2 if sys.argv[4] == "processes" else None)
    print(s.n_computed, s.n_cached)
    """
)


@pytest.mark.parametrize("executor", ["serial", "processes"])
def test_two_concurrent_runs_compute_each_point_once(toy, tmp_path, executor):
    log, go = tmp_path / "calls.log", tmp_path / "go"
    env = {**os.environ, "QT_TOY_LOG": str(log), "QT_TOY_SLEEP": "0.3"}
    argv = [sys.executable, "-c", RUNNER, str(tmp_path / "mod"), str(tmp_path / "c"), str(go), executor]
    procs = [subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    go.touch()
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    computed = [tuple(map(int, o.split())) for o, _ in outs]
    assert sum(c for c, _ in computed) == 6 and all(c + k == 6 for c, k in computed)
    lines = log.read_text().splitlines()
    assert sorted(json.loads(x)["i"] for x in lines) == list(range(6))  # each point once

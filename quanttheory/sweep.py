"""Run an experiment's grid: per-point seeds, on-disk cache, serial / process / Dask executors.

Every grid point gets its own Generator derived from ``(seed, NAME, point)`` — never from the
order in which points run — and its result is cached on disk as soon as it finishes (see
:mod:`quanttheory.cache`). A sweep is therefore bit-identical whichever executor runs it, and an
interrupted sweep resumes where it stopped.

Executors: ``"serial"`` (in this process), ``"processes"`` (a spawn-context
``ProcessPoolExecutor``; workers import the experiment module by name) and ``"dask"`` (an
existing ``distributed`` scheduler at ``scheduler``; ``pip install "quanttheory[dask]"``).
"""

from __future__ import annotations

import hashlib
import importlib
import multiprocessing
import os
import pkgutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np
from tqdm import tqdm

from .cache import Cache, canonical_json, code_version, default_root, environment

PROTOCOL = ("NAME", "PAPER", "CLAIMS", "grid", "compute", "plot")
EXECUTORS = ("serial", "processes", "dask")
EXPERIMENTS_PACKAGE = "quanttheory.experiments"


def check_protocol(module: ModuleType) -> ModuleType:
    """Return ``module`` if it has every name of the experiment protocol, else raise TypeError."""
    missing = [n for n in PROTOCOL if not hasattr(module, n)]
    if missing:
        raise TypeError(
            f"experiment module {module.__name__} lacks {', '.join(missing)}; the protocol "
            f"({EXPERIMENTS_PACKAGE} docstring) needs {', '.join(PROTOCOL)}"
        )
    return module


def discover(package: str = EXPERIMENTS_PACKAGE) -> dict[str, ModuleType]:
    """Every experiment module of ``package``, keyed by its ``NAME``, in module-name order.

    Modules whose name starts with ``_`` are private and skipped. A public module missing a
    protocol name, or two modules sharing a ``NAME``, is an error (TypeError / ValueError).
    """
    pkg = importlib.import_module(package)
    found: dict[str, ModuleType] = {}
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = check_protocol(importlib.import_module(f"{package}.{info.name}"))
        if module.NAME in found:
            raise ValueError(
                f"experiment NAME {module.NAME!r} is used by both {found[module.NAME].__name__} "
                f"and {module.__name__}"
            )
        found[module.NAME] = module
    return found


def get_experiment(name: str, package: str = EXPERIMENTS_PACKAGE) -> ModuleType:
    """The experiment module whose ``NAME`` (or module name) is ``name``; ValueError if none."""
    experiments = discover(package)
    for module in experiments.values():
        if name in (module.NAME, module.__name__.rsplit(".", 1)[-1]):
            return module
    raise ValueError(f"unknown experiment {name!r}; available: {', '.join(experiments) or 'none'}")


def point_seed(name: str, point: dict[str, Any], seed: int) -> np.random.SeedSequence:
    """The SeedSequence of one grid point: ``entropy=seed``, spawn key = hash of (NAME, point).

    The hash is SHA-256 (stable across processes and Python versions, unlike ``hash()``) of
    the NAME and the canonical JSON of the point, truncated to 64 bits; two points that
    differ in any value, or the same point in two experiments, get independent streams.
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    digest = hashlib.sha256(f"{name}\0{canonical_json(point)}".encode()).digest()
    return np.random.SeedSequence(entropy=int(seed), spawn_key=(int.from_bytes(digest[:8], "little"),))


def compute_point(module_name: str, point: dict[str, Any], seed: int) -> tuple[dict[str, Any], float]:
    """Run one grid point (the unit of work every executor ships): ``(result, wall seconds)``.

    Takes the module *name* so that spawned processes and Dask workers import it themselves.
    """
    module = importlib.import_module(module_name)
    rng = np.random.default_rng(point_seed(module.NAME, point, seed))
    start = time.perf_counter()
    result = module.compute(point, rng)
    return result, time.perf_counter() - start


@dataclass(frozen=True)
class Sweep:
    """What a sweep returns.

    Attributes
    ----------
    name : str
        The experiment's NAME.
    results : list of (dict, dict)
        ``(point, result)`` pairs in grid order — what ``plot`` and ``claims`` take.
    n_computed, n_cached : int
        Points computed in this run / read from the cache.
    compute_seconds : float
        Sum of the per-point compute wall times (cached points count with their recorded time).
    """

    name: str
    results: list[tuple[dict[str, Any], dict[str, Any]]] = field(repr=False)
    n_computed: int
    n_cached: int
    compute_seconds: float


def _serial(tasks: Sequence[tuple], **_: Any) -> Iterator[tuple[int, tuple[dict, float]]]:
    for i, task in enumerate(tasks):
        yield i, compute_point(*task)


def process_pool(jobs: int | None = None) -> ProcessPoolExecutor:
    """A spawn-context process pool, to share between several :func:`run_sweep` calls.

    "spawn": a fresh interpreter per worker (no forked numba/Dask threads); workers import the
    experiment by module name, which is why :func:`compute_point` takes a name.
    """
    ctx = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=jobs or os.cpu_count() or 1, mp_context=ctx)


def _processes(tasks: Sequence[tuple], *, jobs: int | None, pool: Executor | None = None,
               **_: Any) -> Iterator:
    own = pool is None
    executor = process_pool(jobs) if pool is None else pool
    futures = {executor.submit(compute_point, *t): i for i, t in enumerate(tasks)}
    try:
        for fut in as_completed(futures):
            yield futures[fut], fut.result()
    finally:
        for fut in futures:  # after an error or interrupt, drop what has not started
            fut.cancel()
        if own:
            executor.shutdown(wait=True, cancel_futures=True)


def _dask(tasks: Sequence[tuple], *, scheduler: str | None, **_: Any) -> Iterator:
    try:
        import distributed
    except ImportError:
        raise ImportError(
            "the Dask executor needs the optional dependency: pip install 'quanttheory[dask]'"
        ) from None
    if not scheduler:
        raise ValueError("executor='dask' needs a scheduler address, e.g. 'tcp://10.0.0.1:8786'")
    with distributed.Client(scheduler) as client:
        # pure=False: never let Dask deduplicate two tasks; the cache handles reuse.
        futures = [client.submit(compute_point, *t, pure=False) for t in tasks]
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for fut in distributed.as_completed(futures):
                yield index[fut.key], fut.result()
        finally:
            client.cancel(futures)


_Runner = Callable[..., Iterator[tuple[int, tuple[dict[str, Any], float]]]]
_RUNNERS: dict[str, _Runner] = {"serial": _serial, "processes": _processes, "dask": _dask}


def _load_cached(cache: Cache, name: str, keys: list[str]) -> dict[int, tuple[dict[str, Any], float]]:
    """``{grid index: (result, recorded wall seconds)}`` of the points already in the cache."""
    done = {}
    for i, key in enumerate(keys):
        hit = cache.load(name, key)
        if hit is not None:
            done[i] = (hit[0], float(hit[1].get("wall_seconds", 0.0)))
    return done


def run_sweep(
    experiment: ModuleType, *, quick: bool = False, seed: int = 0, executor: str = "serial",
    jobs: int | None = None, scheduler: str | None = None, cache: Cache | None = None,
    progress: bool = True, pool: Executor | None = None,
) -> Sweep:
    """Run every point of ``experiment.grid(quick)`` not already cached, and return them all.

    Parameters
    ----------
    experiment : module
        An experiment module (protocol in :mod:`quanttheory.experiments`).
    quick : bool
        Reduced-size grid (same code path).
    seed : int
        Root entropy of every point's SeedSequence (:func:`point_seed`).
    executor : {"serial", "processes", "dask"}
    jobs : int, optional
        Worker processes for ``"processes"`` (default: number of cores).
    scheduler : str, optional
        Dask scheduler address for ``"dask"``.
    cache : Cache, optional
        Defaults to :func:`quanttheory.cache.default_root`.
    progress : bool
        Show a tqdm bar on stderr (only when stderr is a terminal).
    pool : concurrent.futures.Executor, optional
        For ``"processes"``: an existing pool (e.g. :func:`process_pool`) to reuse across
        sweeps instead of starting one per sweep; it is left running.

    Returns
    -------
    Sweep
        Results in grid order; bit-identical for every executor and every interruption history.
    """
    check_protocol(experiment)
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {EXECUTORS}, got {executor!r}")
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    if executor == "dask" and not scheduler:
        raise ValueError("executor='dask' needs a scheduler address, e.g. 'tcp://10.0.0.1:8786'")
    point_seed(experiment.NAME, {}, seed)  # validates seed before any work
    cache = cache or Cache(default_root())
    points = list(experiment.grid(quick))
    version = code_version(experiment)
    keys = [cache.key(experiment.NAME, p, seed, version) for p in points]
    done = _load_cached(cache, experiment.NAME, keys)
    n_cached = len(done)
    todo = [i for i in range(len(points)) if i not in done]
    tasks = [(experiment.__name__, points[i], seed) for i in todo]
    env = environment() if todo else {}
    if executor == "processes" and len(todo) <= 1:
        executor = "serial"  # same results; a process pool costs seconds to start
    bar = tqdm(total=len(points), initial=n_cached, desc=experiment.NAME, unit="pt", file=sys.stderr,
               disable=not (progress and sys.stderr.isatty()))
    with bar:
        # No runner at all when everything is cached (no pool to start, no cluster to reach).
        finished = _RUNNERS[executor](tasks, jobs=jobs, scheduler=scheduler, pool=pool) if tasks else ()
        for j, (result, wall) in finished:
            i = todo[j]
            prov = {"experiment": experiment.NAME, "module": experiment.__name__, "point": points[i],
                    "seed": seed, "code_version": version, "wall_seconds": wall, **env}
            cache.save(experiment.NAME, keys[i], result, prov)
            # Re-read what was written, so a fresh result and a cached one are the same objects
            # (0-d arrays become Python scalars either way).
            loaded = cache.load(experiment.NAME, keys[i])
            if loaded is None:  # only if something deleted the file under our feet
                raise RuntimeError(f"cache entry {keys[i]} of {experiment.NAME} vanished after writing")
            done[i] = (loaded[0], wall)
            bar.update(1)
    results = [(points[i], done[i][0]) for i in range(len(points))]
    return Sweep(experiment.NAME, results, len(todo), n_cached, sum(w for _, w in done.values()))

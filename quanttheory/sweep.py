"""Run an experiment's grid: per-point seeds, on-disk cache, serial / process / Dask executors.

Every grid point gets its own Generator derived from ``(seed, NAME, point)`` — never from the
order in which points run — and its result is cached on disk as soon as it finishes (see
:mod:`quanttheory.cache`). A sweep is therefore bit-identical whichever executor runs it, and an
interrupted sweep resumes where it stopped.

Executors: ``"serial"`` (in this process), ``"processes"`` (a spawn-context
``ProcessPoolExecutor``; workers import the experiment module by name) and ``"dask"`` (an
existing ``distributed`` scheduler at ``scheduler``; ``pip install "quanttheory[dask]"``).

Concurrency and interruption: each point to compute is claimed with the cache's per-key file
lock first, so a second run on the same cache waits for the points the first is computing and
reads them instead of recomputing. Pool workers ignore SIGINT (the parent handles Ctrl-C and
terminates them) and exit by themselves when the parent process dies.
"""

from __future__ import annotations

import hashlib
import importlib
import multiprocessing
import os
import pkgutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from contextlib import ExitStack
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np
from filelock import FileLock, Timeout
from tqdm import tqdm

from .cache import Cache, canonical_json, code_version, default_root, environment

PROTOCOL = ("NAME", "PAPER", "CLAIMS", "grid", "compute", "plot")
EXECUTORS = ("serial", "processes", "dask")
EXPERIMENTS_PACKAGE = "quanttheory.experiments"
#: Locks one run holds at a time (each is an open file descriptor).
MAX_CLAIMED = 256
#: Seconds to wait for a Dask scheduler before giving up with one clear error.
SCHEDULER_TIMEOUT = 10.0


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


def _watch_parent(parent: int, period: float) -> None:
    while os.getppid() == parent:
        time.sleep(period)
    os._exit(1)  # the parent died (e.g. SIGKILL): nobody will read our results


def _worker_init(parent: int, period: float = 1.0) -> None:
    """Pool worker set-up: leave Ctrl-C to the parent, exit when the parent dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent, period), daemon=True).start()


def process_pool(jobs: int | None = None) -> ProcessPoolExecutor:
    """A spawn-context process pool, to share between several :func:`run_sweep` calls.

    "spawn": a fresh interpreter per worker (no forked numba/Dask threads); workers import the
    experiment by module name, which is why :func:`compute_point` takes a name. Workers ignore
    SIGINT and exit within a second of the parent's death.
    """
    ctx = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=jobs or os.cpu_count() or 1, mp_context=ctx,
                               initializer=_worker_init, initargs=(os.getpid(),))


def terminate_pool(pool: Executor) -> None:
    """Stop a process pool now: kill its workers (running points are lost, finished ones cached)."""
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        proc.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


def dask_client(scheduler: str, timeout: float | None = None):
    """A ``distributed.Client`` of ``scheduler``; ConnectionError after ``timeout`` seconds
    (default :data:`SCHEDULER_TIMEOUT`)."""
    timeout = SCHEDULER_TIMEOUT if timeout is None else timeout
    try:
        import distributed
    except ImportError:
        raise ImportError(
            "the Dask executor needs the optional dependency: pip install 'quanttheory[dask]'"
        ) from None
    try:
        return distributed.Client(scheduler, timeout=timeout)
    except (OSError, TimeoutError) as err:
        raise ConnectionError(f"cannot reach the Dask scheduler at {scheduler!r} within {timeout:g} s "
                              f"({type(err).__name__}); is it running?") from None


def _processes(tasks: Sequence[tuple], *, jobs: int | None, pool: Executor | None = None,
               **_: Any) -> Iterator:
    own = pool is None
    executor = process_pool(jobs) if pool is None else pool
    futures = {executor.submit(compute_point, *t): i for i, t in enumerate(tasks)}
    try:
        for fut in as_completed(futures):
            yield futures[fut], fut.result()
    except KeyboardInterrupt:
        terminate_pool(executor)  # do not wait for running points: the user asked to stop
        raise
    finally:
        for fut in futures:  # after an error or interrupt, drop what has not started
            fut.cancel()
        if own:
            executor.shutdown(wait=True, cancel_futures=True)


def _dask(tasks: Sequence[tuple], *, scheduler: str | None, pool: Any = None, **_: Any) -> Iterator:
    if not scheduler and pool is None:
        raise ValueError("executor='dask' needs a scheduler address, e.g. 'tcp://10.0.0.1:8786'")
    with ExitStack() as stack:
        client = pool if pool is not None else stack.enter_context(dask_client(str(scheduler)))
        import distributed  # importable: dask_client checked it, or the caller made a Client
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


def _claim(cache: Cache, name: str, keys: list[str], pending: list[int],
           done: dict[int, tuple[dict[str, Any], float]]) -> tuple[dict[int, FileLock], list[int], list[int]]:
    """Lock up to MAX_CLAIMED pending points: ``(locks we hold, busy elsewhere, not tried)``.

    A point another run finished meanwhile is read from the cache into ``done`` instead.
    """
    mine: dict[int, FileLock] = {}
    busy: list[int] = []
    for n, i in enumerate(pending):
        if len(mine) >= MAX_CLAIMED:
            return mine, busy, pending[n:]
        lock = cache.lock(name, keys[i])
        try:
            lock.acquire(timeout=0)
        except Timeout:
            busy.append(i)
            continue
        hit = cache.load(name, keys[i])  # finished by another run since we looked?
        if hit is None:
            mine[i] = lock
        else:
            lock.release()
            done[i] = (hit[0], float(hit[1].get("wall_seconds", 0.0)))
    return mine, busy, []


def _await_others(cache: Cache, name: str, keys: list[str], busy: list[int],
                  done: dict[int, tuple[dict[str, Any], float]]) -> list[int]:
    """Wait for the points another run holds; return those it did not finish (it died)."""
    left = []
    for i in busy:
        with cache.lock(name, keys[i]):  # blocks until the other run releases it
            hit = cache.load(name, keys[i])
        if hit is None:
            left.append(i)
        else:
            done[i] = (hit[0], float(hit[1].get("wall_seconds", 0.0)))
    return left


@dataclass
class _Job:
    """What one :func:`run_sweep` call computes (internal)."""

    experiment: ModuleType
    points: list[dict[str, Any]]
    keys: list[str]
    seed: int
    version: str
    cache: Cache
    runner: _Runner
    runner_args: dict[str, Any]
    done: dict[int, tuple[dict[str, Any], float]]
    env: dict[str, Any] = field(default_factory=dict)
    computed: int = 0

    def compute(self, indices: list[int], bar: Any) -> None:
        """Compute the (locked) points ``indices`` and cache each as soon as it is finished."""
        name = self.experiment.NAME
        if not self.env:
            self.env = environment()
        tasks = [(self.experiment.__name__, self.points[i], self.seed) for i in indices]
        for j, (result, wall) in self.runner(tasks, **self.runner_args):
            i = indices[j]
            prov = {"experiment": name, "module": self.experiment.__name__, "point": self.points[i],
                    "seed": self.seed, "code_version": self.version, "wall_seconds": wall, **self.env}
            self.cache.save(name, self.keys[i], result, prov)
            # Re-read what was written, so a fresh result and a cached one are the same objects
            # (0-d arrays become Python scalars either way).
            loaded = self.cache.load(name, self.keys[i])
            if loaded is None:  # only if something deleted the file under our feet
                raise RuntimeError(f"cache entry {self.keys[i]} of {name} vanished after writing")
            self.done[i] = (loaded[0], wall)
            self.computed += 1
            bar.update(1)

    def run(self, pending: list[int], bar: Any) -> None:
        """Claim, compute, then wait for the points other runs hold, until none is left."""
        name = self.experiment.NAME
        while pending:
            mine, busy, untried = _claim(self.cache, name, self.keys, pending, self.done)
            try:
                self.cache.clean_tmp(name, [self.keys[i] for i in mine])
                if mine:
                    self.compute(sorted(mine), bar)
            finally:
                for lock in mine.values():
                    lock.release()
            pending = untried + _await_others(self.cache, name, self.keys, busy, self.done)


def run_sweep(
    experiment: ModuleType, *, quick: bool = False, seed: int = 0, executor: str = "serial",
    jobs: int | None = None, scheduler: str | None = None, cache: Cache | None = None,
    progress: bool = True, pool: Any = None,
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
    pool : concurrent.futures.Executor or distributed.Client, optional
        An existing process pool (e.g. :func:`process_pool`, for ``"processes"``) or Dask client
        (:func:`dask_client`, for ``"dask"``) to reuse across sweeps; it is left running.

    Returns
    -------
    Sweep
        Results in grid order; bit-identical for every executor and every interruption history.
        Points another run on the same cache is computing are waited for, not recomputed.
    """
    check_protocol(experiment)
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {EXECUTORS}, got {executor!r}")
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    if executor == "dask" and not (scheduler or pool is not None):
        raise ValueError("executor='dask' needs a scheduler address, e.g. 'tcp://10.0.0.1:8786'")
    point_seed(experiment.NAME, {}, seed)  # validates seed before any work
    cache = cache or Cache(default_root())
    points = list(experiment.grid(quick))
    version = code_version(experiment)
    keys = [cache.key(experiment.NAME, p, seed, version) for p in points]
    done = _load_cached(cache, experiment.NAME, keys)
    n_cached = len(done)
    todo = [i for i in range(len(points)) if i not in done]
    if executor == "processes" and len(todo) <= 1 and pool is None:
        executor = "serial"  # same results; a process pool costs seconds to start
    job = _Job(experiment, points, keys, seed, version, cache, _RUNNERS[executor],
               {"jobs": jobs, "scheduler": scheduler, "pool": pool}, done)
    bar = tqdm(total=len(points), initial=n_cached, desc=experiment.NAME, unit="pt", file=sys.stderr,
               disable=not (progress and sys.stderr.isatty()))
    with bar:
        job.run(todo, bar)  # no runner at all when everything is cached
    results = [(points[i], done[i][0]) for i in range(len(points))]
    return Sweep(experiment.NAME, results, job.computed, len(points) - job.computed,
                 sum(w for _, w in done.values()))

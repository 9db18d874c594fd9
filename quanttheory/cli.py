"""The quanttheory command: list, run, figures, claims, bench.

Every subcommand that computes goes through :func:`quanttheory.sweep.run_sweep`, so results
come from the on-disk cache when the same (experiment, point, seed, code version) was run
before, and are bit-identical whether run serially, on local processes or on Dask.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
import traceback
from contextlib import ExitStack
from pathlib import Path
from types import ModuleType
from typing import Any

from . import __version__, committed
from ._cli_support import (
    INTERRUPTED,
    NUMBA_NOTICE,
    deterministic_npz,
    first_compile_notice,
    interrupted,
    silence_stdout,
    writable,
)
from .cache import Cache, code_version, default_root, environment
from .claims import Claim, to_json, to_markdown, verdict_markdown
from .gallery import Entry, gallery_markdown, replace_between, summary
from .plotting import atomic_write_text
from .sweep import Sweep, dask_client, discover, get_experiment, process_pool, run_sweep, terminate_pool

BENCHES = ("optim", "kernels", "nn")


def _int_at_least(low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} is out of range; valid: an integer >= {low}")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse


class _Parser(argparse.ArgumentParser):
    """A parser whose epilog may be computed when help is shown (``epilog_fn``)."""

    def __init__(self, *args: Any, epilog_fn: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.epilog_fn = epilog_fn

    def format_help(self) -> str:
        if self.epilog_fn is not None:
            self.epilog = self.epilog_fn()
        return super().format_help()


def _experiment_names() -> str:
    return "experiments: " + ", ".join(discover())


def _sweep_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true", help="reduced-size grid (CI smoke), same code path")
    p.add_argument("--jobs", type=_int_at_least(1), default=None,
                   help="local worker processes (default: number of cores; 1 = one worker, serial)")
    p.add_argument("--in-process", action="store_true",
                   help="compute in this process, no workers (debugging; Ctrl-C then waits until "
                        "compiled numba code returns)")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="run on an existing Dask cluster, e.g. tcp://10.0.0.1:8786")
    p.add_argument("--seed", type=_int_at_least(0), default=0,
                   help="root seed of every grid point, an integer >= 0 (default 0)")
    p.add_argument("--cache", type=Path, default=None,
                   help="cache directory (default $QUANTTHEORY_CACHE or ./.quanttheory-cache)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="quanttheory", description=__doc__.split("\n\n")[0])
    p.add_argument("--version", action="version", version=f"quanttheory {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser,
                           help="list | run | figures | claims | bench (each has --help)")
    sub.add_parser("list", help="every experiment, with the paper figure it reproduces and its claims")
    run = sub.add_parser("run", help="run (and plot) the named experiments", epilog_fn=_experiment_names)
    run.add_argument("names", nargs="+", metavar="NAME", help="experiment names (see 'quanttheory list')")
    _sweep_options(run)
    run.add_argument("--outdir", type=Path, default=None, help="default figures/ (figures/quick/ with --quick)")
    fig = sub.add_parser("figures", help="run + plot everything, write the gallery and the claims ledger")
    _sweep_options(fig)
    fig.add_argument("--outdir", type=Path, default=None, help="default figures/ (figures/quick/ with --quick)")
    fig.add_argument("--readme", type=Path, default=Path("README.md"),
                     help="README whose gallery/claims markers are updated (full runs only)")
    cl = sub.add_parser("claims", help="print the claims ledger (exit 0 even if a claim fails)")
    _sweep_options(cl)
    cl.add_argument("--json", action="store_true", help="JSON instead of a markdown table")
    bench = sub.add_parser("bench", help="kernel and optimizer benchmarks")
    bench.add_argument("target", nargs="?", choices=BENCHES, help="which benchmark (default: all)")
    bench.add_argument("args", nargs=argparse.REMAINDER,
                       help="passed to the benchmark, e.g. --repeats 3 (see quanttheory bench optim -h)")
    return p


def _executor(args: argparse.Namespace) -> str:
    """Points run in worker processes unless --in-process: compiled numba code cannot be
    interrupted, but a worker can be terminated, so Ctrl-C stops a run at once."""
    if args.scheduler:
        return "dask"
    return "serial" if args.in_process else "processes"


def _sweep(module: ModuleType, args: argparse.Namespace, pool: Any) -> Sweep:
    return run_sweep(module, quick=args.quick, seed=args.seed, executor=_executor(args), jobs=args.jobs,
                     scheduler=args.scheduler, cache=Cache(args.cache or default_root()),
                     progress=not args.quiet, pool=pool)


def _outdir(args: argparse.Namespace) -> Path:
    return args.outdir or (Path("figures/quick") if args.quick else Path("figures"))


def cmd_list(args: argparse.Namespace) -> int:
    for name, module in discover().items():
        claims = ", ".join(module.CLAIMS) or "-"
        first_sentence = summary(module).split(". ")[0].rstrip(".")
        print(f"{name:24s} {module.PAPER}\n{'':24s} claims: {claims}\n{'':24s} {first_sentence}.")
    return 0


def _run_one(module: ModuleType, args: argparse.Namespace, outdir: Path | None, pool: Any) -> Entry:
    start = time.perf_counter()
    sweep = _sweep(module, args, pool)
    figures = list(module.plot(sweep.results, _mkdir(outdir / module.NAME))) if outdir else []
    if outdir and getattr(module, "EXPLICIT_ONLY", False) and not args.quick:
        figures.append(_write_provenance(module, args, outdir, sweep, time.perf_counter() - start))
    for f in figures:
        deterministic_npz(Path(f))
    claims = list(module.claims(sweep.results)) if hasattr(module, "claims") else []
    if not args.quiet:
        print(f"{module.NAME}: {len(sweep.results)} points ({sweep.n_computed} computed, "
              f"{sweep.n_cached} cached) in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return Entry(module.NAME, module.PAPER, summary(module), [Path(f) for f in figures], claims,
                 len(sweep.results), sweep.compute_seconds)


def _write_provenance(module: ModuleType, args: argparse.Namespace, outdir: Path, sweep: Sweep,
                      wall: float) -> Path:
    """``NAME/provenance.json`` of an explicit-only run: per point, the cache's record of the code
    version, git commit, library versions, wall time and result digest (a cached point keeps the
    record of the run that computed it)."""
    cache = Cache(args.cache or default_root())
    version = code_version(module)
    skip = {"experiment", "module", "point", "seed", "key", "arrays"}
    per_point = []
    for p, _ in sweep.results:
        hit = cache.load(module.NAME, cache.key(module.NAME, p, args.seed, version))
        per_point.append({"point": p, **{k: v for k, v in (hit[1] if hit else {}).items() if k not in skip}})
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    record = committed.provenance(
        module.NAME, args.seed, [p for p, _ in sweep.results], per_point,
        command="quanttheory " + " ".join(sys.argv[1:]), wall_seconds=wall,
        note=f"{sweep.n_computed} points computed, {sweep.n_cached} from the cache in this invocation; "
             f"{os.cpu_count()} cores, load average at the end {load}")
    return committed.write_provenance(outdir / module.NAME / "provenance.json", record)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _committed(module: ModuleType, args: argparse.Namespace, outdir: Path | None) -> Entry:
    """Entry of an ``EXPLICIT_ONLY`` experiment (e.g. qat-study, ~1 h) from its committed results:
    ``figures``/``claims`` redraw it and take its ledger rows without rerunning it."""
    results = module.committed_results()
    seed = committed.committed_seed(module.NAME)
    if results and seed is not None and seed != args.seed:
        # Another seed's rows would pass for this seed's: leave them out and say how to get them.
        print(f"note: {module.NAME} is explicit-only and its committed results are for --seed {seed}; "
              f"its rows are left out (run: quanttheory run {module.NAME} --seed {args.seed})", file=sys.stderr)
        return Entry(module.NAME, module.PAPER, summary(module))
    figures = list(module.plot(results, _mkdir(outdir / module.NAME))) if outdir and results else []
    for f in figures:
        deterministic_npz(Path(f))
    return Entry(module.NAME, module.PAPER, summary(module), [Path(f) for f in figures],
                 list(module.claims(results)) if results else [], len(results), 0.0)


def _pool(args: argparse.Namespace, stack: ExitStack) -> Any:
    """One process pool or Dask client for every module (starting either costs seconds)."""
    if _executor(args) == "dask":
        return stack.enter_context(dask_client(args.scheduler))  # ConnectionError: one clear error
    if _executor(args) == "processes":
        pool = stack.enter_context(process_pool(args.jobs))
        stack.callback(terminate_pool, pool)  # on the way out of an interrupt: do not wait
        return pool
    return None


def _run_many(modules: list[ModuleType], args: argparse.Namespace, outdir: Path | None,
              run_explicit: bool = False) -> list[Entry]:
    """Run each module; a failure is reported and recorded, and the others still run.

    A KeyboardInterrupt, also one wrapped in another exception, stops the whole run.
    ``EXPLICIT_ONLY`` modules are run only when named (``run_explicit``, ``quanttheory run NAME``);
    otherwise their committed results are used.
    """
    writable(Cache(args.cache or default_root()).root, "cache directory")
    first_compile_notice()
    entries = []
    explicit = [] if run_explicit else [m for m in modules if getattr(m, "EXPLICIT_ONLY", False)]
    modules = [m for m in modules if m not in explicit]
    with ExitStack() as stack:
        pool = _pool(args, stack)
        for module in modules:
            try:
                entries.append(_run_one(module, args, outdir, pool))
            except Exception as err:  # noqa: BLE001 - report, keep going, exit nonzero at the end
                if interrupted(err):
                    raise KeyboardInterrupt from None
                traceback.print_exc()
                print(f"error: experiment {module.NAME} failed: {err!r}", file=sys.stderr)
                entries.append(Entry(module.NAME, module.PAPER, summary(module), error=repr(err)))
    return entries + [_committed(m, args, outdir) for m in explicit if hasattr(m, "committed_results")]


def _print_verdicts(claims: list[Claim]) -> None:
    for c in claims:
        ci = "" if c.ci is None else f" [{c.ci[0]:.3g}, {c.ci[1]:.3g}]"
        print(f"{c.id}: {verdict_markdown(c.verdict)} ({c.measured:.4g}{ci} vs {c.threshold})")


def cmd_run(args: argparse.Namespace) -> int:
    modules = [get_experiment(n) for n in args.names]
    entries = _run_many(modules, args, writable(_outdir(args), "--outdir"), run_explicit=True)
    for e in entries:
        for f in e.figures:
            print(f)
    _print_verdicts([c for e in entries for c in e.claims])
    return 1 if any(e.error for e in entries) else 0


def _write_ledger(outdir: Path, claims: list[Claim]) -> None:
    atomic_write_text(outdir / "claims.md", "# Claims ledger\n\n" + to_markdown(claims) + "\n")
    atomic_write_text(outdir / "claims.json", to_json(claims) + "\n")


def write_runs(path: Path, args: argparse.Namespace, entries: list[Entry], wall: float) -> None:
    """The run log ``runs.json``: seed, wall times, environment, per-experiment figures.

    Untracked on purpose (``.gitignore``): wall times and the git commit change at every run,
    so a tracked log would leave ``git status`` dirty after every ``make figures``.
    """
    runs = {"seed": args.seed, "quick": args.quick, "wall_seconds": wall, "environment": environment(),
            "experiments": [{"name": e.name, "paper": e.paper, "points": e.n_points,
                             "compute_seconds": e.compute_seconds, "error": e.error,
                             "figures": [f.name for f in e.figures]} for e in entries]}
    atomic_write_text(path, json.dumps(runs, indent=2) + "\n")


def cmd_figures(args: argparse.Namespace) -> int:
    outdir = writable(_outdir(args), "--outdir")
    start = time.perf_counter()
    entries = _run_many(list(discover().values()), args, outdir)
    claims = [c for e in entries for c in e.claims]
    atomic_write_text(outdir / "README.md", gallery_markdown(entries, outdir))
    _write_ledger(outdir, claims)
    write_runs(outdir / "runs.json", args, entries, time.perf_counter() - start)
    # Only a full-quality run may touch the committed README (CI's --quick run never does).
    if not args.quick and args.readme.is_file():
        text = args.readme.read_text()
        base = args.readme.parent
        text = replace_between(text, "<!-- gallery:start -->", "<!-- gallery:end -->",
                               gallery_markdown(entries, base, title=False))
        text = replace_between(text, "<!-- claims:start -->", "<!-- claims:end -->", to_markdown(claims))
        if text != args.readme.read_text():
            atomic_write_text(args.readme, text)
    print(outdir / "README.md")
    _print_verdicts(claims)
    return 1 if any(e.error for e in entries) else 0


def cmd_claims(args: argparse.Namespace) -> int:
    modules = [m for m in discover().values() if hasattr(m, "claims")]
    entries = _run_many(modules, args, None)
    claims = [c for e in entries for c in e.claims]
    print(to_json(claims) if args.json else to_markdown(claims))
    # A claim that does not hold is a result, not an error: only failures change the exit code.
    return 1 if any(e.error for e in entries) else 0


def _check_bench_args(argv: list[str]) -> None:
    """Reject a non-positive ``--repeats`` before any benchmark runs (ValueError)."""
    for k, arg in enumerate(argv):
        value = arg.split("=", 1)[1] if arg.startswith("--repeats=") else (
            argv[k + 1] if arg == "--repeats" and k + 1 < len(argv) else None)
        if value is not None and not (value.lstrip("-").isdigit() and int(value) >= 1):
            raise ValueError(f"--repeats={value} is out of range; valid: an integer >= 1")


def cmd_bench(args: argparse.Namespace) -> int:
    _check_bench_args(list(args.args))
    targets = [args.target] if args.target else list(BENCHES)
    status = 0
    for target in targets:
        try:
            module = importlib.import_module(f"quanttheory.bench.{target}")
        except ModuleNotFoundError as err:
            print(f"error: benchmark {target!r} is not available (quanttheory.bench.{target}: {err})",
                  file=sys.stderr)
            status = 2
            continue
        status = max(status, int(module.main(list(args.args)) or 0))
    return status


COMMANDS = {"list": cmd_list, "run": cmd_run, "figures": cmd_figures, "claims": cmd_claims,
            "bench": cmd_bench}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code.

    0 success, 1 an experiment failed, 2 bad arguments or environment, 130 interrupted
    (Ctrl-C), 141 stdout closed early (as a process killed by SIGPIPE).
    """
    args = build_parser().parse_args(argv)
    NUMBA_NOTICE.install()
    try:
        return COMMANDS[args.command](args)
    except BrokenPipeError:
        silence_stdout()
        return 141
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return 130
    except Exception as err:
        if interrupted(err):
            print(INTERRUPTED, file=sys.stderr)
            return 130
        if not isinstance(err, ValueError | TypeError | ImportError | OSError):
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""The ``quanttheory`` command: list, run, figures, claims, bench.

Every subcommand that computes goes through :func:`quanttheory.sweep.run_sweep`, so results
come from the on-disk cache when the same (experiment, point, seed, code version) was run
before, and are bit-identical whether run serially, on local processes or on Dask.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from concurrent.futures import Executor
from contextlib import ExitStack
from pathlib import Path
from types import ModuleType

from . import __version__
from .cache import Cache, default_root, environment
from .claims import Claim, to_json, to_markdown
from .gallery import Entry, gallery_markdown, replace_between, summary
from .sweep import Sweep, discover, get_experiment, process_pool, run_sweep

BENCHES = ("optim", "kernels", "nn")


def _sweep_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true", help="reduced-size grid (CI smoke), same code path")
    p.add_argument("--jobs", type=int, default=None,
                   help="local worker processes (default: number of cores; 1 = serial)")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="run on an existing Dask cluster, e.g. tcp://10.0.0.1:8786")
    p.add_argument("--seed", type=int, default=0, help="root seed of every grid point (default 0)")
    p.add_argument("--cache", type=Path, default=None,
                   help="cache directory (default $QUANTTHEORY_CACHE or ./.quanttheory-cache)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="quanttheory", description=__doc__.split("\n\n")[0])
    p.add_argument("--version", action="version", version=f"quanttheory {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every experiment, with the paper figure it reproduces and its claims")
    run = sub.add_parser("run", help="run (and plot) the named experiments")
    run.add_argument("names", nargs="+", metavar="NAME")
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
    bench.add_argument("args", nargs=argparse.REMAINDER, help="passed to the benchmark's main(argv)")
    return p


def _executor(args: argparse.Namespace) -> str:
    if args.scheduler:
        return "dask"
    return "serial" if args.jobs == 1 else "processes"


def _sweep(module: ModuleType, args: argparse.Namespace, pool: Executor | None) -> Sweep:
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


def _run_one(module: ModuleType, args: argparse.Namespace, outdir: Path | None,
             pool: Executor | None) -> Entry:
    start = time.perf_counter()
    sweep = _sweep(module, args, pool)
    figures = list(module.plot(sweep.results, _mkdir(outdir / module.NAME))) if outdir else []
    claims = list(module.claims(sweep.results)) if hasattr(module, "claims") else []
    if not args.quiet:
        print(f"{module.NAME}: {len(sweep.results)} points ({sweep.n_computed} computed, "
              f"{sweep.n_cached} cached) in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return Entry(module.NAME, module.PAPER, summary(module), [Path(f) for f in figures], claims,
                 len(sweep.results), sweep.compute_seconds)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _committed(module: ModuleType, outdir: Path | None) -> Entry:
    """Entry of an ``EXPLICIT_ONLY`` experiment (e.g. qat-study, ~1 h) from its committed results:
    ``figures``/``claims`` redraw it and take its ledger rows without rerunning it."""
    results = module.committed_results()
    figures = list(module.plot(results, _mkdir(outdir / module.NAME))) if outdir and results else []
    return Entry(module.NAME, module.PAPER, summary(module), [Path(f) for f in figures],
                 list(module.claims(results)) if results else [], len(results), 0.0)


def _run_many(modules: list[ModuleType], args: argparse.Namespace, outdir: Path | None,
              run_explicit: bool = False) -> list[Entry]:
    """Run each module; a failure is reported and recorded, and the others still run.

    One process pool serves every module (starting spawn workers costs seconds each time).
    ``EXPLICIT_ONLY`` modules are run only when named (``run_explicit``, ``quanttheory run NAME``);
    otherwise their committed results are used.
    """
    entries = []
    explicit = [] if run_explicit else [m for m in modules if getattr(m, "EXPLICIT_ONLY", False)]
    modules = [m for m in modules if m not in explicit]
    with ExitStack() as stack:
        pool = stack.enter_context(process_pool(args.jobs)) if _executor(args) == "processes" else None
        for module in modules:
            try:
                entries.append(_run_one(module, args, outdir, pool))
            except Exception as err:  # noqa: BLE001 - report, keep going, exit nonzero at the end
                traceback.print_exc()
                print(f"error: experiment {module.NAME} failed: {err!r}", file=sys.stderr)
                entries.append(Entry(module.NAME, module.PAPER, summary(module), error=repr(err)))
    return entries + [_committed(m, outdir) for m in explicit if hasattr(m, "committed_results")]


def cmd_run(args: argparse.Namespace) -> int:
    modules = [get_experiment(n) for n in args.names]
    entries = _run_many(modules, args, _outdir(args), run_explicit=True)
    for e in entries:
        for f in e.figures:
            print(f)
    return 1 if any(e.error for e in entries) else 0


def _write_ledger(outdir: Path, claims: list[Claim]) -> None:
    (outdir / "claims.md").write_text("# Claims ledger\n\n" + to_markdown(claims) + "\n")
    (outdir / "claims.json").write_text(to_json(claims) + "\n")


def cmd_figures(args: argparse.Namespace) -> int:
    outdir = _mkdir(_outdir(args))
    start = time.perf_counter()
    entries = _run_many(list(discover().values()), args, outdir)
    claims = [c for e in entries for c in e.claims]
    (outdir / "README.md").write_text(gallery_markdown(entries, outdir))
    _write_ledger(outdir, claims)
    runs = {"seed": args.seed, "quick": args.quick, "wall_seconds": time.perf_counter() - start,
            "environment": environment(),
            "experiments": [{"name": e.name, "paper": e.paper, "points": e.n_points,
                             "compute_seconds": e.compute_seconds, "error": e.error,
                             "figures": [f.name for f in e.figures]} for e in entries]}
    (outdir / "runs.json").write_text(json.dumps(runs, indent=2) + "\n")
    # Only a full-quality run may touch the committed README (CI's --quick run never does).
    if not args.quick and args.readme.is_file():
        text = args.readme.read_text()
        base = args.readme.parent
        text = replace_between(text, "<!-- gallery:start -->", "<!-- gallery:end -->",
                               gallery_markdown(entries, base, title=False))
        text = replace_between(text, "<!-- claims:start -->", "<!-- claims:end -->", to_markdown(claims))
        args.readme.write_text(text)
    print(outdir / "README.md")
    return 1 if any(e.error for e in entries) else 0


def cmd_claims(args: argparse.Namespace) -> int:
    modules = [m for m in discover().values() if hasattr(m, "claims")]
    entries = _run_many(modules, args, None)
    claims = [c for e in entries for c in e.claims]
    print(to_json(claims) if args.json else to_markdown(claims))
    # A claim that does not hold is a result, not an error: only failures change the exit code.
    return 1 if any(e.error for e in entries) else 0


def cmd_bench(args: argparse.Namespace) -> int:
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
    """Entry point of the console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    if getattr(args, "jobs", None) is not None and args.jobs < 1:
        print(f"error: --jobs must be a positive integer, got {args.jobs}", file=sys.stderr)
        return 2
    try:
        return COMMANDS[args.command](args)
    except (ValueError, TypeError, ImportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished points are cached; the same command resumes", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

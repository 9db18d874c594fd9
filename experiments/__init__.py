"""Experiments: one module per reproduced paper figure or table.

Installed as ``quanttheory.experiments`` (the directory is ``experiments/`` at the top of the
repository). Every module follows one protocol, which ``quanttheory.sweep`` runs, caches and
scales out:

``NAME : str``
    Short unique name used on the command line, e.g. ``"li2017-floor"``.
``PAPER : str``
    The paper figure/table it reproduces, e.g. ``"Li et al. 2017, Fig. 1"``.
``CLAIMS : tuple[str, ...]``
    Ids of the ledger claims it feeds (may be empty).
``grid(quick: bool) -> list[dict]``
    The grid points: JSON-serialisable dicts of plain Python scalars/strings/lists. ``quick``
    gives a reduced-size run of the same code path.
``compute(point: dict, rng: numpy.random.Generator) -> dict[str, numpy.ndarray | float]``
    Pure function of one grid point and its Generator. The sweep derives the Generator from
    ``(seed, NAME, point)`` with ``numpy.random.SeedSequence`` (never from execution order), so
    results are bit-identical serially, on local processes, or on a Dask cluster. The result is
    cached on disk keyed by (NAME, point, code version).
``plot(results: list[tuple[dict, dict]], outdir: pathlib.Path) -> list[pathlib.Path]``
    Reads only the ``(point, result)`` pairs (in grid order) and writes PNG(s) plus a data file
    into ``outdir``; returns the paths written. Never recomputes.
``claims(results: list[tuple[dict, dict]]) -> list[quanttheory.claims.Claim]``
    Optional: ledger rows computed from the results.
"""

"""On-disk result cache of the experiment sweeps.

One file pair per grid point: ``<root>/<NAME>/<key>.npz`` (the result: arrays and scalars) and
``<key>.json`` (provenance: the point, seed, code version, library versions, git commit, wall
time; no host name). The key hashes ``(NAME, canonical point JSON, seed, code version)``, so
changing any of them misses the cache and recomputes; nothing is ever overwritten in place.

Both files are written atomically (temporary file in the same directory + ``os.replace``), the
provenance first and the ``.npz`` last: an ``.npz`` on disk therefore always belongs to a
finished point, and a sweep interrupted at any moment resumes from the points it completed.

Integrity: the provenance also records the key, the array names and the SHA-256 of the
``.npz`` bytes, checked on every load. A damaged entry (truncated or bit-flipped zip, bad
JSON, a missing array, a hash or key mismatch — e.g. two entries swapped) is a cache miss: a
:class:`CacheWarning` names the file, both files are moved to ``<root>/<NAME>/damaged/``, and
the point is recomputed. The ``.npz`` is written deterministically (fixed zip timestamps), so
a recomputed point is byte-identical to the lost one. :meth:`Cache.lock` gives a per-key file
lock, so that two runs sharing a cache compute each point once.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import io
import json
import math
import os
import platform
import subprocess
import tempfile
import time
import warnings
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from filelock import FileLock

import quanttheory

_PACKAGE_DIR = Path(quanttheory.__file__).resolve().parent
_KERNELS_DIR = _PACKAGE_DIR.parent / "kernels"
#: Fixed zip member timestamp (the zip epoch): the same arrays always give the same bytes.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
#: Temporary files older than this are left over from a killed run (no writer lives that long).
STALE_TMP_SECONDS = 3600.0


class CacheWarning(UserWarning):
    """A damaged cache entry was moved aside and will be recomputed."""


class DamagedEntry(Exception):
    """Raised inside :meth:`Cache.load` when an entry fails a check (internal)."""


def canonical_json(point: dict[str, Any]) -> str:
    """The canonical JSON text of a grid point (sorted keys, no spaces, finite numbers only).

    Raises
    ------
    TypeError
        If ``point`` is not a dict or holds something JSON cannot represent exactly.
    ValueError
        If it holds a NaN or an infinity (JSON has no spelling for them, and NaN ≠ NaN would
        make the cache key ill-defined).
    """
    if not isinstance(point, dict):
        raise TypeError(f"a grid point must be a dict, got {type(point).__name__}: {point!r}")
    _check_finite(point, point)
    try:
        return json.dumps(point, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except TypeError as err:
        raise TypeError(
            f"grid point {point!r} is not JSON-serialisable ({err}); use plain Python "
            "scalars, strings, lists and dicts"
        ) from None


def _check_finite(value: Any, point: dict[str, Any]) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"grid point {point!r} holds a non-finite number {value!r}")
    if isinstance(value, dict):
        for v in value.values():
            _check_finite(v, point)
    elif isinstance(value, list | tuple):
        for v in value:
            _check_finite(v, point)


def _hash_files(h: Any, files: Iterable[Path], base: Path) -> None:
    for f in sorted(files):
        h.update(str(f.relative_to(base)).encode())
        h.update(b"\0")
        h.update(f.read_bytes())
        h.update(b"\0")


@functools.cache
def _package_hash() -> str:
    # Once per process: the package sources as they were when this process started sweeping,
    # which is the code it runs (edits made afterwards are not imported by this process).
    h = hashlib.sha256()
    _hash_files(h, _PACKAGE_DIR.rglob("*.py"), _PACKAGE_DIR)
    if _KERNELS_DIR.is_dir():
        _hash_files(h, (f for f in _KERNELS_DIR.iterdir() if f.is_file()), _KERNELS_DIR)
    # Private helpers shared by experiment modules (experiments/_*.py) count as package code.
    experiments = importlib.import_module("quanttheory.experiments")  # installed from experiments/
    exp_dir = Path(experiments.__file__ or "").resolve().parent
    _hash_files(h, exp_dir.glob("_*.py"), exp_dir)
    return h.hexdigest()


def code_version(module: ModuleType) -> str:
    """The code version of an experiment: package version + hash of every source it may call.

    Hashes the experiment module's own source (read at each call), and, once per process,
    every ``quanttheory/**/*.py``, every ``experiments/_*.py`` (private helpers of experiment
    modules) and every file in ``kernels/`` when the source tree has one.
    Hashing everything is deliberately coarse: an unrelated edit recomputes a little too much,
    but a relevant one can never be missed.
    """
    src = Path(module.__file__ or "")
    h = hashlib.sha256(_package_hash().encode())
    h.update(src.name.encode() + b"\0" + src.read_bytes())
    return f"{quanttheory.__version__}+{h.hexdigest()[:16]}"


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=_PACKAGE_DIR, capture_output=True, text=True,
            timeout=10, check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def environment() -> dict[str, Any]:
    """Versions that can change a result: python, numpy, scipy, numba, and the git commit."""
    import numba
    import scipy

    return {
        "python": platform.python_version(), "numpy": np.__version__,
        "scipy": scipy.__version__, "numba": numba.__version__,
        "quanttheory": quanttheory.__version__, "git_commit": _git_commit(),
    }


def default_root() -> Path:
    """``$QUANTTHEORY_CACHE`` if set, else ``.quanttheory-cache/`` in the working directory."""
    return Path(os.environ.get("QUANTTHEORY_CACHE") or ".quanttheory-cache")


def _atomic_write(path: Path, write) -> None:
    # Same directory as the target, so os.replace is an atomic rename on POSIX.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class Cache:
    """A directory of cached sweep results (see the module docstring for the layout).

    Parameters
    ----------
    root : pathlib.Path
        Cache directory; created on first write.
    """

    root: Path

    def key(self, name: str, point: dict[str, Any], seed: int, version: str) -> str:
        """The file stem of one result: a hash of (NAME, point, seed, code version)."""
        text = json.dumps([name, canonical_json(point), int(seed), version])
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def _paths(self, name: str, key: str) -> tuple[Path, Path]:
        d = self.root / name
        return d / f"{key}.npz", d / f"{key}.json"

    def load(self, name: str, key: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """``(result, provenance)`` of a finished point, or ``None`` if it is not cached.

        A damaged entry counts as not cached: it is moved aside with a :class:`CacheWarning`.
        """
        npz, prov = self._paths(name, key)
        if not npz.exists():
            return None
        try:
            return _read_entry(npz, prov, key)
        except (DamagedEntry, OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
            moved = self._quarantine(npz, prov)
            warnings.warn(f"damaged cache entry {npz} ({type(err).__name__}: {err}); moved to "
                          f"{moved} and recomputing the point", CacheWarning, stacklevel=2)
            return None

    def _quarantine(self, *paths: Path) -> Path:
        dest = paths[0].parent / "damaged"
        dest.mkdir(exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S")
        for p in paths:
            if p.exists():
                os.replace(p, dest / f"{p.name}.{stamp}.{os.getpid()}")
        return dest

    def save(self, name: str, key: str, result: dict[str, Any], provenance: dict[str, Any]) -> None:
        """Write one result and its provenance atomically (provenance first, ``.npz`` last).

        The provenance gains ``key``, ``arrays`` (the result's names) and ``sha256`` (of the
        ``.npz`` bytes), which :meth:`load` checks.
        """
        payload = npz_bytes(_as_arrays(name, result))
        npz, prov = self._paths(name, key)
        npz.parent.mkdir(parents=True, exist_ok=True)
        meta = {**provenance, "key": key, "arrays": sorted(result),
                "sha256": hashlib.sha256(payload).hexdigest()}
        text = json.dumps(meta, indent=2, sort_keys=True).encode()
        _atomic_write(prov, lambda f: f.write(text))
        _atomic_write(npz, lambda f: f.write(payload))

    def lock(self, name: str, key: str) -> FileLock:
        """The inter-process lock of one key (``<root>/<NAME>/.locks/<key>.lock``).

        Released by the OS if its holder dies, so a killed run never blocks the next one.
        """
        d = self.root / name / ".locks"
        d.mkdir(parents=True, exist_ok=True)
        return FileLock(d / f"{key}.lock", thread_local=False)

    def clean_tmp(self, name: str, keys: Iterable[str] = (), *, max_age: float = STALE_TMP_SECONDS) -> int:
        """Remove stray temporary files: those of ``keys`` (whose locks the caller holds) and
        any older than ``max_age`` seconds. Returns how many were removed."""
        d = self.root / name
        if not d.is_dir():
            return 0
        mine = tuple(f".{k}." for k in keys)
        now, removed = time.time(), 0
        for tmp in d.glob(".*.tmp"):
            try:
                if tmp.name.startswith(mine) or now - tmp.stat().st_mtime > max_age:
                    tmp.unlink()
                    removed += 1
            except FileNotFoundError:  # another run finished or removed it meanwhile
                continue
        return removed


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """The ``.npz`` bytes of ``arrays``, deterministic (sorted names, fixed zip timestamps).

    ``np.savez`` stamps each member with the current time, so the same result would give a
    different file at every run; this writes what ``np.load`` reads, byte-identical each time.
    """
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for k in sorted(arrays):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asanyarray(arrays[k]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{k}.npy", date_time=_ZIP_EPOCH)
            info.external_attr = 0o600 << 16
            zf.writestr(info, member.getvalue())
    return buf.getvalue()


def save_npz(path: Path, arrays: dict[str, Any]) -> Path:
    """Write ``arrays`` to ``path`` as a deterministic ``.npz`` (see :func:`npz_bytes`), atomically.

    For figure data files: unchanged results give a byte-identical file (``git status`` clean).
    """
    path = Path(path)
    payload = npz_bytes({k: np.asarray(v) for k, v in arrays.items()})
    _atomic_write(path, lambda f: f.write(payload))
    return path


def _read_entry(npz: Path, prov: Path, key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Load and check one entry; raises (DamagedEntry, zip/IO/JSON errors) if anything is off."""
    payload = npz.read_bytes()
    try:
        meta = json.loads(prov.read_text())
    except FileNotFoundError:
        raise DamagedEntry(f"provenance {prov.name} is missing") from None
    if not isinstance(meta, dict) or meta.get("key") != key:
        raise DamagedEntry(f"provenance belongs to key {meta.get('key') if isinstance(meta, dict) else None!r}")
    if hashlib.sha256(payload).hexdigest() != meta.get("sha256"):
        raise DamagedEntry("SHA-256 of the .npz does not match its provenance")
    with np.load(io.BytesIO(payload), allow_pickle=False) as data:
        # 0-d arrays were scalars in the result: give back Python scalars.
        result = {k: (v.item() if v.ndim == 0 else v) for k, v in data.items()}
    if sorted(result) != meta.get("arrays"):
        raise DamagedEntry(f"arrays {sorted(result)} differ from the recorded {meta.get('arrays')}")
    return result, meta


def _as_arrays(name: str, result: Any) -> dict[str, np.ndarray]:
    if not isinstance(result, dict) or not all(isinstance(k, str) for k in result):
        raise TypeError(f"{name}.compute must return a dict[str, array | scalar], got {result!r:.200}")
    out = {}
    for k, v in result.items():
        arr = np.asarray(v)
        if arr.dtype == object:
            raise TypeError(
                f"{name}.compute returned {k}={v!r:.100} of type {type(v).__name__}; "
                "results must be numeric/bool/str arrays or scalars"
            )
        out[k] = arr
    return out

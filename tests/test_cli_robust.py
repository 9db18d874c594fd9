"""Nothing silent, nothing stuck: closed pipes, Ctrl-C (serial, --jobs, Dask), parent death,
unwritable directories, unreachable schedulers, help texts."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from quanttheory import _cli_support, cli, sweep

SLOW = textwrap.dedent(
    '''
    """A slow toy experiment: announces its pid in $QT_SLOW_MARK, then works for up to a minute."""
    import os, time

    NAME = "{name}"
    PAPER = "none (test)"
    CLAIMS = ()


    def grid(quick):
        return [{{"i": i}} for i in range(12)]  # more points than workers: some pending at Ctrl-C


    def compute(point, rng):
        mark = os.environ["QT_SLOW_MARK"]
        with open(os.path.join(mark, str(os.getpid())), "w") as f:
            f.write("started")
        if os.environ.get("QT_SLOW_NUMBA"):  # compiled code: no Python signal handler runs inside
            from numba import njit

            @njit
            def spin(n):
                s = 0
                for i in range(n):
                    s = (s * 1103515245 + i) % 2147483648
                return s

            spin(10)  # compile first, then announce, then spin for minutes
            with open(os.path.join(mark, "spinning"), "w") as f:
                f.write("spinning")
            return {{"i": spin(10**12)}}
        if os.environ.get("QT_SLOW_WRAP"):  # Ctrl-C surfacing as another exception (as numba's)
            try:
                time.sleep(60)
            except KeyboardInterrupt as err:
                raise SystemError("error return without exception set") from err
        for _ in range(600):
            time.sleep(0.1)
        return {{"i": point["i"]}}


    def plot(results, outdir):
        return []
    '''
)

MAIN = ("import sys; sys.path.insert(0, sys.argv[1]); import qt_slow; from quanttheory import cli; "
        "cli.get_experiment = lambda name: qt_slow; sys.exit(cli.main(sys.argv[2:]))")


def _cli(moddir: Path, *args: str) -> list[str]:
    return [sys.executable, "-c", MAIN, str(moddir), *args]


_STARTED: list[subprocess.Popen] = []


@pytest.fixture
def slow(tmp_path, monkeypatch):
    """Directory holding the slow toy module ``qt_slow`` and the marker directory.

    Teardown kills every CLI process group the test started: when a test fails before its Ctrl-C
    lands (a liveness bound hit on an overloaded machine), the child would otherwise spin in
    ``spin(10**12)`` for hours and starve the tests after it.
    """
    (tmp_path / "qt_slow.py").write_text(SLOW.format(name="qt-slow"))
    (tmp_path / "marks").mkdir()
    yield tmp_path
    while _STARTED:
        proc = _STARTED.pop()
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait_for(cond, what: str, limit: float = 120.0) -> None:
    end = time.monotonic() + limit  # a liveness bound, not a timing criterion
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def _default_sigint() -> None:
    """The child starts as a terminal's foreground command would: SIGINT at its default. A test
    run launched in the background of a non-interactive shell (``cmd &``) inherits SIGINT ignored,
    the child with it, and Ctrl-C then does nothing — the CLI rightly keeps an inherited ignore."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(slow: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    env = {**os.environ, "QT_SLOW_MARK": str(slow / "marks"), "PYTHONPATH": str(slow), **(env or {})}
    proc = subprocess.Popen(
        _cli(slow, "run", "qt_slow", "--quick", "--quiet", "--cache", str(slow / "cache"),
             "--outdir", str(slow / "out"), *args),
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        preexec_fn=_default_sigint)
    _STARTED.append(proc)
    return proc


def _interrupt_and_check(proc: subprocess.Popen, slow: Path) -> None:
    _wait_for(lambda: any((slow / "marks").iterdir()) or proc.poll() is not None, "a point to start")
    assert proc.poll() is None, proc.communicate()
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground process group
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == [cli.INTERRUPTED], err


@pytest.mark.parametrize("args", [("--jobs", "1"), ("--jobs", "2"), ("--in-process",)],
                         ids=["serial", "jobs2", "in-process"])
def test_ctrl_c_exits_130_with_one_line(slow, args):
    _interrupt_and_check(_start(slow, *args), slow)


def test_ctrl_c_inside_compiled_numba_code_exits_130(slow):
    proc = _start(slow, "--jobs", "1", env={"QT_SLOW_NUMBA": "1"})
    _wait_for(lambda: (slow / "marks" / "spinning").exists() or proc.poll() is not None, "numba to spin")
    _interrupt_and_check(proc, slow)
    worker = next(int(p.name) for p in (slow / "marks").iterdir() if p.name.isdigit())
    _wait_for(lambda: not _alive(worker), "the worker to be terminated")


def test_ctrl_c_wrapped_in_another_exception_exits_130(slow):
    _interrupt_and_check(_start(slow, "--in-process", env={"QT_SLOW_WRAP": "1"}), slow)


def test_ctrl_c_dask_exits_130(slow, monkeypatch):
    distributed = pytest.importorskip("distributed")
    monkeypatch.setenv("QT_SLOW_MARK", str(slow / "marks"))  # inherited by the Dask workers
    monkeypatch.syspath_prepend(str(slow))  # spawned workers inherit sys.path
    with distributed.LocalCluster(host="127.0.0.1", n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        _interrupt_and_check(_start(slow, "--scheduler", cluster.scheduler_address), slow)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_workers_exit_when_the_parent_is_killed(slow):
    proc = _start(slow, "--jobs", "2")
    _wait_for(lambda: len(list((slow / "marks").iterdir())) >= 2, "both workers to start")
    workers = [int(p.name) for p in (slow / "marks").iterdir()]
    assert proc.pid not in workers
    proc.kill()
    proc.wait()
    _wait_for(lambda: not any(_alive(w) for w in workers), "the orphaned workers to exit")


def test_closed_stdout_pipe_is_quiet():
    r, w = os.pipe()
    os.close(r)  # like `quanttheory list | head -1` once head has exited
    proc = subprocess.run([sys.executable, "-m", "quanttheory.cli", "list"], stdout=w,
                          stderr=subprocess.PIPE, text=True, timeout=300)
    os.close(w)
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
    assert proc.returncode == 141


def test_head_of_list_through_a_shell_pipe():
    cmd = f"{sys.executable} -m quanttheory.cli list | head -1"
    proc = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, timeout=300)
    assert proc.stdout.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr


def test_unwritable_outdir_is_named_before_any_compute(slow, capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(slow))
    importlib.invalidate_caches()
    monkeypatch.setattr(cli, "get_experiment", lambda name: importlib.import_module(name))
    blocker = slow / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("QT_SLOW_MARK", str(slow / "marks"))
    rc = cli.main(["run", "qt_slow", "--jobs", "1", "--outdir", str(blocker / "sub"),
                   "--cache", str(slow / "cache")])
    assert rc == 2
    assert f"--outdir {str(blocker / 'sub')!r} is not writable" in capsys.readouterr().err
    assert not any((slow / "marks").iterdir()) and not (slow / "cache").exists()


def test_unreachable_scheduler_is_one_error_after_a_bounded_wait(slow, capsys, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(sweep, "SCHEDULER_TIMEOUT", 1.0)
    monkeypatch.syspath_prepend(str(slow))
    importlib.invalidate_caches()
    monkeypatch.setattr(cli, "get_experiment", lambda name: importlib.import_module(name))
    rc = cli.main(["run", "qt_slow", "qt_slow", "--quick", "--scheduler", "tcp://127.0.0.1:9", "--quiet",
                   "--cache", str(slow / "cache"), "--outdir", str(slow / "out")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("cannot reach the Dask scheduler") == 1, err
    assert "Traceback" not in err


@pytest.mark.parametrize("argv", [["bench", "kernels", "--repeats", "0"], ["bench", "optim", "--repeats=-3"]])
def test_bench_rejects_nonpositive_repeats(argv, capsys):
    assert cli.main(argv) == 2
    assert "--repeats" in capsys.readouterr().err


def test_run_help_lists_the_experiments(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["run", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "experiments:" in out and "apot-levels" in out and "li2017-fig1" in out


def _parsers(p: argparse.ArgumentParser):
    yield p
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


def test_help_texts_are_plain_and_complete():
    for p in _parsers(cli.build_parser()):
        text = p.format_help()
        assert "``" not in text and ":func:" not in text and ":mod:" not in text, text
        for action in p._actions:
            assert action.help, f"{p.prog}: {action.dest} has no help"


def test_interrupted_follows_cause_and_context():
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise SystemError("numba") from None  # suppressed context still recorded
    except SystemError as err:
        wrapped = err
    assert cli.interrupted(wrapped) and not cli.interrupted(ValueError("x"))
    outer = RuntimeError("outer")
    outer.__cause__ = wrapped
    assert cli.interrupted(outer)


def test_numba_compile_notice_is_one_line(capsys, monkeypatch):
    monkeypatch.setattr(cli.NUMBA_NOTICE, "shown", False)
    cli.NUMBA_NOTICE.install()
    cli.NUMBA_NOTICE.install()  # idempotent
    from numba import njit

    @njit(cache=False)
    def f(x):
        return x + 1

    f(1)
    f(1.0)
    err = capsys.readouterr().err
    assert err.count("note: compiling numba kernels") == 1


SAVEZ_TOY = textwrap.dedent(
    '''
    """A toy experiment whose plot uses plain np.savez (zip members stamped with the time)."""
    from pathlib import Path

    import numpy as np

    from quanttheory.claims import Claim

    NAME = "qt-savez"
    PAPER = "none (test)"
    CLAIMS = ("savez-1",)


    def grid(quick):
        return [{"i": i} for i in range(3)]


    def compute(point, rng):
        return {"x": rng.standard_normal(5)}


    def plot(results, outdir):
        path = Path(outdir) / "data.npz"
        np.savez(path, **{f"x{p['i']}": r["x"] for p, r in results})
        return [path]


    def claims(results):
        m = float(np.mean([r["x"].mean() for _, r in results]))
        return [Claim("savez-1", PAPER, "a toy", m, "> -10", m > -10, "toy")]
    '''
)


def test_figures_twice_leaves_git_status_clean(tmp_path, monkeypatch):
    if subprocess.run(["git", "--version"], capture_output=True).returncode != 0:
        pytest.skip("git is not installed")
    (tmp_path / "qt_savez.py").write_text(SAVEZ_TOY)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    module = importlib.import_module("qt_savez")
    monkeypatch.setattr(cli, "discover", lambda: {module.NAME: module})
    repo = tmp_path / "repo"
    repo.mkdir()
    monkeypatch.chdir(repo)
    (repo / "README.md").write_text("<!-- gallery:start -->\n<!-- gallery:end -->\n"
                                    "<!-- claims:start -->\n<!-- claims:end -->\n")
    (repo / ".gitignore").write_text(Path(__file__).parents[1].joinpath(".gitignore").read_text())
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q"], check=True)
    argv = ["figures", "--jobs", "1", "--quiet", "--cache", str(tmp_path / "cache")]
    assert cli.main(argv) == 0
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "figures"], check=True)
    time.sleep(2.1)  # np.savez stamps 2-second zip times: make sure the clock has moved on
    assert cli.main(argv) == 0
    status = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, check=True)
    assert status.stdout == "", status.stdout
    assert (repo / "figures" / "runs.json").exists()  # written, but ignored


def test_first_compile_notice_when_numba_cache_is_empty(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(_cli_support, "_PACKAGE_DIR", tmp_path)  # no *.nbi anywhere
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(cli.NUMBA_NOTICE, "shown", False)
    assert not _cli_support.numba_cached()
    _cli_support.first_compile_notice()
    _cli_support.first_compile_notice()
    assert capsys.readouterr().err.count("note: compiling numba kernels") == 1
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "m.f-1.py311.nbi").write_bytes(b"")
    assert _cli_support.numba_cached()

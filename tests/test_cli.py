"""The ``quanttheory`` command, driven through ``main([...])``."""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
import types

import pytest

from quanttheory import __version__, cli

TOY = textwrap.dedent(
    '''
    """A toy experiment with one claim.

    Second paragraph, not in the gallery.
    """
    from pathlib import Path

    import numpy as np

    from quanttheory.claims import Claim

    NAME = "toy-cli"
    PAPER = "Toy paper, Fig. 9"
    CLAIMS = ("toy-1",)
    FAIL = False


    def grid(quick):
        return [{"i": i} for i in range(2 if quick else 3)]


    def compute(point, rng):
        if FAIL:
            raise RuntimeError("boom")
        return {"u": float(rng.uniform())}


    def plot(results, outdir):
        path = Path(outdir) / "toy.png"
        path.write_bytes(b"not really a png")
        return [path]


    def claims(results):
        m = max(r["u"] for _, r in results)
        return [Claim("toy-1", PAPER, "the max is above 2", m, "> 2", m > 2, "toy")]
    '''
)


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """The toy experiment as the only discovered one; cache and cwd in tmp_path."""
    (tmp_path / "qt_toy_cli.py").write_text(TOY)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    sys.modules.pop("qt_toy_cli", None)
    module = importlib.import_module("qt_toy_cli")
    monkeypatch.setattr(cli, "discover", lambda: {module.NAME: module})
    monkeypatch.setattr(cli, "get_experiment", lambda name: module)
    monkeypatch.setenv("QUANTTHEORY_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    yield module
    sys.modules.pop("qt_toy_cli", None)


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0 and __version__ in capsys.readouterr().out


def test_list_real_experiments(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for name, paper in [("dsq-softmap", "DSQ"), ("apot-levels", "APoT"), ("qn-softmap", "Quantization Networks")]:
        assert name in out and paper in out
    assert "apot-pot-rigid" in out


def test_run_quick_then_cached(toy, tmp_path, capsys):
    assert cli.main(["run", "toy-cli", "--quick", "--jobs", "1"]) == 0
    assert (tmp_path / "figures/quick/toy-cli/toy.png").exists()  # --quick never writes figures/
    assert "2 computed, 0 cached" in capsys.readouterr().err
    assert cli.main(["run", "toy-cli", "--quick", "--jobs", "1", "--outdir", "out"]) == 0
    assert "0 computed, 2 cached" in capsys.readouterr().err
    assert (tmp_path / "out/toy-cli/toy.png").exists()


def test_run_real_experiment_quick(tmp_path, monkeypatch):
    monkeypatch.setenv("QUANTTHEORY_CACHE", str(tmp_path / "cache"))
    assert cli.main(["run", "qn-softmap", "--quick", "--jobs", "1", "--quiet", "--outdir", str(tmp_path)]) == 0
    assert (tmp_path / "qn-softmap/qn_softmap.png").exists()


def test_unknown_experiment(capsys):
    assert cli.main(["run", "no-such-experiment", "--quick"]) == 2
    assert "unknown experiment 'no-such-experiment'" in capsys.readouterr().err


@pytest.mark.parametrize(("option", "value"), [("--jobs", "0"), ("--seed", "-1"), ("--seed", "x")])
def test_bad_integer_options_are_one_line_usage_errors(capsys, option, value):
    with pytest.raises(SystemExit) as exc:
        cli.main(["run", "dsq-softmap", option, value])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}:" in err and "Traceback" not in err


def test_claims_json_exit_zero_when_claim_fails(toy, capsys):
    assert cli.main(["claims", "--quick", "--json", "--jobs", "1", "--quiet"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == ["toy-1"] and rows[0]["holds"] is False
    assert 0 <= rows[0]["measured"] < 1


def test_claims_error_exits_nonzero(toy, monkeypatch, capsys):
    monkeypatch.setattr(toy, "FAIL", True)  # seen in this process only
    assert cli.main(["claims", "--quick", "--in-process", "--quiet"]) == 1
    assert "toy-cli failed" in capsys.readouterr().err


def test_figures_writes_gallery_ledger_and_readme(toy, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("top\n<!-- gallery:start -->\nOLD-CONTENT\n<!-- gallery:end -->\n"
                      "<!-- claims:start -->\nOLD-CONTENT\n<!-- claims:end -->\nbottom\n")
    assert cli.main(["figures", "--quick", "--jobs", "1", "--quiet"]) == 0
    assert "OLD-CONTENT" in readme.read_text()  # a quick run never touches the README
    gallery = (tmp_path / "figures/quick/README.md").read_text()
    assert "A toy experiment with one claim." in gallery and "Second paragraph" not in gallery
    assert 'src="toy-cli/toy.png"' in gallery and "**fails**" in gallery
    assert json.loads((tmp_path / "figures/quick/claims.json").read_text())[0]["id"] == "toy-1"
    assert "| toy-1 |" in (tmp_path / "figures/quick/claims.md").read_text()
    runs = json.loads((tmp_path / "figures/quick/runs.json").read_text())
    assert runs["experiments"][0]["points"] == 2 and runs["quick"] is True

    assert cli.main(["figures", "--jobs", "1", "--quiet"]) == 0
    text = readme.read_text()
    assert "OLD-CONTENT" not in text and text.startswith("top\n") and text.endswith("bottom\n")
    assert 'src="figures/toy-cli/toy.png"' in text and "| toy-1 |" in text


def test_bench_dispatch_and_missing(monkeypatch, capsys):
    seen = []
    fake = types.ModuleType("quanttheory.bench.optim")
    fake.main = lambda argv: seen.append(argv) or 0
    monkeypatch.setitem(sys.modules, "quanttheory.bench.optim", fake)
    assert cli.main(["bench", "optim", "--size", "3"]) == 0
    assert seen == [["--size", "3"]]
    monkeypatch.setitem(sys.modules, "quanttheory.bench.kernels", None)  # import fails
    assert cli.main(["bench", "kernels"]) == 2
    assert "benchmark 'kernels' is not available" in capsys.readouterr().err


def test_explicit_only_run_writes_provenance_and_figures_redraws_it(toy, tmp_path, monkeypatch, capsys):
    """An EXPLICIT_ONLY experiment: ``run`` computes it and writes provenance.json (per point: the
    cache's code version and wall time); ``figures`` does not compute it but takes its rows
    from ``committed_results``."""
    monkeypatch.setattr(toy, "EXPLICIT_ONLY", True, raising=False)
    assert cli.main(["run", "toy-cli", "--jobs", "1", "--quiet", "--seed", "3"]) == 0
    prov = json.loads((tmp_path / "figures/toy-cli/provenance.json").read_text())
    assert prov["experiment"] == "toy-cli" and prov["seed"] == 3 and len(prov["grid"]) == 3
    assert prov["command"].startswith("quanttheory ")
    assert [p["point"] for p in prov["per_point"]] == prov["grid"]
    assert all(p["code_version"].startswith(__version__) and p["wall_seconds"] >= 0 for p in prov["per_point"])
    assert "3 points computed, 0 from the cache" in prov["note"]

    monkeypatch.setattr(toy, "committed_results", lambda: [({"i": 0}, {"u": 5.0})], raising=False)
    assert cli.main(["figures", "--jobs", "1", "--quiet", "--readme", "none.md"]) == 0
    ledger = json.loads((tmp_path / "figures/claims.json").read_text())
    assert ledger[0]["id"] == "toy-1" and ledger[0]["measured"] == 5.0  # computed u would be < 1


def test_committed_rows_of_another_seed_are_left_out(toy, tmp_path, monkeypatch, capsys):
    """``claims --seed 1`` must not report an explicit-only experiment's seed-0 rows as seed 1's."""
    from quanttheory import committed
    monkeypatch.setattr(toy, "EXPLICIT_ONLY", True, raising=False)
    monkeypatch.setattr(toy, "committed_results", lambda: [({"i": 0}, {"u": 5.0})], raising=False)
    monkeypatch.setattr(committed, "committed_seed", lambda name: 0)
    assert cli.main(["claims", "--json", "--quiet", "--seed", "1"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == [] and "committed results are for --seed 0" in captured.err
    assert cli.main(["claims", "--json", "--quiet", "--seed", "0"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["measured"] == 5.0

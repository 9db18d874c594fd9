"""Build hardening (issue 10, item 6): missing SIMDe is a clear error, older compilers get the
same ISA without -march=x86-64-v2, and a stale build/ is never reused."""

import runpy
from pathlib import Path

import pytest
from setuptools import Distribution

SETUP = runpy.run_path(str(Path(__file__).resolve().parents[2] / "setup.py"), run_name="setup_under_test")


def test_missing_simde_names_both_packages(tmp_path):
    with pytest.raises(RuntimeError, match=r"simde-py.*libsimde-dev.*Looked in: " + str(tmp_path)):
        SETUP["find_simde"]([str(tmp_path)])
    (tmp_path / "simde" / "arm").mkdir(parents=True)
    (tmp_path / "simde" / "arm" / "neon.h").write_text("")
    assert SETUP["find_simde"](["/nonexistent", str(tmp_path)]) == str(tmp_path)


class _OldGcc:
    """A compiler that, like GCC < 11, rejects -march=x86-64-v2."""

    def __init__(self, accepts_anything_else=True):
        self.ok = accepts_anything_else

    def compile(self, sources, output_dir, extra_postargs):
        if "-march=x86-64-v2" in extra_postargs or not self.ok:
            raise RuntimeError("unrecognized -march")
        return []


def test_march_falls_back_for_older_gcc():
    assert SETUP["pick_x86_flags"](_OldGcc()) == ["-mssse3", "-msse4.2", "-mpopcnt"]
    assert SETUP["pick_x86_flags"](_OldGcc(accepts_anything_else=False)) == []


def test_build_ext_always_rebuilds():
    cmd = SETUP["BuildKernels"](Distribution())
    cmd.initialize_options()
    cmd.finalize_options()
    assert cmd.force

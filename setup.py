"""Build script: the package metadata lives in pyproject.toml; this file only adds the C
kernels (kernels/*.c), which need a compiler and include paths computed at build time.

On AArch64 the kernels compile against the compiler's own arm_neon.h; elsewhere against SIMDe
(headers from the simde-py build requirement, falling back to Debian's libsimde-dev in
/usr/include), with -march=x86-64-v2 on x86-64 (or, for compilers older than GCC 11 that do
not know it, the same features spelled -mssse3 -msse4.2 -mpopcnt) so that TBL and CNT map to
PSHUFB and POPCNT instead of scalar loops. Every build recompiles every source: a build/
directory left by another compiler, flag set or SIMDe version is never reused.
"""

import os
import platform
import tempfile

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

SIMDE_HEADER = os.path.join("simde", "arm", "neon.h")
SIMDE_HELP = ("SIMDe headers (simde/arm/neon.h) not found: the kernels need them on non-ARM machines. "
              "Install the PyPI package `simde-py` (a build requirement; `pip install simde-py`) or the "
              "Debian package `libsimde-dev` (`apt-get install libsimde-dev`).")
KERNEL_SOURCES = ("qt_module.c", "qt_popcount.c", "qt_bytes.c", "qt_scalar.c", "qt_sdot.c", "qt_binary.c",
                  "qt_pack.c", "qt_shiftadd.c")
X86_FLAGS = (["-march=x86-64-v2"], ["-mssse3", "-msse4.2", "-mpopcnt"])


def _is_arm() -> bool:
    return platform.machine().lower() in ("aarch64", "arm64")


def find_simde(candidates: list[str]) -> str:
    """The first directory holding simde/arm/neon.h; raises naming both packages if none."""
    for inc in candidates:
        if os.path.isfile(os.path.join(inc, SIMDE_HEADER)):
            return inc
    raise RuntimeError(f"{SIMDE_HELP} Looked in: {', '.join(candidates) or '(nothing)'}")


def _include_dirs() -> list[str]:
    """SIMDe include directory (simde-py first, then Debian's /usr/include) plus kernels/."""
    if _is_arm():
        return ["kernels"]
    candidates = []
    try:
        import simde_py

        candidates.append(simde_py.get_include())
    except ImportError:
        pass
    return [find_simde([*candidates, "/usr/include"]), "kernels"]


def _accepts(compiler, flags: list[str]) -> bool:
    """Whether ``compiler`` compiles an empty C file with ``flags``."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write("int qt_probe(void) { return 0; }\n")
        try:
            compiler.compile([src], output_dir=tmp, extra_postargs=flags)
        except Exception:
            return False
    return True


def pick_x86_flags(compiler) -> list[str]:
    """-march=x86-64-v2 (GCC >= 11, clang >= 12), else the same ISA spelled out, else none."""
    return next((f for f in X86_FLAGS if _accepts(compiler, f)), [])


class BuildKernels(build_ext):
    """Always rebuild (``force``), and pick the x86 ISA flags the compiler understands."""

    def finalize_options(self):
        super().finalize_options()
        self.force = True  # after the base class copied build's (false) default

    def build_extensions(self):
        if platform.machine().lower() in ("x86_64", "amd64"):
            flags = pick_x86_flags(self.compiler)
            for ext in self.extensions:
                ext.extra_compile_args = [*ext.extra_compile_args, *flags]
        super().build_extensions()


def _extension() -> Extension:
    return Extension(
        "quanttheory._qtkernels",
        sources=[f"kernels/{s}" for s in KERNEL_SOURCES],
        depends=["kernels/qt_kernels.h"],
        include_dirs=_include_dirs(),
        # -ffp-contract=off: the fused float epilogues of the NEON kernels and their scalar
        # twins must round identically (no FMA contraction on one side only)
        extra_compile_args=["-O3", "-std=c11", "-ffp-contract=off"],
    )


if __name__ == "__main__":  # as setuptools' build backend runs it; tests import the helpers
    setup(ext_modules=[_extension()], cmdclass={"build_ext": BuildKernels})

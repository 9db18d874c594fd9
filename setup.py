"""Build script: the package metadata lives in pyproject.toml; this file only adds the C
kernels (kernels/*.c), which need a compiler and include paths computed at build time.

On AArch64 the kernels compile against the compiler's own arm_neon.h; elsewhere against SIMDe
(headers from the simde-py build requirement, falling back to Debian's libsimde-dev in
/usr/include), with -march=x86-64-v2 on x86-64 so that TBL and CNT map to PSHUFB and POPCNT
instead of scalar loops.
"""

import platform

from setuptools import Extension, setup


def _include_dirs() -> list[str]:
    try:
        import simde_py

        return [simde_py.get_include(), "kernels"]
    except ImportError:  # Debian libsimde-dev puts simde/ under /usr/include
        return ["/usr/include", "kernels"]


def _compile_args() -> list[str]:
    args = ["-O3", "-std=c11"]
    if platform.machine().lower() in ("x86_64", "amd64"):
        args.append("-march=x86-64-v2")
    return args


kernels = Extension(
    "quanttheory._qtkernels",
    sources=["kernels/qt_module.c", "kernels/qt_popcount.c", "kernels/qt_bytes.c",
             "kernels/qt_scalar.c"],
    depends=["kernels/qt_kernels.h"],
    include_dirs=_include_dirs(),
    extra_compile_args=_compile_args(),
)

setup(ext_modules=[kernels])

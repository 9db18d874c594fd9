"""Compatibility path: the qemu-aarch64 harness lives in :mod:`quanttheory.kernels.qemu`."""

from .kernels.qemu import (  # noqa: F401
    C_SOURCES,
    DEBIAN_PACKAGES,
    SOURCE_DIR,
    Case,
    build_driver,
    call,
    count_instructions,
    missing_tools,
    run_cases,
)

import os
import subprocess

import pytest

from quanttheory.kernels.qemu import SOURCE_DIR, build_driver, missing_tools


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    """The AArch64 driver, cross-compiled once per module; skip (or fail under
    QT_REQUIRE_QEMU=1, as in CI) naming the missing Debian packages."""
    missing = missing_tools()
    if not SOURCE_DIR.is_dir():
        missing.append(f"the kernels/ source tree (expected at {SOURCE_DIR})")
    if missing:
        msg = f"AArch64 toolchain missing: install Debian packages {' '.join(missing)}"
        if os.environ.get("QT_REQUIRE_QEMU") == "1":
            pytest.fail(msg + " (QT_REQUIRE_QEMU=1 makes this a failure)")
        pytest.skip(msg)
    try:
        return build_driver(tmp_path_factory.mktemp("aarch64"))
    except subprocess.CalledProcessError as err:
        pytest.fail(f"cross-compilation failed:\n{err.stderr}")

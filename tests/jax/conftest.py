import pytest


@pytest.fixture(autouse=True, scope="module")
def x64():
    """float64 like the numpy reference (the float32 test switches it off inside)."""
    jax = pytest.importorskip("jax")
    with jax.enable_x64(True):
        yield

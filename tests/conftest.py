import os

import matplotlib
import numpy as np
import pytest
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")

# One hypothesis profile for the whole suite; CI gets more examples and no deadline
# (shared, noisy machines: timing is never a test criterion here).
settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=100
)
settings.register_profile(
    "ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=200,
    derandomize=True,
)
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh, fixed-seed Generator per test (no global random state anywhere)."""
    return np.random.default_rng(20171204)

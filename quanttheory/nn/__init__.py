"""A tiny numpy network with a binary-weight first layer (the Table-1 analogue of Li et al. 2017).

``data``  teacher–student classification data generated from a Generator
``mlp``   the binary-first-layer MLP and ``train_binary`` (float Adam, BC-, Big SR-, SR-, R-Adam)
"""

from .data import Dataset, teacher_student
from .mlp import METHODS, History, train_binary

__all__ = ["METHODS", "Dataset", "History", "teacher_student", "train_binary"]

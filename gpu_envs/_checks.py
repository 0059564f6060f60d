"""Small argument checks shared by the env's constructors."""

from __future__ import annotations

import numpy as np


def is_positive_int(value) -> bool:
    """Whether `value` is a Python or NumPy integer >= 1 (bools are not counts)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1

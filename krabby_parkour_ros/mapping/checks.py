# Copyright 2026 Krabby parkour maintainers
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""Allocation-free input checks shared by the observation builder and the action mapper."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def constant(value: float, dtype: npt.DTypeLike = np.float64) -> np.ndarray:
    """
    Return a read-only 0-d array holding ``value``.

    Ufuncs given a Python scalar operand wrap it in a temporary array on
    every call; a preallocated 0-d operand avoids that allocation.
    """
    array = np.array(value, dtype=dtype)
    array.setflags(write=False)
    return array


def non_finite_indices(array: np.ndarray) -> list:
    """Return the indices of the non-finite elements (error path only)."""
    return np.flatnonzero(~np.isfinite(array)).tolist()

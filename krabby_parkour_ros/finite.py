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

"""Whether an array holds only finite numbers: one check for the decoder and the mappers."""

from __future__ import annotations

import math

import numpy as np

_minimum = np.minimum.reduce
_maximum = np.maximum.reduce


def all_finite(array: np.ndarray) -> bool:
    """
    Return True when every element of an array is finite.

    Its minimum and maximum decide: a NaN propagates into both, an infinity
    is one of them. The reductions are called on the ufuncs directly
    (``ndarray.min`` goes through a Python wrapper) and, unlike a sum,
    cannot overflow or warn.
    """
    return not array.size or (
        math.isfinite(_minimum(array, None)) and math.isfinite(_maximum(array, None))
    )

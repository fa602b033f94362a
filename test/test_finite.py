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

"""``all_finite`` against ``np.isfinite`` on every element, over dtypes, shapes and patterns."""

import numpy as np
import pytest

from krabby_parkour_ros.finite import all_finite

SPECIALS = (np.nan, np.inf, -np.inf)


def _cases() -> list[np.ndarray]:
    rng = np.random.default_rng(16)
    cases: list[np.ndarray] = [np.zeros(0), np.zeros((0, 3), np.float32)]
    for dtype in (np.float64, np.float32, np.float16):
        info = np.finfo(dtype)
        for shape in ((1,), (18,), (58, 87), (4, 5, 3)):
            size = int(np.prod(shape))
            extremes = np.resize(np.array([info.max, info.min, info.tiny, -0.0], dtype), size)
            cases.append(extremes.reshape(shape))
            cases.append(rng.normal(0.0, 1e3, size).astype(dtype).reshape(shape))
            for special in SPECIALS:
                for where in (0, size // 2, size - 1):
                    values = rng.normal(0.0, 1.0, size).astype(dtype)
                    values[where] = special
                    cases.append(values.reshape(shape))
            both = np.zeros(size, dtype)
            both[0], both[-1] = np.inf, -np.inf
            cases.append(both.reshape(shape))
    cases.append(np.arange(-5, 5, dtype=np.int64))
    cases.append(np.array([True, False]))
    cases.append(np.zeros((58, 87), np.float32)[:, ::2])  # not contiguous
    return cases


@pytest.mark.parametrize('array', _cases())
def test_all_finite_agrees_with_isfinite(array: np.ndarray) -> None:
    assert all_finite(array) is bool(np.isfinite(array).all())


def test_no_warning_on_extremes_or_specials() -> None:
    with np.errstate(all='raise'):
        assert not all_finite(np.array([np.inf, -np.inf, np.nan]))
        assert all_finite(np.full(8, np.finfo(np.float64).max))

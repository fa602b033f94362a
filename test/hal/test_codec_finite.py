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

"""
The decoder's finiteness check against an independent element-by-element test.

The decoder decides from each array frame's minimum and maximum
(:func:`krabby_parkour_ros.finite.all_finite`); these are the cases a shortcut
could get wrong (values at the float32 limits, an infinity and a minus
infinity, one bad element among many), each compared with ``np.isfinite`` on
every element.
"""

import numpy as np
import pytest

from krabby_parkour_ros.hal.codec import decode_observation
from krabby_parkour_ros.hal.errors import NonFiniteError

from .helpers import small_frames

#: Array frames of the observation message and their shapes in ``small_frames``.
FRAMES = {'joint_positions': (3, (18,)), 'depth_map': (6, (4, 5)), 'confidence_map': (7, (4, 5))}
F32_MAX = float(np.finfo(np.float32).max)


def _patterns(shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    size = int(np.prod(shape))
    last_nan = np.ones(size, np.float32)
    last_nan[-1] = np.nan
    opposite = np.zeros(size, np.float32)
    opposite[0], opposite[-1] = np.inf, -np.inf
    one_inf = np.full(size, -F32_MAX, np.float32)
    one_inf[size // 2] = np.inf
    return {
        'all_at_float32_max': np.full(size, F32_MAX, np.float32),
        'all_at_float32_lowest': np.full(size, -F32_MAX, np.float32),
        'alternating_extremes': np.resize(np.array([F32_MAX, -F32_MAX], np.float32), size),
        'smallest_subnormal': np.full(size, np.float32(1e-45), np.float32),
        'last_is_nan': last_nan,
        'inf_and_minus_inf': opposite,
        'one_inf_among_lowest': one_inf,
    }


@pytest.mark.parametrize('key', sorted(FRAMES))
@pytest.mark.parametrize('pattern', sorted(_patterns((18,))))
def test_finiteness_matches_an_element_by_element_test(key: str, pattern: str) -> None:
    index, shape = FRAMES[key]
    values = _patterns(shape)[pattern].reshape(shape)
    frames = small_frames(7)
    frames[index] = values.tobytes()
    expected_bad = int(np.count_nonzero(~np.isfinite(values)))
    if expected_bad:
        with pytest.raises(NonFiniteError) as info:
            decode_observation(frames)
        assert str(info.value) == (
            f'{key}: expected finite values, got {expected_bad} NaN/Inf of {values.size}'
        )
    else:
        observation = decode_observation(frames)
        np.testing.assert_array_equal(getattr(observation, key), values)

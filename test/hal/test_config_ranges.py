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

"""Each HAL client setting is validated in one place; the node's ``hal.*`` ranges come from it."""

import math

import pytest

from krabby_parkour_ros.hal.config import CLIENT_RANGES, HalClientConfig
from krabby_parkour_ros.hal.errors import HalConfigError
from krabby_parkour_ros.node.parameters import SPECS

#: HalClientConfig field -> node parameter, where they differ.
_PARAMETER = {
    'max_command_age_s': 'hal.max_command_age',
    'max_observation_age_s': 'hal.max_observation_age',
}


@pytest.mark.parametrize('field', sorted(CLIENT_RANGES))
def test_every_hal_range_is_the_parameter_range(field: str) -> None:
    assert SPECS[_PARAMETER.get(field, f'hal.{field}')].value_range == CLIENT_RANGES[field]


@pytest.mark.parametrize('field', sorted(CLIENT_RANGES))
def test_each_bound_is_accepted_and_just_outside_refused_at_construction(field: str) -> None:
    low, high = CLIENT_RANGES[field]
    integer = isinstance(low, int) and isinstance(high, int)
    for value in (low, high):
        assert getattr(HalClientConfig(**{field: value}), field) == value
    below = low - 1 if integer else math.nextafter(low, -math.inf)
    above = high + 1 if integer else math.nextafter(high, math.inf)
    for value in (below, above, float('nan'), True, 'x'):
        with pytest.raises(HalConfigError, match=f'^{field}: expected'):
            HalClientConfig(**{field: value})


def test_a_small_explicit_frame_limit_is_refused() -> None:
    with pytest.raises(HalConfigError, match='max_message_bytes: expected 0'):
        HalClientConfig(max_message_bytes=1023)

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

"""Each control setting is validated in one place; the node's ranges come from it."""

import math

import pytest

from krabby_parkour_ros.control.config import BOOLEANS, ControlConfig, ControlConfigError, RANGES
from krabby_parkour_ros.control.runtime import INFERENCE_THREADS_RANGE, PROBE_TIMEOUT_RANGE
from krabby_parkour_ros.mapping.action import MAX_DELTA_PER_STEP_MAX
from krabby_parkour_ros.node.parameters import SPECS

#: Node parameter name -> ControlConfig field, where they differ.
_RENAMED = {'cmd_vel_timeout': 'command_timeout'}


def test_every_control_range_is_the_parameter_range() -> None:
    by_field = {_RENAMED.get(name, name): spec for name, spec in SPECS.items()}
    for field, bounds in RANGES.items():
        assert by_field[field].value_range == bounds, field
    assert SPECS['inference_threads'].value_range == INFERENCE_THREADS_RANGE
    assert SPECS['policy_probe_timeout'].value_range == PROBE_TIMEOUT_RANGE
    assert SPECS['max_joint_delta'].value_range == (0.0, MAX_DELTA_PER_STEP_MAX)


@pytest.mark.parametrize('field', sorted(RANGES))
def test_each_bound_is_accepted_and_just_outside_refused_at_construction(field) -> None:
    low, high = RANGES[field]
    integer = isinstance(low, int) and isinstance(high, int)
    # The cross-field rule (stale_timeout >= one tick) must not interfere.
    rate = {'stale_timeout': {'control_rate': 2000.0}, 'control_rate': {'stale_timeout': 5.0}}.get(
        field, {}
    )
    for value in (low, high):
        ControlConfig(**{field: value, **rate})
    below = low - 1 if integer else math.nextafter(low, -math.inf)
    above = high + 1 if integer else math.nextafter(high, math.inf)
    for value in (below, above, float('nan'), True, 'x'):
        with pytest.raises(ControlConfigError, match=f'control.{field} must be'):
            ControlConfig(**{field: value, **rate})


@pytest.mark.parametrize('field', BOOLEANS)
def test_booleans_are_booleans(field) -> None:
    with pytest.raises(ControlConfigError, match=field):
        ControlConfig(**{field: 1})

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
Issue #13 finding 11: the simulator's map clamps nothing training allowed.

Training clamps no target (its actuators limit torque only): any clipped
action gives ``default + 0.25 * a``. The simulator's joint map must let all
of them through; a hardware map may clamp, and then every clamp is counted
per joint (``/diagnostics``: ``target_clamps``).
"""

import itertools

import numpy as np
import pytest

from krabby_parkour_ros.contract import GO2_PARKOUR_TEACHER
from krabby_parkour_ros.mapping.action import ActionMapper
from krabby_parkour_ros.mapping.joint_map import JointMap, JointMapError, load_joint_map

from .wire import scrambled_map_dict

CLIP = GO2_PARKOUR_TEACHER.action_clip


def _corner_actions():
    """Yield every joint at -clip, 0 and +clip, one at a time, plus all-min and all-max."""
    n = GO2_PARKOUR_TEACHER.action_dim
    for j, value in itertools.product(range(n), (-CLIP, CLIP, -10.0, 10.0)):
        action = np.zeros(n)
        action[j] = value
        yield action
    yield np.full(n, -CLIP)
    yield np.full(n, CLIP)


def test_go2_sim_map_clamps_no_target_the_policy_can_ask_for() -> None:
    mapper = ActionMapper(GO2_PARKOUR_TEACHER, load_joint_map('go2_sim'))
    previous = mapper.default_command()  # no rate limit: the reference is unused
    rng = np.random.default_rng(7)
    actions = list(_corner_actions()) + [rng.uniform(-CLIP, CLIP, 12) for _ in range(2000)]
    for action in actions:
        result = mapper.map(action, previous)
        assert result.ok and not result.target_limited and not result.rate_limited, action
        expected = np.asarray(GO2_PARKOUR_TEACHER.default_joint_positions) + 0.25 * np.clip(
            action, -CLIP, CLIP
        )
        joint_map = mapper.joint_map
        np.testing.assert_allclose(result.command[joint_map.hardware_index], expected, atol=1e-6)
    assert mapper.clamp_counts() == {}


def test_hardware_map_clamps_are_counted_per_joint() -> None:
    mapper = ActionMapper(GO2_PARKOUR_TEACHER, load_joint_map('krabby'))
    previous = mapper.default_command()
    action = np.zeros(12)
    action[8] = CLIP  # FL_calf -> lf_knee: default -1.2 + 1.2 = 0.0 > -0.1
    for _ in range(3):
        result = mapper.map(action, previous)
        assert result.target_limited and not result.rate_limited
        assert result.command[2] == pytest.approx(-0.1)
    action[:] = 0.0
    action[0] = -CLIP  # FL_hip -> lf_hip_yaw: 0 - 1.2 = -1.2, inside +-1.35
    assert not mapper.map(action, previous).limited
    assert mapper.clamp_counts() == {'lf_knee': 3}


def test_target_limits_and_position_ranges_are_separate_properties() -> None:
    joint_map = load_joint_map('krabby')
    assert joint_map.target_upper[2] == pytest.approx(-0.1)
    assert joint_map.position_upper[2] == pytest.approx(0.0)
    pose = joint_map.hardware_from_policy(GO2_PARKOUR_TEACHER.default_joint_positions)
    assert joint_map.implausible_positions(pose, 0.1) == []
    pose[2] = 0.05  # past the position range, inside the margin
    assert joint_map.implausible_positions(pose, 0.1) == []
    pose[2] = 0.15
    (problem,) = joint_map.implausible_positions(pose, 0.1)
    assert problem.startswith('lf_knee measured at 0.15 rad, outside its position range')
    pose[2] = np.nan
    assert 'lf_knee measured at nan' in joint_map.implausible_positions(pose, 0.1)[0]


def test_legacy_soft_limit_keys_are_read_as_target_limits() -> None:
    data = scrambled_map_dict()
    hardware = data['hardware']
    hardware['soft_lower'] = hardware.pop('target_lower')
    hardware['soft_upper'] = hardware.pop('target_upper')
    joint_map = JointMap.from_dict(data)
    assert joint_map.target_lower[0] == -3.0 and joint_map.position_upper[0] == 3.0
    hardware['target_lower'] = [-3.0] * 18
    with pytest.raises(JointMapError, match='both soft_lower and target_lower'):
        JointMap.from_dict(data)

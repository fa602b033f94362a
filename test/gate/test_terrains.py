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


"""Gate terrains: training's formulas, the box layouts, and gap heights through the wire."""

import numpy as np
import pytest

from krabby_parkour_ros.contract import GO2_PARKOUR_TEACHER
from krabby_parkour_ros.gate.terrains import build_course, TerrainError, TERRAINS
from krabby_parkour_ros.hal.codec import decode_observation, encode_observation
from krabby_parkour_ros.mapping.joint_map import load_joint_map
from krabby_parkour_ros.mapping.navigation import NavigationCommand
from krabby_parkour_ros.mapping.observation import ObservationBuilder, ObservationConfig
from krabby_parkour_ros.sim.robot import SimulatedRobot
from krabby_parkour_ros.sim.scenarios import make_scenario

LEVELS = (0.0, 0.25, 0.5, 0.75, 1.0)


@pytest.mark.parametrize('terrain', sorted(TERRAINS))
def test_every_terrain_builds_a_scenario_at_every_level(terrain: str) -> None:
    for level in LEVELS:
        course = build_course(terrain, level, np.random.default_rng(3))
        scenario = course.scenario()
        assert course.goal_x > 1.0
        assert scenario.name == course.scenario_name
        again = build_course(terrain, level, np.random.default_rng(3))
        assert again == course  # same draws, same course


def test_gap_follows_training_formulas() -> None:
    for level in LEVELS:
        course = build_course('gap', level, np.random.default_rng(int(level * 4)))
        p = course.scenario_parameters
        assert p['gap_sizes'] == [pytest.approx(0.1 + 0.7 * level)] * 2
        assert 0.2 <= p['depth'] <= 1.0
        assert all(0.8 <= length <= 1.5 for length in p['platforms'])


def test_hurdle_and_step_follow_training_formulas() -> None:
    for level in LEVELS:
        hurdle = build_course('hurdle', level, np.random.default_rng(1)).scenario_parameters
        for height in hurdle['heights']:
            assert 0.1 + 0.1 * level - 1e-9 <= height <= 0.15 + 0.25 * level + 1e-9
        assert hurdle['thicknesses'][0] == pytest.approx(0.1 + 0.3 * level)
        assert 1.2 <= hurdle['positions'][1] - hurdle['positions'][0] <= 2.2
        step = build_course('step', level, np.random.default_rng(1)).scenario_parameters
        height = 0.1 + 0.35 * level
        assert step['heights'][:5] == pytest.approx(
            [height, 2 * height, 3 * height, 4 * height, 4 * height], abs=1e-3
        )
        assert all(0.3 + height - 1e-3 <= n <= 1.5 + height + 1e-3 for n in step['lengths'])


def test_stones_follow_training_formulas() -> None:
    for level in LEVELS:
        course = build_course('stones', level, np.random.default_rng(7))
        p = course.scenario_parameters
        assert 0.2 <= p['pit_depth'] <= 1.0
        signs = []
        for i, (front, length, center_y, incline) in enumerate(p['stones']):
            assert length == pytest.approx(round(length / 0.2) * 0.2)  # 0.2 m steps
            assert 0.2 - 1e-9 <= abs(center_y) <= 0.3 + 0.1 * level + 1e-9
            assert abs(incline) == pytest.approx(0.25 * level)
            signs.append(np.sign(center_y))
            if i:
                gap = front - (p['stones'][i - 1][0] + p['stones'][i - 1][1])
                assert -0.1 - 1e-9 <= gap <= 0.1 + 0.3 * level + 1e-9
        assert signs[0] == -signs[1] == signs[2]  # alternately left and right
        # The pilot steers over each stone's centre.
        assert [w[1] for w in course.waypoints[:3]] == [s[2] for s in p['stones']]


def test_bad_terrain_or_level_is_refused() -> None:
    with pytest.raises(TerrainError, match='terrain'):
        build_course('lava', 0.5, np.random.default_rng(0))
    with pytest.raises(TerrainError, match='difficulty'):
        build_course('gap', 1.5, np.random.default_rng(0))


def test_gap_depth_reaches_the_policy_observation_through_the_wire() -> None:
    # A 0.6 m gap, 0.5 m deep, from 0.5 m ahead: scan columns at x = 0.6 ... 1.05 m lie over
    # it. Through the HAL codec and the real observation builder the policy must see those
    # cells 0.5 m further below the base than the platform (training's negative heights).
    scenario = make_scenario('gaps', gap_sizes=[0.6], platforms=[1.0], depth=0.5, distance=0.5)
    robot = SimulatedRobot(scenario, seed=0, camera=None)
    sample = robot.observe()
    frames = encode_observation(
        1,
        sample.joint_positions,
        sample.rgb,
        sample.rgb,
        sample.depth,
        sample.confidence,
        sample.extensions,
    )
    observation = decode_observation(frames, receive_time_ns=1)
    builder = ObservationBuilder(
        GO2_PARKOUR_TEACHER, load_joint_map('go2_sim'), ObservationConfig()
    )
    vector = builder.build(observation, NavigationCommand(0.5))
    layout = GO2_PARKOUR_TEACHER.layout
    scan = vector[layout.proprio : layout.proprio + layout.scan].reshape(11, 12)
    xs = -0.45 + 0.15 * np.arange(12)
    over_gap = (xs > 0.5) & (xs < 1.1)
    base_z = robot.base_position()[2]
    assert base_z > 0.5 + 0.2  # standing on the raised platform
    np.testing.assert_allclose(scan[:, ~over_gap], base_z - 0.5 - 0.3, atol=1e-5)
    np.testing.assert_allclose(scan[:, over_gap], min(base_z - 0.3, 1.0), atol=1e-5)


def test_new_scenarios_lay_out_their_boxes() -> None:
    gaps = make_scenario(
        'gaps', gap_sizes=[0.3, 0.5], platforms=[1.0, 1.2], depth=0.4, distance=1.5
    )
    spans = [
        x
        for b in gaps.terrain
        for x in (b.center[0] - b.half_size[0], b.center[0] + b.half_size[0])
    ]
    assert spans == pytest.approx([-1.5, 1.5, 1.8, 2.8, 3.3, 6.3])
    assert [b.top for b in gaps.terrain] == pytest.approx([0.4] * 3)
    down = make_scenario('stairs_down', step_height=0.1, steps=3, distance=1.0)
    assert [round(b.top, 3) for b in down.terrain] == [0.3, 0.2, 0.1]
    stones = make_scenario('stepping_stones', stones=[[1.5, 0.8, 0.3, 0.2]], pit_depth=0.5)
    strips = [b for b in stones.terrain if b.name.startswith('stone_0_')]
    assert len(strips) == 5
    tops = [b.top for b in sorted(strips, key=lambda b: b.center[1])]
    assert tops == pytest.approx([0.34, 0.42, 0.5, 0.58, 0.66])  # rises by 0.2 towards +y
    assert min(b.center[1] - b.half_size[1] for b in strips) == pytest.approx(-0.2)
    hurdles = make_scenario('hurdles', heights=[0.2], thicknesses=[0.1], positions=[2.0])
    assert hurdles.end_x == pytest.approx(2.1)
    steps = make_scenario('step_course', lengths=[0.5, 0.5, 0.5], heights=[0.1, 0.2, 0.0])
    assert len(steps.terrain) == 2 and steps.terrain[1].top == pytest.approx(0.2)
    with pytest.raises(ValueError, match='gap_sizes/platforms'):
        make_scenario('gaps', gap_sizes=[0.3], platforms=[])
    with pytest.raises(ValueError, match='stones'):
        make_scenario('stepping_stones', stones=[[1.0, 0.5, 0.0]])

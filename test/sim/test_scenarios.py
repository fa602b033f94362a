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

"""Scenario geometry and the seeded reset pose."""

import numpy as np
import pytest

from krabby_parkour_ros.sim.scenarios import (
    box,
    box_course,
    DEFAULT_JOINT_POSITIONS,
    make_scenario,
    reset_joint_positions,
    stairs,
)


def test_default_pose_in_mujoco_order() -> None:
    # FL, FR, RL, RR legs; hip, thigh, calf (doc table, regrouped by leg).
    np.testing.assert_array_equal(
        DEFAULT_JOINT_POSITIONS, [0.1, 0.8, -1.5, -0.1, 0.8, -1.5, 0.1, 1.0, -1.5, -0.1, 1.0, -1.5]
    )


def test_reset_pose_is_seeded_and_within_five_percent() -> None:
    first = reset_joint_positions(np.random.default_rng(7))
    again = reset_joint_positions(np.random.default_rng(7))
    other = reset_joint_positions(np.random.default_rng(8))
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).max() > 1e-4
    ratio = first / DEFAULT_JOINT_POSITIONS
    assert np.all(ratio >= 0.95) and np.all(ratio <= 1.05)
    assert np.ptp(ratio) > 0.0


def test_flat_and_box_geometry() -> None:
    assert make_scenario('flat').terrain == ()
    scenario = make_scenario('box', height=0.3, distance=1.5)
    (obstacle,) = scenario.terrain
    assert obstacle.center[0] - obstacle.half_size[0] == pytest.approx(1.5)
    assert obstacle.top == pytest.approx(0.3)
    assert 2 * obstacle.half_size[0] == pytest.approx(1.0)
    assert 2 * obstacle.half_size[1] >= 4.0
    assert scenario.end_x == pytest.approx(2.5)
    assert box().terrain[0].top == pytest.approx(0.2)


def test_box_course_and_stairs_geometry() -> None:
    course = box_course(heights=(0.1, 0.3), distance=1.0, depth=1.0, gap=2.0)
    assert [b.top for b in course.terrain] == pytest.approx([0.1, 0.3])
    fronts = [b.center[0] - b.half_size[0] for b in course.terrain]
    assert fronts == pytest.approx([1.0, 4.0])
    assert make_scenario('boxes').name == 'box_course'
    steps = stairs(step_height=0.1, step_depth=0.3, steps=3, distance=1.0, landing=2.0)
    assert [b.top for b in steps.terrain] == pytest.approx([0.1, 0.2, 0.3])
    fronts = [b.center[0] - b.half_size[0] for b in steps.terrain]
    assert fronts == pytest.approx([1.0, 1.3, 1.6])
    assert steps.end_x == pytest.approx(1.6 + 0.3 + 2.0)


def test_bad_scenarios_are_refused() -> None:
    with pytest.raises(ValueError, match='scenario: expected one of'):
        make_scenario('lava')
    with pytest.raises(ValueError, match='height'):
        make_scenario('box', height=-0.2)
    with pytest.raises(ValueError, match='steps'):
        stairs(steps=0)
    with pytest.raises(ValueError, match='heights'):
        box_course(heights=())
    with pytest.raises(TypeError):
        make_scenario('flat', height=0.2)

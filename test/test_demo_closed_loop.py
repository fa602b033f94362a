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
Closed loop through the real node: simulator -> ZMQ -> parkour_node -> ZMQ -> simulator.

The node runs as its own process through the pure-rclpy entry point, exactly
as the README's main command starts it, with the shipped trained teacher.
These are the fidelity proofs: a policy fed a wrong observation falls.
"""

import os

import pytest
import yaml

from krabby_parkour_ros.mapping.joint_map import config_directory
from krabby_parkour_ros.node.demo import DemoOptions, run_demo

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def private_domain(monkeypatch):
    # The node subprocess inherits it: parallel runs never cross-talk.
    monkeypatch.setenv('ROS_DOMAIN_ID', str(1 + os.getpid() % 101))
    monkeypatch.setenv('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')


def test_teacher_walks_20_s_on_flat_ground_without_falling():
    summary = run_demo(DemoOptions(duration=20.0, vx=0.5, quiet=True))
    assert summary.problem == ''
    assert summary.trained and summary.policy == 'go2_parkour_teacher'
    assert summary.sim_time_s >= 19.9
    assert not summary.fell and summary.min_base_height_m > 0.2
    assert summary.distance_m >= 6.0, summary
    # A command answered (nearly) every observation.
    assert summary.commands >= 0.95 * summary.observations


def test_zero_command_stands_still_then_walks_on_command():
    # Issue #14: zero cmd_vel for 10 s -> drift < 0.1 m, no fall; then vx 0.5
    # -> at least 3 m in the next 6 s (the policy resumes through the ramp).
    summary = run_demo(DemoOptions(stand_first=10.0, duration=6.0, vx=0.5, quiet=True))
    assert summary.problem == '', summary
    assert summary.stand_time_s >= 9.9 and summary.stand_modes == ['stand'], summary
    assert summary.stand_drift_m < 0.1, summary
    assert not summary.fell and summary.distance_m >= 3.0, summary


def test_teacher_climbs_past_a_box():
    summary = run_demo(DemoOptions(scenario='box', box_height=0.2, duration=12.0, quiet=True))
    assert not summary.fell, summary
    assert summary.passed_obstacles, summary


def test_a_wrong_joint_map_falls(tmp_path):
    # Front and rear legs swapped in the map: the check must be able to fail.
    data = yaml.safe_load((config_directory() / 'go2_sim.yaml').read_text())
    swap = {'FL': 'RL', 'RL': 'FL', 'FR': 'RR', 'RR': 'FR'}
    for joint in data['policy']['joints']:
        leg, rest = joint['hardware'].split('_', 1)
        joint['hardware'] = f'{swap[leg]}_{rest}'
    path = tmp_path / 'swapped.yaml'
    path.write_text(yaml.safe_dump(data))
    summary = run_demo(DemoOptions(duration=20.0, joint_map=str(path), quiet=True))
    assert summary.fell or summary.distance_m < 6.0, summary
    assert not summary.ok

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


"""Gate perturbations: realisation, the simulator hooks and the physics changes."""

import re

import numpy as np
import pytest

from krabby_parkour_ros.gate.perturbations import (
    apply_physics,
    GateHooks,
    PerturbationError,
    PERTURBATIONS,
    realize,
    Realized,
    ScaledMotor,
    transpose_scan,
)
from krabby_parkour_ros.mapping.joint_map import load_joint_map
from krabby_parkour_ros.sim.hal_server import SimHal, SimHalConfig, SimHooks
from krabby_parkour_ros.sim.robot import SimulatedRobot


def _robot() -> SimulatedRobot:
    return SimulatedRobot('flat', seed=0, camera=None)


def _driven(robot: SimulatedRobot) -> np.ndarray:
    return robot.layout.joint_slots() >= 0


def test_every_perturbation_realizes_the_same_numbers_from_the_same_seed(tmp_path) -> None:
    for name in PERTURBATIONS:
        first = realize(name, np.random.default_rng(5), tmp_path)
        second = realize(name, np.random.default_rng(5), tmp_path)
        assert first == second, name
    with pytest.raises(PerturbationError, match='perturbation'):
        realize('earthquake', np.random.default_rng(0))


def test_realized_ranges() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        assert 0.3 <= realize('friction', rng).values['friction'] <= 1.5
        latency = realize('latency', rng).values
        assert 0 <= latency['observation_delay_periods'] + latency['action_delay_periods'] <= 4
        gains = realize('pd_gains', rng).values
        assert 0.8 <= gains['kp_scale'] <= 1.2 and 0.8 <= gains['kd_scale'] <= 1.2
        assert all(abs(o) <= 0.05 for o in realize('joint_offsets', rng).values['joint_offsets'])
    fault = realize('fault_latency_40ms', rng).values
    assert 10 * (fault['observation_delay_periods'] + fault['action_delay_periods']) == 40


def test_swapped_legs_fault_writes_a_loadable_swapped_joint_map(tmp_path) -> None:
    realized = realize('fault_swapped_legs', np.random.default_rng(0), tmp_path)
    swapped = load_joint_map(realized.runtime['joint_map'])
    correct = load_joint_map('go2_sim')
    assert swapped.policy_joint_names == correct.policy_joint_names
    assert list(swapped.hardware_joint_names) == list(correct.hardware_joint_names)
    q = np.arange(12, dtype=np.float64)
    hw_swapped, hw_correct = swapped.hardware_from_policy(q), correct.hardware_from_policy(q)
    assert not np.allclose(hw_swapped, hw_correct)
    # FL_hip (policy 0) drives RL_hip_joint in the swapped map.
    rl_hip = list(correct.hardware_joint_names).index('RL_hip_joint')
    assert hw_swapped[rl_hip] == 0.0 and hw_correct[rl_hip] == 2.0


def test_transpose_scan_is_the_y_fastest_order() -> None:
    scan = list(range(132))
    out = transpose_scan(scan)
    # Index iy * 12 + ix of the correct order lands at ix * 11 + iy.
    assert out[3 * 11 + 2] == 2 * 12 + 3
    assert sorted(out) == scan


def test_observation_delay_and_drops() -> None:
    robot = _robot()
    hooks = GateHooks(
        Realized('x', {'observation_delay_periods': 2}), np.random.default_rng(0), _driven(robot)
    )
    times = []
    for _ in range(5):
        times.append(hooks.observation(robot, robot.observe()).sim_time)
        robot.step(2)
    np.testing.assert_allclose(times, [0.0, 0.0, 0.0, 0.01, 0.02], atol=1e-12)
    dropper = GateHooks(
        Realized('x', {'drop_probability': 0.5}), np.random.default_rng(0), _driven(robot)
    )
    dropped = sum(dropper.observation(robot, robot.observe()) is None for _ in range(400))
    assert dropped == dropper.counts['dropped'] and 150 < dropped < 250


def test_action_delay_applies_commands_whole_periods_later() -> None:
    robot = _robot()
    hooks = GateHooks(
        Realized('x', {'action_delay_periods': 2}), np.random.default_rng(0), _driven(robot)
    )
    before = robot.hardware_targets()
    command = before.copy()
    command[0] += 0.1
    assert hooks.command(robot, command) is None  # kept, not applied yet
    hooks.before_advance(robot)
    hooks.before_advance(robot)
    np.testing.assert_allclose(robot.hardware_targets(), before)
    hooks.before_advance(robot)
    np.testing.assert_allclose(robot.hardware_targets(), command)


def test_joint_offsets_bias_the_measurement_and_the_command_alike() -> None:
    robot = _robot()
    offsets = [0.01 * (i + 1) for i in range(12)]
    hooks = GateHooks(
        Realized('x', {'joint_offsets': offsets}), np.random.default_rng(0), _driven(robot)
    )
    true = robot.hardware_joint_positions()
    measured = hooks.observation(robot, robot.observe()).joint_positions
    driven = _driven(robot)
    np.testing.assert_allclose(measured[driven] - true[driven], offsets, atol=1e-6)
    np.testing.assert_allclose(measured[~driven], 0.0)
    # Commanding the measured pose holds the true pose.
    applied = hooks.command(robot, measured.astype(np.float64))
    np.testing.assert_allclose(applied[driven], true[driven], atol=1e-6)


def test_imu_bias_missing_keys_and_transposed_scan() -> None:
    robot = _robot()
    clean = robot.observe().extensions
    hooks = GateHooks(
        Realized(
            'x',
            {
                'gyro_bias': [0.1, -0.1, 0.05],
                'roll_pitch_bias': [0.05, 0.0],
                'remove_keys': ['foot_contacts'],
                'transpose_scan': True,
            },
        ),
        np.random.default_rng(0),
        _driven(robot),
    )
    ext = hooks.observation(robot, robot.observe()).extensions
    np.testing.assert_allclose(
        np.subtract(ext['imu_angular_velocity'], clean['imu_angular_velocity']), [0.1, -0.1, 0.05]
    )
    x, y, z, w = ext['imu_orientation_xyzw']
    roll = np.arctan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y))
    assert roll == pytest.approx(0.05, abs=1e-6)
    assert 'foot_contacts' not in ext
    assert ext['height_scan'] == transpose_scan(clean['height_scan'])


def test_pushes_change_the_base_velocity_once_at_their_time() -> None:
    robot = _robot()
    hooks = GateHooks(
        Realized('x', {'pushes': [[0.02, 0.5, -0.5]]}), np.random.default_rng(0), _driven(robot)
    )
    hooks.before_advance(robot)
    assert hooks.counts['pushes'] == 0
    robot.step(4)
    hooks.before_advance(robot)
    assert hooks.counts['pushes'] == 1
    np.testing.assert_allclose(robot.base_linear_velocity_world()[:2], [0.5, -0.5], atol=0.05)


def test_physics_changes() -> None:
    robot = _robot()
    base = robot.model.body('base').id
    mass, ipos = float(robot.model.body_mass[base]), robot.model.body_ipos[base].copy()
    apply_physics(
        Realized(
            'x',
            {
                'friction': 0.4,
                'added_mass_kg': 2.0,
                'com_shift_m': [0.03, -0.02, 0.0],
                'kp_scale': 1.1,
                'kd_scale': 0.9,
                'strength': [1.2] * 12,
            },
        ),
        robot,
    )
    assert np.all(robot.model.geom_friction[:, 0] == 0.4)
    assert robot.model.body_mass[base] == pytest.approx(mass + 2.0)
    np.testing.assert_allclose(robot.model.body_ipos[base] - ipos, [0.03, -0.02, 0.0])
    assert isinstance(robot.motor, ScaledMotor)
    assert robot.motor.motor.kp == pytest.approx(44.0) and robot.motor.motor.kd == 0.9
    zero = np.zeros(12)
    np.testing.assert_allclose(robot.motor.torque(zero + 0.1, zero, zero), 1.2 * 4.4)


def test_sim_hal_with_do_nothing_hooks_publishes_the_same_bytes() -> None:
    # The hooks are an addition: without them, or with the base class, nothing changes.
    def run(hooks):
        sim = SimHal(
            SimHalConfig(
                observation_endpoint='inproc://hooks_a',
                command_endpoint='inproc://hooks_b',
                pacing='lockstep',
                depth_height=2,
                depth_width=3,
                seed=4,
            ),
            hooks=hooks,
        )
        sent = []
        original = sim.server.publish_frames
        sim.server.publish_frames = lambda frames: (
            sent.append([bytes(f) for f in frames]) or original(frames)
        )
        try:
            for _ in range(5):
                sim.publish_observation()
                sim.advance()
        finally:
            sim.close()
        # The metadata frame holds the timestamp (start wall clock + simulated time).
        return [[re.sub(rb'"timestamp_ns": [0-9]+', b'', f) for f in frames] for frames in sent]

    assert run(None) == run(SimHooks())

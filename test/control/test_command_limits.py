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
Issue #13 finding 1: no command outside the target limits, at activation and hold.

The real controller (:class:`ControlRuntime`: HAL client, teacher, mappers,
control step) runs against a raw-pyzmq HAL; every command that reaches the
HAL is decoded by :class:`~test.support.command_checker.CommandChecker`,
which shares no code with the package. Cases: activation from a 3e38 rad
pose, from a pose just past a target limit, from a spare slot far outside
its range, and a hold requested before the first observation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
import itertools
import time

import numpy as np
import pytest
import zmq

from krabby_parkour_ros.contract import GO2_PARKOUR_TEACHER
from krabby_parkour_ros.control.config import ControlConfig
from krabby_parkour_ros.control.runtime import ControlRuntime, RuntimeConfig
from krabby_parkour_ros.control.step import ControlMode
from krabby_parkour_ros.hal.codec import encode_observation
from krabby_parkour_ros.hal.command_guard import CommandGuard, CommandLimits
from krabby_parkour_ros.hal.config import HalClientConfig
from krabby_parkour_ros.hal.errors import CommandError
from krabby_parkour_ros.mapping.joint_map import load_joint_map
from krabby_parkour_ros.policy.checkpoint import ModelWeights
from krabby_parkour_ros.policy.shipped import shipped_checkpoint_path

from ..support.command_checker import CommandChecker

_COUNTER = itertools.count()
_WEIGHTS: dict[str, ModelWeights] = {}


def _teacher() -> ModelWeights:
    if 'teacher' not in _WEIGHTS:
        _WEIGHTS['teacher'] = ModelWeights(str(shipped_checkpoint_path('go2_parkour_teacher')))
    return _WEIGHTS['teacher']


def standing_pose(joint_map_name: str) -> np.ndarray:
    """Return the wire pose of the policy's default stance under a joint map."""
    joint_map = load_joint_map(joint_map_name)
    return joint_map.hardware_from_policy(GO2_PARKOUR_TEACHER.default_joint_positions)


@dataclass
class RawHal:
    """A HAL made of two raw pyzmq sockets; commands go to an independent checker."""

    context: zmq.Context
    pub: zmq.Socket
    pull: zmq.Socket
    observation_endpoint: str
    command_endpoint: str
    checker: CommandChecker
    stamps: list[int] = field(default_factory=list)

    def publish(self, pose: np.ndarray, feet: int) -> None:
        stamp = time.time_ns()
        extensions = {
            'imu_orientation_xyzw': [0.0, 0.0, 0.0, 1.0],
            'imu_angular_velocity': [0.0, 0.0, 0.0],
            'joint_velocities': [0.0] * 18,
            'base_linear_velocity': [0.0, 0.0, 0.0],
            'foot_contacts': [1] * feet,
            'height_scan': [0.32] * GO2_PARKOUR_TEACHER.scan_grid.size,
        }
        rgb = np.zeros((4, 6, 3), np.uint8)
        depth = np.ones((4, 6), np.float32)
        self.pub.send_multipart(
            encode_observation(stamp, pose, rgb, rgb, depth, depth, extensions)
        )

    def drain(self) -> int:
        count = 0
        while self.pull.poll(0):
            self.checker.check(self.pull.recv_multipart())
            count += 1
        return count


@pytest.fixture
def make_hal() -> Iterator:
    """Return a factory of raw HALs on inproc endpoints; close everything after."""
    made: list[RawHal] = []
    context = zmq.Context()

    def make(joint_map_name: str) -> RawHal:
        n = next(_COUNTER)
        pub = context.socket(zmq.PUB)
        pull = context.socket(zmq.PULL)
        for sock in (pub, pull):
            sock.setsockopt(zmq.LINGER, 0)
        obs, cmd = f'inproc://limits-obs-{n}', f'inproc://limits-cmd-{n}'
        pub.bind(obs)
        pull.bind(cmd)
        hal = RawHal(context, pub, pull, obs, cmd, CommandChecker.for_joint_map(joint_map_name))
        made.append(hal)
        return hal

    yield make
    for hal in made:
        hal.pub.close(0)
        hal.pull.close(0)
    context.term()


def run(
    hal: RawHal, joint_map_name: str, pose: np.ndarray, ticks: int, hold_first: bool = False
) -> ControlRuntime:
    """Run the real controller for ``ticks`` observations of ``pose``; return it (closed)."""
    config = RuntimeConfig(
        hal=HalClientConfig(hal.observation_endpoint, hal.command_endpoint),
        joint_map=joint_map_name,
        control=ControlConfig(
            soft_start_duration=0.2, recovery_ramp_duration=0.1, stale_timeout=0.5
        ),
    )
    runtime = ControlRuntime.build(config, context=hal.context, weights=_teacher())
    feet = len(runtime.joint_map.hardware_foot_names)
    try:
        runtime.step.activate()
        if hold_first:
            runtime.step.hold()
        done = 0
        deadline = time.monotonic() + 30.0
        while done < ticks and time.monotonic() < deadline:
            hal.publish(pose, feet)
            observation = runtime.hal.wait_for_observation(0.05)
            if observation is None:
                continue  # inproc slow joiner: the subscription is not there yet
            runtime.step.tick(observation)
            done += 1
            time.sleep(0.004)
            hal.drain()
        assert done == ticks, f'only {done} observations arrived'
        hold = runtime.step.deactivate()
        if hold is not None:
            runtime.hal.put_joint_command(hold, 0)
        time.sleep(0.05)
        hal.drain()
    finally:
        runtime.close()
    return runtime


def test_activation_from_a_3e38_pose_is_refused_and_names_the_joint(make_hal) -> None:
    hal = make_hal('go2_sim')
    pose = standing_pose('go2_sim').astype(np.float32)
    pose[2] = 3e38  # FR_calf_joint
    runtime = run(hal, 'go2_sim', pose, ticks=40)
    assert hal.checker.violations == 0, hal.checker.summary()
    assert hal.checker.commands == [], 'no command may answer an impossible pose'
    assert runtime.step.mode == ControlMode.WAITING
    assert runtime.step.counters['activation_refused'] == 40
    assert 'FR_calf_joint measured at 3e+38 rad' in runtime.step.last_error


def test_activation_from_a_spare_slot_far_outside_its_range_is_refused(make_hal) -> None:
    hal = make_hal('go2_sim')
    pose = standing_pose('go2_sim').astype(np.float32)
    pose[14] = 0.2  # spare_2: range [0, 0], margin 0.1
    runtime = run(hal, 'go2_sim', pose, ticks=20)
    assert hal.checker.commands == []
    assert runtime.step.counters['activation_refused'] == 20
    assert 'spare_2 measured at 0.2 rad' in runtime.step.last_error


def test_activation_just_past_a_target_limit_stays_inside_the_limits(make_hal) -> None:
    # Krabby knees: target limit -0.1, position range up to 0.0. A pose 0.07
    # rad past the target limit (inside the margin) ramps from the clamped
    # pose; the policy then runs with its targets clamped into the limits.
    hal = make_hal('krabby')
    pose = standing_pose('krabby').astype(np.float32)
    knees = [2, 5, 8, 11, 14, 17]
    pose[knees] = -0.03
    runtime = run(hal, 'krabby', pose, ticks=120)
    assert len(hal.checker.commands) >= 100, hal.checker.summary()
    assert hal.checker.violations == 0, hal.checker.summary()
    first = np.array(hal.checker.commands[0])
    np.testing.assert_allclose(first[knees], -0.1, atol=1e-6)
    assert runtime.step.counters['start_pose_clamped'] >= 1
    assert runtime.step.counters['policy_steps'] > 10
    assert runtime.hal.stats()['wire_clamps'] == {}, 'the layers above kept every limit'


def test_hold_before_the_first_observation_holds_inside_the_limits(make_hal) -> None:
    hal = make_hal('krabby')
    pose = standing_pose('krabby').astype(np.float32)
    pose[[2, 5]] = -0.03
    pose[0] = -1.45  # lf_hip_yaw: 0.1 past its target limit -1.35
    runtime = run(hal, 'krabby', pose, ticks=60, hold_first=True)
    assert len(hal.checker.commands) >= 60, hal.checker.summary()
    assert hal.checker.violations == 0, hal.checker.summary()
    assert runtime.step.mode == ControlMode.WAITING  # deactivated at the end
    held = {tuple(c) for c in hal.checker.commands}
    assert len(held) == 1, 'a hold repeats one target'
    command = np.array(hal.checker.commands[0])
    assert command[0] == pytest.approx(-1.35) and command[2] == pytest.approx(-0.1)


def test_the_wire_guard_clamps_and_counts_whatever_the_caller_sends() -> None:
    joint_map = load_joint_map('krabby')
    guard = CommandGuard(CommandLimits.from_joint_map(joint_map))
    wild = standing_pose('krabby')
    wild[2] = 3e38
    wild[0] = -7.0
    out = guard.enforce(wild)
    assert out.dtype == np.float32
    assert out[2] <= -0.1 and out[0] >= -1.35
    assert guard.clamp_counts() == {'lf_knee': 1, 'lf_hip_yaw': 1}
    for bad in (np.full(18, np.nan), np.full(17, 0.0), [1e39] * 18):
        with pytest.raises(CommandError):
            guard.enforce(bad)
    assert guard.stats()['wire_refused_commands'] == 3


def test_float32_limits_are_rounded_inwards() -> None:
    names = [f'j{i}' for i in range(18)]
    lower, upper = [-0.94248] * 18, [0.94248] * 18
    guard = CommandGuard(CommandLimits(lower, upper, names))
    out = guard.enforce(np.full(18, 5.0))
    assert np.all(out.astype(np.float64) <= 0.94248)
    out = guard.enforce(np.full(18, -5.0))
    assert np.all(out.astype(np.float64) >= -0.94248)


def _reference_enforce(values: np.ndarray, low32: np.ndarray, high32: np.ndarray):
    """Return what the guard must do, written plainly: cast, refuse non-finite, clip, count."""
    with np.errstate(over='ignore', invalid='ignore'):
        cast = values.astype(np.float32)
    if not np.isfinite(cast).all():
        return None, None
    clipped = np.clip(cast, low32, high32)
    return clipped, clipped != cast


def test_the_wire_guard_matches_a_plain_reference_on_edge_values() -> None:
    names = [f'j{i}' for i in range(18)]
    lower = np.linspace(-2.0, -0.1, 18)
    lower[3] = 0.0  # a limit at zero: -0.0 and 0.0 are the same value
    upper = lower + 1.5
    guard = CommandGuard(CommandLimits(lower, upper, names))
    low32, high32 = guard._low32, guard._high32
    largest_finite = np.nextafter(2.0**128 - 2.0**103, 0.0)  # casts to float32 max
    edges = [
        np.nan,
        np.inf,
        -np.inf,
        1e39,
        -1e39,
        2.0**128 - 2.0**103,
        -(2.0**128 - 2.0**103),
        largest_finite,
        -largest_finite,
        -0.0,
        0.0,
        5.0,
        -5.0,
        1e-45,
    ]
    rng = np.random.default_rng(16)
    counts = np.zeros(18, np.int64)
    refused = clamped_commands = 0
    for trial in range(400):
        values = rng.uniform(lower - 0.5, upper + 0.5)
        if trial % 2:
            values = np.clip(values, lower, upper)  # mostly inside: the common case
        for _ in range(trial % 3):
            values[rng.integers(18)] = edges[rng.integers(len(edges))]
        expected, changed = _reference_enforce(values, low32, high32)
        if expected is None:
            refused += 1
            with pytest.raises(CommandError, match='non-finite'):
                guard.enforce(values)
            continue
        out = guard.enforce(values)
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out, expected)
        counts += changed
        clamped_commands += bool(changed.any())
    stats = guard.stats()
    assert refused > 20 and clamped_commands > 20
    assert stats['wire_refused_commands'] == refused
    assert stats['wire_clamped_commands'] == clamped_commands
    assert guard.clamp_counts() == {names[i]: int(n) for i, n in enumerate(counts) if n}

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

"""SimHal over ZeroMQ: observations decode, commands drive, pacing modes, statistics."""

from collections.abc import Callable, Iterator
import threading

import numpy as np
import pytest
import zmq

from krabby_parkour_ros.hal.codec import decode_observation, encode_command, encode_observation
from krabby_parkour_ros.hal.messages import EXTENSION_KEYS, HalObservation
from krabby_parkour_ros.sim.go2_model import JOINT_NAMES
from krabby_parkour_ros.sim.hal_server import SimConfigError, SimHal, SimHalConfig
from krabby_parkour_ros.sim.robot import SimulatedRobot

FR_CALF_SLOT = 2  # go2_sim.yaml: slot 2 is FR_calf_joint


@pytest.fixture
def context() -> Iterator[zmq.Context]:
    ctx = zmq.Context()
    yield ctx
    ctx.term()


class Client:
    """A minimal HAL client: SUB for observations, PUSH for commands (linger 0)."""

    def __init__(self, context: zmq.Context, sim: SimHal) -> None:
        self.sub = context.socket(zmq.SUB)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.setsockopt(zmq.SUBSCRIBE, b'observation')
        self.sub.connect(sim.observation_endpoint)
        self.push = context.socket(zmq.PUSH)
        self.push.setsockopt(zmq.LINGER, 0)
        self.push.connect(sim.command_endpoint)

    def receive(self, timeout_ms: int) -> HalObservation | None:
        if not self.sub.poll(timeout_ms, zmq.POLLIN):
            return None
        return decode_observation(self.sub.recv_multipart(copy=False))

    def send(self, joints: np.ndarray, observation_timestamp_ns: int) -> None:
        self.push.send_multipart(encode_command(joints, observation_timestamp_ns))

    def close(self) -> None:
        self.sub.close(linger=0)
        self.push.close(linger=0)


def _serve(
    sim: SimHal,
    client: Client,
    answer: Callable[[HalObservation], np.ndarray | None],
    received: list[HalObservation],
    stop: threading.Event,
) -> None:
    while not stop.is_set():
        observation = client.receive(20)
        if observation is None:
            continue
        received.append(observation)
        joints = answer(observation)
        if joints is not None:
            client.send(joints, observation.timestamp_ns)


def _run_with_client(
    sim: SimHal,
    client: Client,
    seconds: float,
    answer: Callable[[HalObservation], np.ndarray | None],
) -> list[HalObservation]:
    received: list[HalObservation] = []
    stop = threading.Event()
    thread = threading.Thread(target=_serve, args=(sim, client, answer, received, stop))
    thread.start()
    try:
        sim.run_for(seconds)
    finally:
        stop.set()
        thread.join()
    return received


def test_observation_frames_decode_with_the_project_codec() -> None:
    robot = SimulatedRobot('flat', seed=0)
    robot.step(40)
    obs = robot.observe()
    frames = encode_observation(
        123, obs.joint_positions, obs.rgb, obs.rgb, obs.depth, obs.confidence, obs.extensions
    )
    decoded = decode_observation(frames)
    assert decoded.timestamp_ns == 123
    assert decoded.depth_map.shape == (58, 87)
    assert decoded.rgb_camera_1.shape == (58, 87, 3)
    np.testing.assert_array_equal(
        decoded.joint_positions, robot.hardware_joint_positions().astype(np.float32)
    )
    for key in EXTENSION_KEYS:
        assert key in decoded.metadata, key
    ext = decoded.extensions
    assert ext.joint_velocities.shape == (18,)
    np.testing.assert_array_equal(ext.joint_velocities[12:], 0.0)
    np.testing.assert_array_equal(ext.foot_contacts, [1.0, 1.0, 1.0, 1.0])
    assert ext.height_scan.shape == (132,)
    np.testing.assert_allclose(ext.height_scan, robot.base_position()[2], atol=1e-9)
    np.testing.assert_allclose(ext.imu_orientation_xyzw, robot.orientation_xyzw())


def test_lockstep_applies_the_answers_and_is_paced_by_simulated_time(context: zmq.Context) -> None:
    config = SimHalConfig(
        observation_endpoint='inproc://sim_obs_a',
        command_endpoint='inproc://sim_cmd_a',
        pacing='lockstep',
        lockstep_timeout_s=0.2,
        depth_height=12,
        depth_width=16,
    )
    sim = SimHal(config, context=context)
    sim.bind()
    client = Client(context, sim)
    try:
        hold = sim.robot.hardware_targets()

        def answer(observation: HalObservation) -> np.ndarray:
            joints = hold.copy()
            joints[FR_CALF_SLOT] = -1.3
            return joints

        received = _run_with_client(sim, client, 0.5, answer)
        stats = sim.statistics()
    finally:
        client.close()
        sim.close()
    assert stats['observations_published'] == 50
    assert stats['physics_steps'] == 100
    # Only observations sent before the subscription settled can go unanswered.
    assert stats['lockstep_timeouts'] <= 3
    assert (
        stats['commands_received'] == stats['commands_applied'] == 50 - stats['lockstep_timeouts']
    )
    assert stats['latency_ms']['count'] == stats['commands_received']
    calf = JOINT_NAMES.index('FR_calf_joint')
    assert sim.robot.targets[calf] == pytest.approx(np.float32(-1.3))
    stamps = [o.timestamp_ns for o in received]
    # Lockstep timestamps: start wall time + simulated time (10 ms per observation).
    assert np.all(np.diff(stamps) % 10_000_000 == 0) and np.all(np.diff(stamps) > 0)
    assert received[-1].extensions.height_scan.shape == (132,)
    assert received[-1].depth_map.shape == (12, 16)


def test_when_commands_stop_the_last_target_is_held_and_publishing_goes_on(
    context: zmq.Context,
) -> None:
    config = SimHalConfig(
        observation_endpoint='inproc://sim_obs_b',
        command_endpoint='inproc://sim_cmd_b',
        pacing='lockstep',
        lockstep_timeout_s=0.01,
        depth_height=4,
        depth_width=6,
    )
    sim = SimHal(config, context=context)
    sim.bind()
    client = Client(context, sim)
    answered = []
    try:
        hold = sim.robot.hardware_targets()

        def answer(observation: HalObservation) -> np.ndarray | None:
            if len(answered) >= 10:
                return None
            joints = hold.copy()
            joints[FR_CALF_SLOT] = -1.25 - 0.01 * len(answered)
            answered.append(joints[FR_CALF_SLOT])
            return joints

        received = _run_with_client(sim, client, 0.4, answer)
        stats = sim.statistics()
    finally:
        client.close()
        sim.close()
    assert len(answered) == 10
    assert stats['observations_published'] == 40
    assert stats['commands_received'] == 10
    assert stats['lockstep_timeouts'] >= 30
    assert len(received) >= 35
    calf = JOINT_NAMES.index('FR_calf_joint')
    assert sim.robot.targets[calf] == pytest.approx(np.float32(answered[-1]))
    assert not stats['fell']
    assert stats['sim_time_s'] == pytest.approx(0.4)


def test_realtime_publishes_and_holds_the_reset_pose_without_commands(
    context: zmq.Context,
) -> None:
    config = SimHalConfig(
        observation_endpoint='inproc://sim_obs_c',
        command_endpoint='inproc://sim_cmd_c',
        pacing='realtime',
        depth_height=4,
        depth_width=6,
    )
    sim = SimHal(config, context=context)
    sim.bind()
    client = Client(context, sim)
    start_targets = sim.robot.targets
    try:
        received = _run_with_client(sim, client, 0.2, lambda observation: None)
        stats = sim.statistics()
        status = sim.status()
    finally:
        client.close()
        sim.close()
    assert stats['observations_published'] == 20
    assert stats['physics_steps'] == 40
    assert stats['commands_received'] == 0
    np.testing.assert_array_equal(sim.robot.targets, start_targets)
    assert len(received) >= 10
    assert all(b.timestamp_ns > a.timestamp_ns for a, b in zip(received, received[1:]))
    assert status['running'] is False and status['pacing'] == 'realtime'
    assert status['observations_published'] == 20
    assert stats['min_base_height'] > 0.25
    assert stats['trajectory'][0][0] == 0.0 and len(stats['trajectory']) >= 2


def test_background_loop_start_stop(context: zmq.Context) -> None:
    config = SimHalConfig(
        observation_endpoint='inproc://sim_obs_d',
        command_endpoint='inproc://sim_cmd_d',
        pacing='realtime',
        depth_height=4,
        depth_width=6,
    )
    sim = SimHal(config, context=context)
    try:
        sim.start(sim_seconds=0.1)
        with pytest.raises(RuntimeError, match='running'):
            sim.run_for(0.1)
        assert sim.wait(5.0)
        assert sim.error is None
        assert sim.statistics()['observations_published'] == 10
        sim.start()
        assert sim.running
        with pytest.raises(RuntimeError, match='running'):
            sim.reset()
        sim.stop()
        assert not sim.running
        pose = sim.robot.joint_positions()
        sim.reset(seed=0)
        assert sim.statistics()['observations_published'] == 0
        assert sim.robot.sim_time == 0.0
        np.testing.assert_array_equal(sim.robot.targets, sim.robot.joint_positions())
        assert np.abs(sim.robot.joint_positions() - pose).max() > 0.0
    finally:
        sim.close()


@pytest.mark.parametrize(
    'kwargs, match',
    [
        ({'rate_hz': 70.0}, 'rate_hz'),
        ({'rate_hz': 400.0}, 'rate_hz'),
        ({'pacing': 'fast'}, 'pacing'),
        ({'lockstep_timeout_s': 0.0}, 'lockstep_timeout_s'),
        ({'depth_height': 0}, 'depth size'),
    ],
)
def test_config_validation(kwargs: dict, match: str) -> None:
    with pytest.raises(SimConfigError, match=match):
        SimHalConfig(**kwargs)


def test_rates_map_to_whole_physics_steps() -> None:
    assert SimHalConfig(rate_hz=100.0).physics_steps_per_observation == 2
    assert SimHalConfig(rate_hz=50.0).physics_steps_per_observation == 4
    assert SimHalConfig(rate_hz=200.0).physics_steps_per_observation == 1

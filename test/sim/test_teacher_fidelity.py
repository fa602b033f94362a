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
Fidelity of the simulator: the shared trained teacher walks and climbs in it.

The observation is built from the formulas of ``parkour-policy.md`` by
``benchmarks/sim_teacher_check.py`` (directly on the SimulatedRobot) and, in
the HAL test below, from decoded HAL messages (extension keys) in this file:
neither uses the project's mapping code. Needs ``../shared`` (the TorchScript
teacher); slow.
"""

from collections.abc import Iterator
import math
from pathlib import Path
import threading
from types import ModuleType

import numpy as np
import pytest
import torch
import yaml
import zmq

from krabby_parkour_ros.hal.codec import decode_observation, encode_command
from krabby_parkour_ros.hal.messages import HalObservation
from krabby_parkour_ros.sim.hal_server import SimHal, SimHalConfig

from ..support.benchmarks import load_benchmark

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO / '..' / 'shared'
POLICY = SHARED / 'models' / 'go2_parkour_teacher' / 'policy.pt'
JOINT_MAP = REPO / 'config' / 'joint_maps' / 'go2_sim.yaml'

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not POLICY.is_file(), reason='needs the reference TorchScript export of the teacher'
    ),
]


@pytest.fixture(scope='module')
def check() -> ModuleType:
    return load_benchmark('sim_teacher_check')


@pytest.fixture(scope='module')
def policy(check: ModuleType) -> torch.jit.ScriptModule:
    return check.load_policy(POLICY)


def test_walks_on_flat_ground(check: ModuleType, policy: torch.jit.ScriptModule) -> None:
    run = check.run_teacher(policy, 'flat', duration_s=20.0, command_vx=0.5)
    assert not run.fell
    assert run.duration_s == pytest.approx(20.0)
    assert run.distance_x >= 6.0
    # It overshoots its 0.5 m/s command (~0.6 m/s measured independently).
    assert 0.4 <= run.mean_speed <= 0.9
    assert abs(run.final_position[1]) < 1.0  # kept its heading


@pytest.mark.parametrize('height', [0.2, 0.4])
def test_climbs_a_box(check: ModuleType, policy: torch.jit.ScriptModule, height: float) -> None:
    run = check.run_teacher(policy, 'box', duration_s=10.0, height=height)
    assert not run.fell
    assert run.past_obstacle
    assert run.final_position[0] > 2.5  # box spans x 1.5 .. 2.5
    assert run.max_base_z > height + 0.25  # it went over, not around


def test_leg_by_leg_joint_order_fails(check: ModuleType, policy: torch.jit.ScriptModule) -> None:
    run = check.run_teacher(policy, 'flat', duration_s=20.0, joint_order=check.LEG_BY_LEG_JOINTS)
    assert run.fell or run.distance_x < 6.0


@pytest.mark.parametrize('scan_order, height', [('yx', 0.5), ('blind', 0.4)])
def test_a_wrong_scan_fails_on_high_boxes(
    check: ModuleType, policy: torch.jit.ScriptModule, scan_order: str, height: float
) -> None:
    run = check.run_teacher(policy, 'box', duration_s=10.0, height=height, scan_order=scan_order)
    assert not run.past_obstacle


class HalTeacher:
    """Drive the teacher from decoded HAL observations (extension keys), 50 Hz of 100 Hz."""

    def __init__(self, check: ModuleType, policy: torch.jit.ScriptModule) -> None:
        with open(JOINT_MAP, encoding='utf-8') as stream:
            hardware = yaml.safe_load(stream)['hardware']
        names = hardware['joint_names']
        self.slots = np.array([names.index(j + '_joint') for j in check.POLICY_JOINTS])
        self.feet = np.array([hardware['foot_names'].index(f) for f in check.POLICY_FEET])
        self.defaults = check.POLICY_DEFAULTS
        self.policy = policy
        self.targets = np.zeros(18)
        self.targets[self.slots] = self.defaults
        self.last_action = np.zeros(12)
        self.history = np.zeros((10, 53))
        self.previous_contacts: np.ndarray | None = None
        self.policy_steps = 0
        self.observations = 0
        self.delta_yaw = 0.0
        self.scan = np.zeros(132)

    def _proprio(self, obs: HalObservation) -> np.ndarray:
        ext = obs.extensions
        x, y, z, w = ext.imu_orientation_xyzw
        roll = math.atan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y))
        pitch = math.asin(max(-1.0, min(1.0, 2 * (w * y - z * x))))
        yaw = math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
        if self.policy_steps % 5 == 0:
            self.delta_yaw = 0.0 - yaw
            self.scan = np.clip(ext.height_scan - 0.3, -1.0, 1.0)
        contacts = ext.foot_contacts[self.feet] > 0.5
        previous = contacts if self.previous_contacts is None else self.previous_contacts
        self.previous_contacts = contacts
        return np.concatenate(
            [
                ext.imu_angular_velocity * 0.25,
                [roll, pitch],
                [0.0, self.delta_yaw, self.delta_yaw, 0.0, 0.0, 0.5, 1.0, 0.0],
                obs.joint_positions[self.slots].astype(np.float64) - self.defaults,
                ext.joint_velocities[self.slots] * 0.05,
                self.last_action,
                np.logical_or(contacts, previous) - 0.5,
            ]
        )

    def answer(self, obs: HalObservation) -> np.ndarray:
        if self.observations % 2 == 0:
            proprio = self._proprio(obs)
            full = np.concatenate(
                [
                    proprio,
                    self.scan,
                    obs.extensions.base_linear_velocity * 2.0,
                    np.zeros(6 + 29),
                    self.history.ravel(),
                ]
            )
            stored = proprio.copy()
            stored[6:8] = 0.0
            if self.policy_steps <= 1:
                self.history[:] = stored
            else:
                self.history = np.vstack([self.history[1:], stored])
            with torch.no_grad():
                raw = self.policy(torch.from_numpy(np.clip(full, -100, 100)).float()[None])
            action = np.clip(raw[0].numpy().astype(np.float64), -4.8, 4.8)
            self.last_action = action
            self.targets[self.slots] = self.defaults + 0.25 * action
            self.policy_steps += 1
        self.observations += 1
        return self.targets.copy()


@pytest.fixture
def context() -> Iterator[zmq.Context]:
    ctx = zmq.Context()
    yield ctx
    ctx.term()


def _client(
    context: zmq.Context,
    sim: SimHal,
    teacher: HalTeacher,
    stop: threading.Event,
    errors: list[BaseException],
) -> None:
    sub = context.socket(zmq.SUB)
    push = context.socket(zmq.PUSH)
    try:
        for socket in (sub, push):
            socket.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.SUBSCRIBE, b'observation')
        sub.connect(sim.observation_endpoint)
        push.connect(sim.command_endpoint)
        while not stop.is_set():
            if not sub.poll(20, zmq.POLLIN):
                continue
            obs = decode_observation(sub.recv_multipart(copy=False))
            push.send_multipart(encode_command(teacher.answer(obs), obs.timestamp_ns))
    except BaseException as exc:  # noqa: B902 - reported to the test thread
        errors.append(exc)
    finally:
        sub.close(linger=0)
        push.close(linger=0)


def test_teacher_over_the_hal_climbs_a_box_in_lockstep(
    check: ModuleType, policy: torch.jit.ScriptModule, context: zmq.Context
) -> None:
    config = SimHalConfig(
        scenario='box',
        scenario_parameters={'height': 0.3},
        observation_endpoint='inproc://fidelity_obs',
        command_endpoint='inproc://fidelity_cmd',
        pacing='lockstep',
        lockstep_timeout_s=0.5,
        depth_height=8,
        depth_width=10,
    )
    sim = SimHal(config, context=context)
    sim.bind()
    teacher = HalTeacher(check, policy)
    stop = threading.Event()
    errors: list[BaseException] = []
    thread = threading.Thread(target=_client, args=(context, sim, teacher, stop, errors))
    thread.start()
    try:
        stats = sim.run_for(7.0)
    finally:
        stop.set()
        thread.join()
        sim.close()
    assert not errors, errors
    assert stats['lockstep_timeouts'] <= 2
    assert not stats['fell']
    assert stats['distance_x'] > 3.0  # past the box (x 1.5 .. 2.5)
    assert max(p[3] for p in stats['trajectory']) > 0.3 + 0.25

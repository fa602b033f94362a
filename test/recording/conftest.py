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

"""Fixtures of the recording tests: a short simulated recording with ROS topics."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
import time

import pytest

from .helpers import inproc_endpoints, RawHalPeer

#: Observation indices at which the fake node changes its mode.
MODE_CHANGES = {0: 'waiting', 5: 'soft_start', 40: 'running', 120: 'hold_stale', 125: 'running'}
#: Observation index before whose answer the peer pauses (an observation gap).
GAP_INDEX = 120
GAP_S = 0.15
ERROR_INDEX = 130
SIM_SECONDS = 2.0


@dataclass
class SimRecording:
    """A recording made from the simulator and what is known about it."""

    path: Path
    published: int
    timestamps: list[int]
    mode_walls: dict[int, int]
    recorder_stats: dict


def _ros_hook(recorder, hardware_names, mode_walls):
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
    from geometry_msgs.msg import Twist
    from sensor_msgs.msg import JointState
    from std_msgs.msg import String

    def hook(index: int, wall: int, meta: dict) -> None:
        if index == 0:
            recorder.record_ros('/joint_states', JointState(name=hardware_names), wall)
            recorder.record_ros('/cmd_vel', Twist(), wall)
        if index == 100:
            twist = Twist()
            twist.linear.x = 0.3
            recorder.record_ros('/cmd_vel', twist, wall)
        if index in MODE_CHANGES:
            mode_walls[index] = wall
            recorder.record_ros('/parkour_node/mode', String(data=MODE_CHANGES[index]), wall)
        if index == ERROR_INDEX:
            status = DiagnosticStatus(
                level=DiagnosticStatus.ERROR, name='parkour_node: control', message='test fault'
            )
            recorder.record_ros('/diagnostics', DiagnosticArray(status=[status]), wall)
        if index == GAP_INDEX:
            time.sleep(GAP_S)

    return hook


@pytest.fixture(scope='session')
def sim_recording(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimRecording]:
    """Record 2 s of the simulated Go2 answered with a standing pose (lockstep)."""
    from krabby_parkour_ros.mapping.joint_map import load_joint_map
    from krabby_parkour_ros.recording.recorder import HalRecorder
    from krabby_parkour_ros.sim import SimHal, SimHalConfig

    path = tmp_path_factory.mktemp('sim') / 'sim_run.mcap'
    names = list(load_joint_map('go2_sim').hardware_joint_names)
    observation, command = inproc_endpoints('simrec')
    sim = SimHal(
        SimHalConfig(
            observation_endpoint=observation,
            command_endpoint=command,
            pacing='lockstep',
            lockstep_timeout_s=2.0,
        )
    )
    sim.bind()
    recorder = HalRecorder(path, chunk_size=64 * 1024)
    mode_walls: dict[int, int] = {}
    peer = RawHalPeer(
        sim.transport_context,
        observation,
        command,
        recorder,
        on_observation=_ros_hook(recorder, names, mode_walls),
    )
    try:
        peer.start()
        time.sleep(0.1)
        stats = sim.run_for(SIM_SECONDS)
    finally:
        peer.close()
        recorder_stats = recorder.close()
        sim.close()
    yield SimRecording(
        path, stats['observations_published'], list(peer.timestamps), mode_walls, recorder_stats
    )

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
A 20 s recording of the simulated robot, compressed, read by every ROS 2 tool library.

The simulator publishes 100 Hz observations with its default depth image
(58x87); a raw HAL peer answers each one, and the node's default topics
(joint states, joint commands, policy action at 100 Hz; mode and
diagnostics at 1 Hz) are recorded beside them, into a zstd and an
uncompressed file at once. The sizes and MB per minute are printed (run
with ``-s``) and written to ``twenty_seconds.json`` in the test folder.
"""

from collections.abc import Sequence
import json
from pathlib import Path
import time
from typing import Any

from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory
import pytest
from rclpy.qos import qos_profile_sensor_data
from rosbags.highlevel import AnyReader

from krabby_parkour_ros.recording.qos import parse_offered_qos_profiles
from krabby_parkour_ros.recording.recorder import HalRecorder

from .helpers import inproc_endpoints, RawHalPeer
from .test_ros2_profile import FakePublisher, LATCHED

pytestmark = pytest.mark.slow
SECONDS = 20.0


class Tee:
    """
    Record every HAL record and ROS message into several recorders.

    Counts what it offered to each recorder and what each refused (a record
    method returns False for a dropped record), so the test can check the
    recorder's own accounting: a bounded queue may drop when the machine
    starves the writer process, but never silently.
    """

    def __init__(self, recorders: Sequence[HalRecorder]) -> None:
        self.recorders = recorders
        self.offered = [0] * len(recorders)
        self.refused = [0] * len(recorders)

    def _offer(self, method: str, args: tuple[Any, ...]) -> None:
        for index, recorder in enumerate(self.recorders):
            self.offered[index] += 1
            if getattr(recorder, method)(*args) is False:
                self.refused[index] += 1

    def record_observation(self, *args: Any) -> None:
        self._offer('record_observation', args)

    def record_command(self, *args: Any) -> None:
        self._offer('record_command', args)

    def record_published(self, *args: Any) -> None:
        self._offer('record_published', args)


def _node_topics(tee: Tee, names: Sequence[str]):
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
    from sensor_msgs.msg import JointState
    from std_msgs.msg import Float32MultiArray, String

    joint_states = FakePublisher('/joint_states', qos_profile_sensor_data)
    commands = FakePublisher('/parkour_node/joint_commands', qos_profile_sensor_data)
    action = FakePublisher('/parkour_node/policy_action', qos_profile_sensor_data)
    mode = FakePublisher('/parkour_node/mode', LATCHED)
    diagnostics = FakePublisher('/diagnostics', LATCHED)

    def hook(index: int, wall: int, meta: dict) -> None:
        position = [0.01 * ((index + j) % 100) for j in range(len(names))]
        tee.record_published(
            joint_states, JointState(name=names, position=position, velocity=position), wall
        )
        tee.record_published(commands, JointState(name=names, position=position), wall)
        tee.record_published(action, Float32MultiArray(data=position[:12]), wall)
        if index % 100 == 0:
            tee.record_published(mode, String(data='running'), wall)
            status = DiagnosticStatus(
                name='parkour_node: control',
                message='ok',
                values=[KeyValue(key='ticks', value=str(index))],
            )
            tee.record_published(diagnostics, DiagnosticArray(status=[status]), wall)

    return hook


def _read_everything(path: Path) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {'mcap_ros2': {}, 'rosbags': {}}
    with open(path, 'rb') as stream:
        reader = make_reader(stream, decoder_factories=[DecoderFactory()])
        for _, channel, _, decoded in reader.iter_decoded_messages():
            assert decoded is not None
            counts['mcap_ros2'][channel.topic] = counts['mcap_ros2'].get(channel.topic, 0) + 1
    with AnyReader([path]) as reader:
        for connection in reader.connections:
            assert connection.ext.offered_qos_profiles, connection.topic
        for connection, _, raw in reader.messages():
            reader.deserialize(raw, connection.msgtype)
            counts['rosbags'][connection.topic] = counts['rosbags'].get(connection.topic, 0) + 1
    return counts


def test_twenty_second_compressed_recording(tmp_path: Path) -> None:
    from krabby_parkour_ros.mapping.joint_map import load_joint_map
    from krabby_parkour_ros.sim import SimHal, SimHalConfig

    names = list(load_joint_map('go2_sim').hardware_joint_names)
    observation, command = inproc_endpoints('twenty')
    sim = SimHal(SimHalConfig(observation_endpoint=observation, command_endpoint=command))
    sim.bind()
    paths = {c: tmp_path / (f'run_{c}.mcap') for c in ('zstd', 'none')}
    recorders = {c: HalRecorder(p, compression=c) for c, p in paths.items()}
    tee = Tee(list(recorders.values()))
    peer = RawHalPeer(
        sim.transport_context, observation, command, tee, on_observation=_node_topics(tee, names)
    )
    try:
        peer.start()
        time.sleep(0.1)
        sim_stats = sim.run_for(SECONDS)
    finally:
        peer.close()
        stats = {c: r.close() for c, r in recorders.items()}
        sim.close()
    duration_s = (peer.last_wall_ns - peer.first_wall_ns) / 1e9 if peer.timestamps else 0.0
    figures = {
        'seconds_recorded': round(duration_s, 2),
        'observations': len(peer.timestamps),
        'observations_published': sim_stats['observations_published'],
    }
    for index, (compression, path) in enumerate(paths.items()):
        size = path.stat().st_size
        offered, refused = tee.offered[index], tee.refused[index]
        got = stats[compression]
        # Every offered record is written or counted as dropped (never lost
        # silently); the writer process keeps up on a loaded machine (a drop
        # here means it was starved for over queue_size records: at most 1 %).
        assert got['errors'] == 0, got
        assert got['dropped'] == refused and got['written'] == offered - refused, (got, offered)
        assert sum(got['per_topic'].values()) == got['written'], got
        assert refused <= offered // 100, (compression, refused, offered)
        figures[f'{compression}_dropped'] = refused
        figures[compression] = {
            'bytes': size,
            'mb': round(size / 1e6, 2),
            'mb_per_min': round(size / 1e6 * 60 / duration_s, 1),
        }
    figures['zstd']['ratio'] = round(figures['none']['bytes'] / figures['zstd']['bytes'], 2)
    (tmp_path / 'twenty_seconds.json').write_text(json.dumps(figures, indent=1))
    print(f'\n20 s recording: {json.dumps(figures)}')
    assert duration_s > SECONDS * 0.9 and len(peer.timestamps) > 500
    assert figures['zstd']['bytes'] < figures['none']['bytes']
    counts = _read_everything(paths['zstd'])
    expected = stats['zstd']['per_topic']
    assert len(expected) == 7
    assert counts['mcap_ros2'] == expected and counts['rosbags'] == expected
    with open(paths['zstd'], 'rb') as stream:
        summary = make_reader(stream).get_summary()
    assert {c.compression for c in summary.chunk_indexes} == {'zstd'}
    for channel in summary.channels.values():
        assert parse_offered_qos_profiles(channel.metadata['offered_qos_profiles'])

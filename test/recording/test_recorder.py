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

"""HalRecorder: byte-exact records, ROS interop, rotation, drops and errors."""

from collections.abc import Iterator
from contextlib import contextmanager
import os
from pathlib import Path
import signal
import time
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import Twist
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory
import numpy as np
import pytest
from rosbags.highlevel import AnyReader
from sensor_msgs.msg import JointState
from std_msgs.msg import Float32MultiArray, String

from krabby_parkour_ros.hal.codec import encode_command, encode_observation
from krabby_parkour_ros.recording.reader import RecordingReader
from krabby_parkour_ros.recording.recorder import (
    COMMAND_TOPIC,
    HalRecorder,
    OBSERVATION_TOPIC,
    RecordingError,
)


def observation_frames(index: int, height: int = 6, width: int = 8) -> list:
    rng = np.random.default_rng(index)
    cam = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    return encode_observation(
        1_000_000 + index,
        np.full(18, index * 0.01),
        cam,
        cam[::-1].copy(),
        rng.random((height, width)),
        np.ones((height, width)),
        {'base_linear_velocity': [0.1 * index, 0.0, 0.0]},
    )


def ros_messages(index: int) -> dict:
    joint_state = JointState(name=['FR_hip_joint', 'FR_thigh_joint'], position=[0.1 * index, -0.2])
    twist = Twist()
    twist.linear.x = 0.5
    twist.angular.z = -0.25
    diagnostics = DiagnosticArray(
        status=[
            DiagnosticStatus(
                level=DiagnosticStatus.WARN,
                name='parkour_node: control',
                message='slow',
                values=[KeyValue(key='latency_ms', value=f'{int(index)}')],
            )
        ]
    )
    return {
        '/joint_states': joint_state,
        '/parkour_node/policy_action': Float32MultiArray(data=[float(index)] * 12),
        '/parkour_node/mode': String(data='running'),
        '/diagnostics': diagnostics,
        '/cmd_vel': twist,
    }


def write_sample(path: Path, count: int = 10, **kwargs: Any) -> dict:
    recorder = HalRecorder(path, **kwargs)
    for index in range(count):
        assert recorder.record_observation(
            observation_frames(index), 10_000 + index, 1_700_000_000_000_000_000 + index * 1000
        )
        assert recorder.record_command(
            encode_command(np.zeros(18), 1_000_000 + index, 2_000_000 + index),
            20_000 + index,
            1_700_000_000_000_000_500 + index * 1000,
        )
        for topic, msg in ros_messages(index).items():
            assert recorder.record_ros(topic, msg, 1_700_000_000_000_000_700 + index * 1000)
    return recorder.close()


def test_observations_and_commands_are_byte_exact(tmp_path: Path) -> None:
    stats = write_sample(tmp_path / 'run.mcap')
    assert stats['written'] == stats['enqueued'] == 70 and stats['dropped'] == 0
    assert stats['per_topic'][OBSERVATION_TOPIC] == 10
    reader = RecordingReader(tmp_path / 'run.mcap')
    observations = list(reader.observations())
    assert [o.frame_bytes() for o in observations] == [observation_frames(i) for i in range(10)]
    assert [o.monotonic_time_ns for o in observations] == [10_000 + i for i in range(10)]
    assert observations[3].wall_time_ns == 1_700_000_000_000_003_000
    velocity = observations[4].observation().extensions.base_linear_velocity
    assert velocity is not None
    assert velocity.tolist() == [
        pytest.approx(0.4),
        0.0,
        0.0,
    ]
    commands = list(reader.commands())
    assert [c.command().observation_timestamp_ns for c in commands] == [
        1_000_000 + i for i in range(10)
    ]
    assert commands[0].frame_bytes() == encode_command(np.zeros(18), 1_000_000, 2_000_000)
    assert not reader.truncated and reader.problems == []
    assert reader.metadata()['format_version'] == '1'


def test_ros_messages_round_trip_through_rclpy(tmp_path: Path) -> None:
    write_sample(tmp_path / 'run.mcap', count=3)
    reader = RecordingReader(tmp_path / 'run.mcap')
    decoded = [(m.topic, m.decode()) for m in reader.ros_messages()]
    assert len(decoded) == 15
    by_topic: dict[str, list] = {}
    for topic, msg in decoded:
        by_topic.setdefault(topic, []).append(msg)
    assert [list(m.position) for m in by_topic['/joint_states']] == [
        [0.0, -0.2],
        [0.1, -0.2],
        [pytest.approx(0.2), -0.2],
    ]
    assert by_topic['/cmd_vel'][2].angular.z == -0.25
    assert by_topic['/diagnostics'][1].status[0].values[0].value == '1'
    assert list(by_topic['/parkour_node/policy_action'][2].data) == [2.0] * 12
    assert reader.topics()['/parkour_node/mode'] == 'std_msgs/msg/String'


def test_recording_opens_with_rosbags_and_mcap_ros2(tmp_path: Path) -> None:
    path = tmp_path / 'run.mcap'
    write_sample(path, count=4)
    with AnyReader([path]) as reader:
        topics = {c.topic: c.msgtype for c in reader.connections}
        assert topics == {
            OBSERVATION_TOPIC: 'krabby_parkour/msg/HalFrames',
            COMMAND_TOPIC: 'krabby_parkour/msg/HalFrames',
            '/joint_states': 'sensor_msgs/msg/JointState',
            '/parkour_node/policy_action': 'std_msgs/msg/Float32MultiArray',
            '/parkour_node/mode': 'std_msgs/msg/String',
            '/diagnostics': 'diagnostic_msgs/msg/DiagnosticArray',
            '/cmd_vel': 'geometry_msgs/msg/Twist',
        }
        counts: dict[str, int] = {}
        for connection, _, raw in reader.messages():
            msg: Any = reader.deserialize(raw, connection.msgtype)
            counts[connection.topic] = counts.get(connection.topic, 0) + 1
            if connection.topic == '/joint_states':
                assert list(msg.name) == ['FR_hip_joint', 'FR_thigh_joint']
            if connection.topic == OBSERVATION_TOPIC:
                assert msg.frame_lengths.size == 8
                assert msg.data[:11].tobytes() == b'observation'
        assert set(counts.values()) == {4}
    with open(path, 'rb') as stream:
        decoded = list(
            make_reader(stream, decoder_factories=[DecoderFactory()]).iter_decoded_messages(
                topics=['/cmd_vel', COMMAND_TOPIC]
            )
        )
    assert len(decoded) == 8
    twists = [d.decoded_message for d in decoded if d.channel.topic == '/cmd_vel']
    assert twists[0].linear.x == 0.5


def test_files_rotate_by_size_and_read_in_order(tmp_path: Path) -> None:
    stats = write_sample(tmp_path / 'run', count=30, max_file_bytes=8 * 1024, chunk_size=2048)
    assert len(stats['files']) > 2
    assert stats['files'][1] == str(tmp_path / 'run_001.mcap')
    assert stats['bytes_written'] == sum(Path(f).stat().st_size for f in stats['files'])
    reader = RecordingReader(tmp_path / 'run_001.mcap')
    assert [str(p) for p in reader.parts] == stats['files']
    observations = list(reader.observations())
    assert [o.observation().timestamp_ns for o in observations] == [
        1_000_000 + i for i in range(30)
    ]
    parts = {o.part for o in observations}
    assert len(parts) > 2 and parts <= set(range(len(stats['files'])))
    with AnyReader([Path(stats['files'][-1])]) as other:
        assert other.message_count > 0


@contextmanager
def paused_writer(recorder: HalRecorder) -> Iterator[None]:
    """Stop the recorder's writer process (SIGSTOP) for the block: nothing is written meanwhile."""
    os.kill(recorder.writer_pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(recorder.writer_pid, signal.SIGCONT)


def test_full_queue_drops_and_counts(tmp_path: Path) -> None:
    recorder = HalRecorder(tmp_path / 'run.mcap', queue_size=2)
    frames = observation_frames(0)
    with paused_writer(recorder):
        results = [recorder.record_observation(frames) for _ in range(5)]
        assert results == [True, True, False, False, False]
        stats = recorder.stats()
        assert (stats['dropped'], stats['queued'], stats['enqueued']) == (3, 2, 2)
        assert stats['dropped_bytes'] == 3 * sum(len(f) for f in frames)
        assert stats['max_queued'] == 2
    final = recorder.close()
    assert (final['written'], final['dropped'], final['queued']) == (2, 3, 0)
    assert len(list(RecordingReader(tmp_path / 'run.mcap').observations())) == 2


def test_byte_budget_drops_large_records(tmp_path: Path) -> None:
    frames = observation_frames(0, 20, 20)
    size = sum(len(f) for f in frames)
    recorder = HalRecorder(tmp_path / 'run.mcap', max_queue_bytes=int(size * 2.5))
    with paused_writer(recorder):
        assert recorder.record_observation(frames)
        assert recorder.record_observation(frames)
        assert recorder.stats()['queued_bytes'] == 2 * size
        assert not recorder.record_observation(frames)
        assert recorder.record_command(encode_command(np.zeros(18), 1))  # small: still fits
    # Written records free their budget again.
    deadline = time.monotonic() + 10.0
    while recorder.stats()['queued'] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert recorder.stats()['queued_bytes'] == 0
    assert recorder.record_observation(frames)
    assert recorder.close()['dropped'] == 1


def test_caller_may_reuse_its_buffer_at_once(tmp_path: Path) -> None:
    frames = [bytearray(f) for f in observation_frames(1)]
    recorder = HalRecorder(tmp_path / 'run.mcap')
    with paused_writer(recorder):
        assert recorder.record_observation(frames, 1, 2)
        for frame in frames:
            frame[:] = bytes(len(frame))
    recorder.close()
    (record,) = RecordingReader(tmp_path / 'run.mcap').observations()
    assert record.frame_bytes() == observation_frames(1)


def test_closed_recorder_drops(tmp_path: Path) -> None:
    recorder = HalRecorder(tmp_path / 'run.mcap')
    recorder.close()
    assert recorder.closed
    assert not recorder.record_ros('/x', String(data='late'))
    assert recorder.stats()['dropped'] == 1
    assert recorder.close()['written'] == 0  # idempotent


def test_non_message_is_counted_as_error(tmp_path: Path) -> None:
    recorder = HalRecorder(tmp_path / 'run.mcap')
    assert not recorder.record_ros('/x', {'data': 1})
    stats = recorder.close()
    assert stats['errors'] == 1 and stats['written'] == 0


def test_pending_data_is_flushed_periodically(tmp_path: Path) -> None:
    recorder = HalRecorder(tmp_path / 'run.mcap', flush_interval_s=0.05)
    recorder.record_ros('/parkour_node/mode', String(data='running'))
    deadline = time.monotonic() + 10.0
    messages: list = []
    while not messages and time.monotonic() < deadline:
        time.sleep(0.02)
        messages = list(RecordingReader(tmp_path / 'run.mcap').ros_messages())
    # The chunk reached the disk long before close(), with chunk_size far away.
    assert [m.decode().data for m in messages] == ['running']
    assert not recorder.closed
    recorder.close()


@pytest.mark.parametrize(
    'kwargs, field',
    [
        ({'queue_size': 0}, 'queue_size'),
        ({'max_file_bytes': -1}, 'max_file_bytes'),
        ({'chunk_size': 10}, 'chunk_size'),
        ({'compression': 'gzip'}, 'compression'),
        ({'flush_interval_s': 0}, 'flush_interval_s'),
        ({'max_queue_bytes': True}, 'max_queue_bytes'),
    ],
)
def test_invalid_settings_are_refused(tmp_path: Path, kwargs: dict, field: str) -> None:
    with pytest.raises(RecordingError, match=field):
        HalRecorder(tmp_path / 'run.mcap', **kwargs)
    assert not (tmp_path / 'run.mcap').exists()


def test_existing_file_and_missing_folder_are_refused(tmp_path: Path) -> None:
    (tmp_path / 'run.mcap').write_bytes(b'keep')
    with pytest.raises(RecordingError, match='existing'):
        HalRecorder(tmp_path / 'run.mcap')
    assert (tmp_path / 'run.mcap').read_bytes() == b'keep'
    with pytest.raises(RecordingError, match='could not create'):
        HalRecorder(tmp_path / 'missing' / 'run.mcap')


@pytest.mark.parametrize('compression', ['lz4', 'zstd'])
def test_every_compression_reads_back(tmp_path: Path, compression: str) -> None:
    write_sample(tmp_path / 'run.mcap', count=3, compression=compression)
    reader = RecordingReader(tmp_path / 'run.mcap')
    assert [o.frame_bytes() for o in reader.observations()] == [
        observation_frames(i) for i in range(3)
    ]

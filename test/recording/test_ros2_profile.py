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


"""The MCAP ros2 profile as rosbag2 writes it: QoS metadata, compression, any topic."""

from pathlib import Path

from mcap.reader import make_reader
import pytest
from rclpy.duration import Duration
from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    qos_profile_sensor_data,
    QoSProfile,
    ReliabilityPolicy,
)
from rosbags.highlevel import AnyReader
from sensor_msgs.msg import JointState, PointCloud2
from std_msgs.msg import String
from visualization_msgs.msg import MarkerArray

from krabby_parkour_ros.recording.qos import (
    DEFAULT_QOS,
    DURABILITY_TRANSIENT_LOCAL,
    offered_qos_profiles,
    parse_offered_qos_profiles,
    QosFormatError,
    RELIABILITY_BEST_EFFORT,
    SENSOR_DATA_QOS,
    TopicQos,
)
from krabby_parkour_ros.recording.reader import RecordingReader
from krabby_parkour_ros.recording.recorder import (
    COMMAND_TOPIC,
    HAL_QOS,
    HalRecorder,
    OBSERVATION_TOPIC,
    RecordingError,
)

from .test_recorder import write_sample

LATCHED = QoSProfile(
    depth=1,
    history=HistoryPolicy.KEEP_LAST,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
)


class FakePublisher:
    """What ``record_published`` reads of an rclpy publisher."""

    def __init__(self, topic_name: str, qos_profile: QoSProfile) -> None:
        self.topic_name = topic_name
        self.qos_profile = qos_profile


def channel_metadata(path: Path) -> dict[str, dict[str, str]]:
    with open(path, 'rb') as stream:
        summary = make_reader(stream).get_summary()
    return {c.topic: dict(c.metadata) for c in summary.channels.values()}


def chunk_compressions(path: Path) -> list[str]:
    with open(path, 'rb') as stream:
        summary = make_reader(stream).get_summary()
    return sorted({c.compression for c in summary.chunk_indexes})


def test_qos_yaml_is_rosbag2_v8_and_round_trips() -> None:
    text = offered_qos_profiles([qos_profile_sensor_data])
    assert text.splitlines() == [
        '- history: 1',
        '  depth: 5',
        '  reliability: 2',
        '  durability: 2',
        '  deadline:',
        '    sec: 0',
        '    nsec: 0',
        '  lifespan:',
        '    sec: 0',
        '    nsec: 0',
        '  liveliness: 0',
        '  liveliness_lease_duration:',
        '    sec: 0',
        '    nsec: 0',
        '  avoid_ros_namespace_conventions: false',
    ]
    assert parse_offered_qos_profiles(text) == [SENSOR_DATA_QOS]
    deadline = QoSProfile(depth=3, deadline=Duration(seconds=1, nanoseconds=5))
    assert parse_offered_qos_profiles(offered_qos_profiles([deadline, LATCHED])) == [
        TopicQos(depth=3, deadline_ns=1_000_000_005),
        TopicQos(depth=1, durability=DURABILITY_TRANSIENT_LOCAL),
    ]
    # rosbag2 metadata version 9 (Jazzy) spells the policies as strings.
    v9 = text.replace('history: 1', 'history: keep_last').replace(
        'reliability: 2', 'reliability: best_effort'
    )
    assert parse_offered_qos_profiles(v9) == [SENSOR_DATA_QOS]
    with pytest.raises(QosFormatError, match='offered_qos_profiles'):
        parse_offered_qos_profiles('- depth: 1')


def test_every_channel_carries_offered_qos_profiles(tmp_path: Path) -> None:
    path = tmp_path / 'run.mcap'
    recorder = HalRecorder(path)
    recorder.register_topic('/parkour_node/mode', String, LATCHED)
    recorder.record_observation([b'observation', b'1.0'])
    recorder.record_ros('/parkour_node/mode', String(data='running'))
    assert recorder.record_published(
        FakePublisher('/parkour_node/joint_commands', qos_profile_sensor_data),
        JointState(name=['a'], position=[1.0]),
    )
    recorder.record_ros('/cmd_vel_unregistered', String(data='x'))
    assert recorder.close()['errors'] == 0
    metadata = channel_metadata(path)
    qos = {
        topic: parse_offered_qos_profiles(m['offered_qos_profiles'])
        for topic, m in metadata.items()
    }
    assert qos == {
        OBSERVATION_TOPIC: [HAL_QOS],
        '/parkour_node/mode': [TopicQos(depth=1, durability=DURABILITY_TRANSIENT_LOCAL)],
        '/parkour_node/joint_commands': [SENSOR_DATA_QOS],
        '/cmd_vel_unregistered': [DEFAULT_QOS],
    }
    # rosbags reads the same profiles (it builds them for its own rosbag2 writer).
    with AnyReader([path]) as reader:
        by_topic = {c.topic: c.ext.offered_qos_profiles for c in reader.connections}
    assert by_topic['/parkour_node/mode'][0].durability.name == 'TRANSIENT_LOCAL'
    assert by_topic['/parkour_node/joint_commands'][0].reliability.value == (
        RELIABILITY_BEST_EFFORT
    )
    assert by_topic['/parkour_node/joint_commands'][0].depth == 5


def test_registered_topics_are_declared_in_every_part(tmp_path: Path) -> None:
    path = tmp_path / 'run.mcap'
    recorder = HalRecorder(path, max_file_bytes=4096, chunk_size=1024, compression='none')
    recorder.register_topic(
        '/parkour_node/height_scan', 'sensor_msgs/PointCloud2', qos_profile_sensor_data
    )
    recorder.register_topic('/parkour_node/markers', MarkerArray)
    for index in range(40):
        recorder.record_observation([b'observation', bytes(200 + index)])
    stats = recorder.close()
    assert len(stats['files']) > 1 and stats['errors'] == 0
    for part in stats['files']:
        metadata = channel_metadata(Path(part))
        assert {'/parkour_node/height_scan', '/parkour_node/markers'} <= set(metadata)
    with AnyReader([path]) as reader:
        topics = {c.topic: c.msgtype for c in reader.connections}
    assert topics['/parkour_node/height_scan'] == 'sensor_msgs/msg/PointCloud2'
    assert topics['/parkour_node/markers'] == 'visualization_msgs/msg/MarkerArray'


def test_debug_topic_types_record_and_decode(tmp_path: Path) -> None:
    from builtin_interfaces.msg import Time
    from visualization_msgs.msg import Marker

    path = tmp_path / 'run.mcap'
    recorder = HalRecorder(path)
    cloud = PointCloud2(height=1, width=2, point_step=12, row_step=24, data=bytes(range(24)))
    cloud.header.frame_id = 'base'
    marker = Marker(ns='contacts', id=3)
    marker.header.stamp = Time(sec=5, nanosec=7)
    recorder.record_published(
        FakePublisher('/parkour_node/height_scan', qos_profile_sensor_data), cloud
    )
    recorder.record_published(
        FakePublisher('/parkour_node/markers', QoSProfile(depth=10)), MarkerArray(markers=[marker])
    )
    assert recorder.close()['written'] == 2
    decoded = {m.topic: m.decode() for m in RecordingReader(path).ros_messages()}
    assert bytes(decoded['/parkour_node/height_scan'].data) == bytes(range(24))
    assert decoded['/parkour_node/markers'].markers[0].header.stamp.nanosec == 7
    with AnyReader([path]) as reader:
        for connection, _, raw in reader.messages():
            msg = reader.deserialize(raw, connection.msgtype)
            if connection.topic == '/parkour_node/markers':
                assert msg.markers[0].ns == 'contacts'


def test_a_type_other_than_the_registered_one_is_refused(tmp_path: Path) -> None:
    recorder = HalRecorder(tmp_path / 'run.mcap')
    recorder.register_topic('/parkour_node/mode', String, LATCHED)
    recorder.record_ros('/parkour_node/mode', JointState())
    recorder.record_ros('/free', String(data='a'))
    recorder.record_ros('/free', JointState())
    stats = recorder.close()
    assert stats['errors'] == 2 and stats['written'] == 1
    with pytest.raises(RecordingError, match='/x'):
        HalRecorder(tmp_path / 'other.mcap').register_topic('/x', 'not a type')


@pytest.mark.parametrize('compression', ['zstd', 'lz4', 'none'])
def test_chunk_compression(tmp_path: Path, compression: str) -> None:
    path = tmp_path / 'run.mcap'
    write_sample(path, count=5, compression=compression)
    assert chunk_compressions(path) == ['' if compression == 'none' else compression]
    assert len(list(RecordingReader(path).ros_messages())) == 25


def test_zstd_is_the_default(tmp_path: Path) -> None:
    path = tmp_path / 'run.mcap'
    write_sample(path, count=2)
    assert chunk_compressions(path) == ['zstd']
    assert COMMAND_TOPIC in channel_metadata(path)


def test_a_real_rclpy_publisher_gives_its_topic_and_qos(tmp_path: Path) -> None:
    import os

    import rclpy
    from rclpy.context import Context

    context = Context()
    rclpy.init(context=context, domain_id=100 + os.getpid() % 100)
    try:
        node = rclpy.create_node('recorder_probe', namespace='/krabby', context=context)
        publisher = node.create_publisher(JointState, '~/joint_commands', qos_profile_sensor_data)
        recorder = HalRecorder(tmp_path / 'run.mcap')
        msg = JointState(name=['a'], position=[0.5])
        publisher.publish(msg)
        assert recorder.record_published(publisher, msg)
        recorder.close()
        node.destroy_node()
    finally:
        rclpy.shutdown(context=context)
    metadata = channel_metadata(tmp_path / 'run.mcap')
    assert parse_offered_qos_profiles(
        metadata['/krabby/recorder_probe/joint_commands']['offered_qos_profiles']
    ) == [SENSOR_DATA_QOS]


def test_recording_imports_without_mcap_until_a_file_is_written(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        'import sys; sys.modules["mcap"] = None\n'  # as if mcap were not installed
        'from krabby_parkour_ros.recording.session import open_recorder\n'
        'from krabby_parkour_ros.recording import HalRecorder, RecordingError\n'
        'try:\n'
        '    open_recorder(sys.argv[1], 0)\n'
        'except RecordingError as exc:\n'
        '    print(exc)\n'
    )
    run = subprocess.run(
        [sys.executable, '-c', code, str(tmp_path / 'run.mcap')],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(Path(__file__).resolve().parents[2]),
    )
    assert run.returncode == 0, run.stderr
    assert 'recording needs the mcap package' in run.stdout

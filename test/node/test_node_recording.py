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
Issue #14 part 7 (node side): what the node records, with which QoS and compression.

A node with ``record_path`` and ``publish_debug_topics`` runs against the
scripted HAL; the MCAP file, read with the ``mcap`` package (not this
project's reader), has the debug topics, ``cmd_vel`` (registered when
recording opens), every channel's ``offered_qos_profiles`` as its
publisher offers it, and chunks compressed as ``record_compression`` says.
"""

import time

from geometry_msgs.msg import Twist
from mcap.reader import make_reader
from mcap.records import Chunk
from mcap.stream_reader import StreamReader
import pytest
import yaml

from .test_parkour_node import Listener, make_node, SUCCESS, wait_for

DEBUG_TOPICS = (
    '/parkour_node/height_scan',
    '/parkour_node/markers',
    '/parkour_node/base_velocity',
    '/parkour_node/command_velocity',
)
#: rosbag2 metadata enums (docs/recording.md).
RELIABLE, BEST_EFFORT = 1, 2
TRANSIENT_LOCAL, VOLATILE = 1, 2


@pytest.fixture
def listener(peer_context, spin):
    node = Listener(peer_context)
    yield node
    spin.retire(node.node)


def _chunk_compressions(path) -> list[str]:
    with open(path, 'rb') as stream:
        return [
            record.compression
            for record in StreamReader(stream, emit_chunks=True).records
            if isinstance(record, Chunk)
        ]


def _read(path) -> dict[str, dict]:
    """Return per topic: the message count and the first offered QoS profile."""
    topics: dict[str, dict] = {}
    with open(path, 'rb') as stream:
        reader = make_reader(stream)
        summary = reader.get_summary()
        for channel_id, channel in summary.channels.items():
            profiles = yaml.safe_load(channel.metadata.get('offered_qos_profiles', '[]'))
            topics[channel.topic] = {
                'count': summary.statistics.channel_message_counts.get(channel_id, 0),
                'qos': profiles[0] if profiles else None,
            }
    return topics


@pytest.mark.parametrize('hal', ['inproc'], indirect=True)
@pytest.mark.parametrize('compression', ['', 'lz4'])
def test_recording_has_debug_topics_qos_and_compression(
    ros_context, spin, hal, listener, tmp_path, compression
):
    path = tmp_path / 'run.mcap'
    overrides = {
        'record_path': str(path),
        'publish_debug_topics': True,
        'stand_on_zero_command': False,
    }
    if compression:
        overrides['record_compression'] = compression
    node = make_node(ros_context, hal, **overrides)
    spin(node, listener.node)
    try:
        assert node.trigger_configure() == SUCCESS and node.trigger_activate() == SUCCESS
        # After the soft start the policy runs: the debug topics are published.
        assert wait_for(lambda: listener.mode() == 'running')
        twist = Twist()
        twist.linear.x = 0.4
        deadline = time.monotonic() + 20.0
        while node.node_counters['cmd_vel_received'] < 5 and time.monotonic() < deadline:
            listener.cmd_vel.publish(twist)
            time.sleep(0.02)
        assert node.node_counters['cmd_vel_received'] >= 5
        assert wait_for(lambda: len(listener.messages['diagnostics']) >= 2)
        time.sleep(0.3)
        assert node.trigger_deactivate() == SUCCESS
        assert node.trigger_cleanup() == SUCCESS  # closes the recording
    finally:
        node.trigger_shutdown()
        spin.retire(node)
    expected = compression or 'zstd'
    chunks = _chunk_compressions(path)
    assert chunks and set(chunks) == {expected}, chunks
    topics = _read(path)
    for topic in DEBUG_TOPICS:
        assert topic in topics, sorted(topics)
        assert topics[topic]['qos']['reliability'] == BEST_EFFORT, (topic, topics[topic])
    assert topics['/parkour_node/markers']['count'] > 0
    assert topics['/parkour_node/command_velocity']['count'] > 0
    # cmd_vel: registered when recording opened, with the subscription's QoS.
    assert topics['/cmd_vel']['count'] >= 5
    assert topics['/cmd_vel']['qos']['reliability'] == BEST_EFFORT
    # Publishers' own QoS: the latched status topics, reliable joint_states.
    assert topics['/diagnostics']['qos']['durability'] == TRANSIENT_LOCAL
    assert topics['/diagnostics']['qos']['depth'] == 1
    assert topics['/parkour_node/mode']['qos']['durability'] == TRANSIENT_LOCAL
    assert topics['/joint_states']['qos']['reliability'] == RELIABLE
    assert topics['/parkour_node/joint_commands']['qos']['reliability'] == BEST_EFFORT
    print(
        {topic: info['count'] for topic, info in sorted(topics.items())},
        f'chunks: {len(chunks)} x {expected}, {path.stat().st_size} bytes',
    )

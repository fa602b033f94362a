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

"""HalFrames layout, complete message definitions and exact CDR bytes."""

import struct

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import Twist
import pytest
from rclpy.serialization import serialize_message
from rosbags.typesys import get_types_from_msg, get_typestore, Stores
from sensor_msgs.msg import JointState
from std_msgs.msg import Empty, Float32MultiArray, String

from krabby_parkour_ros.recording.cdr import cdr_length, trim_serialized
from krabby_parkour_ros.recording.format import (
    decode_hal_frames,
    encode_hal_frames,
    HAL_FRAMES_MSGDEF,
    HAL_FRAMES_TYPE,
    HalFramesFormatError,
)
from krabby_parkour_ros.recording.msgdefs import (
    DELIMITER,
    full_message_definition,
    message_type_name,
    MessageDefinitionError,
)


def test_hal_frames_golden_bytes() -> None:
    data = encode_hal_frames([b'ab', b'', memoryview(b'xyz')], 5, -7)
    expected = (
        b'\x00\x01\x00\x00'
        + struct.pack('<qqI', 5, -7, 3)
        + struct.pack('<3I', 2, 0, 3)
        + struct.pack('<I', 5)
        + b'abxyz'
    )
    assert data == expected
    monotonic, wall, frames = decode_hal_frames(data)
    assert (monotonic, wall) == (5, -7)
    assert [bytes(f) for f in frames] == [b'ab', b'', b'xyz']


def test_hal_frames_is_a_ros_message_decodable_by_rosbags() -> None:
    store = get_typestore(Stores.EMPTY)
    store.register(get_types_from_msg(HAL_FRAMES_MSGDEF, HAL_FRAMES_TYPE))
    data = encode_hal_frames([b'observation', b'1.0', b'{}'], 123, 456)
    msg = store.deserialize_cdr(data, HAL_FRAMES_TYPE)
    assert (msg.monotonic_time_ns, msg.wall_time_ns) == (123, 456)
    assert msg.frame_lengths.tolist() == [11, 3, 2]
    assert msg.data.tobytes() == b'observation1.0{}'
    assert bytes(store.serialize_cdr(msg, HAL_FRAMES_TYPE)) == data


@pytest.mark.parametrize('cut', [3, 10, 30, -1])
def test_truncated_hal_frames_are_rejected(cut: int) -> None:
    data = encode_hal_frames([b'abc', b'defg'], 1, 2)
    with pytest.raises(HalFramesFormatError):
        decode_hal_frames(data[:cut])


def test_inconsistent_total_is_rejected() -> None:
    data = bytearray(encode_hal_frames([b'abc'], 1, 2))
    struct.pack_into('<I', data, 4 + 20 + 4, 4)
    with pytest.raises(HalFramesFormatError, match='expected 3 bytes'):
        decode_hal_frames(bytes(data))


def test_full_definition_lists_every_dependency_once() -> None:
    text = full_message_definition('diagnostic_msgs/msg/DiagnosticArray')
    headers = [line for line in text.splitlines() if line.startswith('MSG: ')]
    assert headers == [
        'MSG: std_msgs/msg/Header',
        'MSG: diagnostic_msgs/msg/DiagnosticStatus',
        'MSG: diagnostic_msgs/msg/KeyValue',
        'MSG: builtin_interfaces/msg/Time',
    ]
    assert text.count(DELIMITER) == 4
    assert text.startswith('# This message is used to send diagnostic information')


def test_unknown_type_is_reported() -> None:
    with pytest.raises(MessageDefinitionError, match='no_such_msgs/msg/Nothing'):
        full_message_definition('no_such_msgs/msg/Nothing')
    with pytest.raises(MessageDefinitionError):
        message_type_name(object())
    assert message_type_name(JointState()) == 'sensor_msgs/msg/JointState'


MESSAGES = [
    JointState(),
    JointState(name=['a', 'bc'], position=[1.0, 2.0]),
    String(data='running'),
    Float32MultiArray(data=[0.5] * 753),
    Twist(),
    Empty(),
    DiagnosticArray(
        status=[
            DiagnosticStatus(
                level=DiagnosticStatus.WARN, name='x', values=[KeyValue(key='k', value='vvv')]
            )
        ]
    ),
]


@pytest.mark.parametrize('msg', MESSAGES, ids=lambda m: type(m).__name__)
def test_trimmed_cdr_equals_an_independent_serializer(msg: object) -> None:
    type_name = message_type_name(msg)
    store = get_typestore(Stores.EMPTY)
    store.register(get_types_from_msg(full_message_definition(type_name), type_name))
    raw = serialize_message(msg)
    exact = trim_serialized(raw, type(msg))
    assert exact is not None and len(exact) == cdr_length(msg) <= len(raw)
    reference = bytes(store.serialize_cdr(store.deserialize_cdr(exact, type_name), type_name))
    assert exact == reference


def test_rclpy_buffer_of_empty_joint_state_is_longer_than_cdr() -> None:
    # The reason trim_serialized exists: rmw_fastrtps returns its size estimate.
    raw = serialize_message(JointState())
    assert len(raw) > cdr_length(JointState()) == 36

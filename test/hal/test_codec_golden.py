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

"""Golden wire vectors: hand-written bytes decode to known values and re-encode exactly."""

import struct
import time
from typing import Any

import numpy as np
import pytest
import zmq

from krabby_parkour_ros.hal.codec import (
    decode_command,
    decode_observation,
    encode_command,
    encode_observation,
)

TIMESTAMP_NS = 1732480000000000000
JOINTS = [k * 0.125 - 1.0 for k in range(18)]  # exact in float32
JOINT_BYTES = struct.pack('<18f', *JOINTS)

# 2x3 RGB images, row-major (H, W, 3), uint8.
CAMERA_1 = b'\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11'
CAMERA_2 = b'\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\x80\x81\x82\x83\x84\x85\x86\x87\x88'
# 2x3 little-endian float32: depth 0.5 1.0 1.5 / 2.0 2.5 3.0 metres.
DEPTH = (
    b'\x00\x00\x00\x3f\x00\x00\x80\x3f\x00\x00\xc0\x3f'
    b'\x00\x00\x00\x40\x00\x00\x20\x40\x00\x00\x40\x40'
)
# Confidence 0.0 0.25 0.5 / 0.75 1.0 1.0.
CONFIDENCE = (
    b'\x00\x00\x00\x00\x00\x00\x80\x3e\x00\x00\x00\x3f'
    b'\x00\x00\x40\x3f\x00\x00\x80\x3f\x00\x00\x80\x3f'
)

METADATA = (
    b'{"joint_positions": {"shape": [18], "dtype": "float32"}, '
    b'"rgb_camera_1": {"shape": [2, 3, 3], "dtype": "uint8"}, '
    b'"rgb_camera_2": {"shape": [2, 3, 3], "dtype": "uint8"}, '
    b'"depth_map": {"shape": [2, 3], "dtype": "float32"}, '
    b'"confidence_map": {"shape": [2, 3], "dtype": "float32"}, '
    b'"camera_height": 2, "camera_width": 3, "timestamp_ns": 1732480000000000000}'
)

METADATA_WITH_EXTENSIONS = METADATA[:-1] + (
    b', "imu_orientation_xyzw": [0.0, 0.0, 0.7071067811865476, 0.7071067811865476], '
    b'"imu_angular_velocity": [0.1, -0.2, 0.3], '
    b'"joint_velocities": [0.0, 0.5, -0.5, 1.0, -1.0, 0.25, 0.0, 0.0, 0.0, '
    b'0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0], '
    b'"base_linear_velocity": [0.8, 0.0, -0.05], '
    b'"foot_contacts": [1, 0, 1, 1, 0, 1], '
    b'"height_scan": [0.31, 0.3, 0.29, 0.35]}'
)

OBSERVATION = [
    b'observation',
    b'1.0',
    METADATA,
    JOINT_BYTES,
    CAMERA_1,
    CAMERA_2,
    DEPTH,
    CONFIDENCE,
]

COMMAND_METADATA = (
    b'{"joint_positions": {"shape": [18], "dtype": "float32"}, '
    b'"timestamp_ns": 1732480000001000000, "observation_timestamp_ns": 1732480000000000000}'
)
COMMAND = [COMMAND_METADATA, JOINT_BYTES]

EXPECTED_CAMERA_1 = np.arange(18, dtype=np.uint8).reshape(2, 3, 3)
EXPECTED_CAMERA_2 = np.array(
    [255, 254, 253, 252, 251, 250, 249, 248, 247, 128, 129, 130, 131, 132, 133, 134, 135, 136],
    dtype=np.uint8,
).reshape(2, 3, 3)
EXPECTED_DEPTH = np.array([[0.5, 1.0, 1.5], [2.0, 2.5, 3.0]], dtype=np.float32)
EXPECTED_CONFIDENCE = np.array([[0.0, 0.25, 0.5], [0.75, 1.0, 1.0]], dtype=np.float32)


def _encode_expected(extensions: Any = None) -> list[bytes]:
    return encode_observation(
        TIMESTAMP_NS,
        np.array(JOINTS),
        EXPECTED_CAMERA_1,
        EXPECTED_CAMERA_2,
        EXPECTED_DEPTH,
        EXPECTED_CONFIDENCE,
        extensions,
    )


def test_observation_golden_decodes_to_expected_values() -> None:
    observation = decode_observation(OBSERVATION)
    assert observation.timestamp_ns == TIMESTAMP_NS
    assert observation.joint_positions.dtype == np.float32
    np.testing.assert_array_equal(observation.joint_positions, np.array(JOINTS, np.float32))
    assert observation.rgb_camera_1.shape == (2, 3, 3)
    np.testing.assert_array_equal(observation.rgb_camera_1, EXPECTED_CAMERA_1)
    np.testing.assert_array_equal(observation.rgb_camera_2, EXPECTED_CAMERA_2)
    assert observation.rgb_camera_1[1, 2, 0] == 15  # row 1, column 2, red
    np.testing.assert_array_equal(observation.depth_map, EXPECTED_DEPTH)
    np.testing.assert_array_equal(observation.confidence_map, EXPECTED_CONFIDENCE)
    assert observation.metadata['camera_height'] == 2
    assert observation.metadata['camera_width'] == 3
    assert observation.extensions.imu_orientation_xyzw is None
    assert observation.extensions.foot_contacts is None
    assert observation.receive_time_ns == 0


def test_observation_golden_encodes_to_the_same_bytes() -> None:
    assert _encode_expected() == OBSERVATION


def test_observation_with_extensions_golden_round_trip() -> None:
    frames = OBSERVATION[:2] + [METADATA_WITH_EXTENSIONS] + OBSERVATION[3:]
    ext = decode_observation(frames).extensions
    np.testing.assert_array_equal(
        ext.imu_orientation_xyzw, [0.0, 0.0, 0.7071067811865476, 0.7071067811865476]
    )
    np.testing.assert_array_equal(ext.imu_angular_velocity, [0.1, -0.2, 0.3])
    assert ext.joint_velocities is not None and ext.joint_velocities.shape == (18,)
    assert ext.joint_velocities[1] == 0.5 and ext.joint_velocities[17] == 2.0
    np.testing.assert_array_equal(ext.base_linear_velocity, [0.8, 0.0, -0.05])
    np.testing.assert_array_equal(ext.foot_contacts, [1, 0, 1, 1, 0, 1])
    np.testing.assert_array_equal(ext.height_scan, [0.31, 0.3, 0.29, 0.35])
    for array in (ext.imu_orientation_xyzw, ext.foot_contacts, ext.height_scan):
        assert array is not None
        assert array.dtype == np.float64 and not array.flags.writeable
    # Encoding writes the keys in EXTENSION_KEYS order whatever the mapping order.
    mapping = {
        'height_scan': [0.31, 0.3, 0.29, 0.35],
        'foot_contacts': [1, 0, 1, 1, 0, 1],
        'base_linear_velocity': [0.8, 0.0, -0.05],
        'joint_velocities': ext.joint_velocities,
        'imu_angular_velocity': (0.1, -0.2, 0.3),
        'imu_orientation_xyzw': np.array([0.0, 0.0, 0.7071067811865476, 0.7071067811865476]),
    }
    assert _encode_expected(mapping) == frames
    assert _encode_expected(ext) == frames


def test_unknown_metadata_keys_are_ignored() -> None:
    frames = OBSERVATION[:2] + [METADATA[:-1] + b', "vendor_x": {"a": [1]}}'] + OBSERVATION[3:]
    observation = decode_observation(frames)
    assert observation.metadata['vendor_x'] == {'a': [1]}
    np.testing.assert_array_equal(observation.depth_map, EXPECTED_DEPTH)


def test_decoded_arrays_are_read_only_views_without_copies() -> None:
    buffers = [bytearray(f) for f in OBSERVATION]
    observation = decode_observation([memoryview(b) for b in buffers])
    for array, index in (
        (observation.rgb_camera_1, 4),
        (observation.rgb_camera_2, 5),
        (observation.depth_map, 6),
        (observation.confidence_map, 7),
    ):
        assert not array.flags.writeable
        assert np.shares_memory(array, np.frombuffer(buffers[index], np.uint8))
    buffers[6][0:4] = struct.pack('<f', 9.0)  # the view sees the frame's memory
    assert observation.depth_map[0, 0] == 9.0


def test_decode_accepts_zmq_frames() -> None:
    observation = decode_observation([zmq.Frame(f) for f in OBSERVATION])
    np.testing.assert_array_equal(observation.depth_map, EXPECTED_DEPTH)
    np.testing.assert_array_equal(observation.rgb_camera_2, EXPECTED_CAMERA_2)


@pytest.mark.parametrize('dtype', ['uint16', 'float32'])
def test_other_image_dtypes_golden(dtype: str) -> None:
    camera = np.arange(18).reshape(2, 3, 3).astype(dtype)
    raw = camera.astype(np.dtype(dtype).newbyteorder('<')).tobytes()
    assert raw[:4] == (b'\x00\x00\x01\x00' if dtype == 'uint16' else b'\x00\x00\x00\x00')
    meta = METADATA.replace(b'"uint8"', b'"%s"' % dtype.encode())
    frames = OBSERVATION[:2] + [meta, JOINT_BYTES, raw, raw, DEPTH, CONFIDENCE]
    observation = decode_observation(frames)
    assert observation.rgb_camera_1.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(observation.rgb_camera_2, camera)
    assert (
        encode_observation(
            TIMESTAMP_NS, np.array(JOINTS), camera, camera, EXPECTED_DEPTH, EXPECTED_CONFIDENCE
        )
        == frames
    )


def test_command_golden_decodes_and_encodes_exactly() -> None:
    command = decode_command(COMMAND)
    assert command.timestamp_ns == 1732480000001000000
    assert command.observation_timestamp_ns == TIMESTAMP_NS
    assert command.joint_positions.dtype == np.float32
    np.testing.assert_array_equal(command.joint_positions, np.array(JOINTS, np.float32))
    assert encode_command(JOINTS, TIMESTAMP_NS, 1732480000001000000) == COMMAND


def test_command_timestamp_defaults_to_wall_clock() -> None:
    before = time.time_ns()
    frames = encode_command(np.zeros(18), 5)
    after = time.time_ns()
    command = decode_command(frames)
    assert before <= command.timestamp_ns <= after
    assert command.observation_timestamp_ns == 5


@pytest.mark.parametrize(
    ('sent', 'answers'),
    [(0, 0), (1, (1 << 63) - 1), ((1 << 63) - 1, 1732480000000000000), (np.int64(7), 8)],
)
def test_command_metadata_is_what_json_writes(sent: Any, answers: int) -> None:
    # The encoder fills a template instead of running json.dumps on every tick:
    # the bytes must be those json.dumps writes for the same dict, at the extremes too.
    import json

    expected = json.dumps(
        {
            'joint_positions': {'shape': [18], 'dtype': 'float32'},
            'timestamp_ns': int(sent),
            'observation_timestamp_ns': answers,
        }
    ).encode('utf-8')
    float32_input = np.array(JOINTS, dtype=np.float32)
    for joints in (JOINTS, float32_input, float32_input.astype('>f4')):
        frames = encode_command(joints, answers, sent)
        assert frames == [expected, JOINT_BYTES]
    # float32 input is not aliased: the frame holds a copy.
    frames = encode_command(float32_input, answers, sent)
    float32_input[0] = 99.0
    assert frames[1] == JOINT_BYTES

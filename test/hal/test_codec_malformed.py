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

"""Every malformed class is rejected by the codec with its own error type and reason."""

import json
from typing import Any

import numpy as np
import pytest

from krabby_parkour_ros.hal.codec import (
    decode_command,
    decode_observation,
    encode_command,
    encode_observation,
)
from krabby_parkour_ros.hal.errors import (
    ByteLengthError,
    CommandError,
    DECODER_REJECTION_REASONS,
    DtypeError,
    ExtensionError,
    FrameCountError,
    FutureTimestampError,
    HalProtocolError,
    MetadataError,
    MissingKeyError,
    NonFiniteError,
    OversizeError,
    REJECTION_REASONS,
    SchemaVersionError,
    ShapeError,
    TimestampError,
    TooOldError,
    TopicError,
)

from .helpers import MALFORMED_CASES, malformed_frames, OVERSIZE_LIMIT, small_frames

ERROR_CLASSES = {
    'frame_count': FrameCountError,
    'topic': TopicError,
    'schema_version': SchemaVersionError,
    'json': MetadataError,
    'missing_key': MissingKeyError,
    'byte_length': ByteLengthError,
    'dtype': DtypeError,
    'shape': ShapeError,
    'non_finite': NonFiniteError,
    'oversize': OversizeError,
    'extension': ExtensionError,
    'timestamp': TimestampError,
}


#: Reasons only the client reports (age versus the local clock, test_freshness.py).
CLIENT_ERROR_CLASSES = {'too_old': TooOldError, 'from_future': FutureTimestampError}


def test_every_reason_has_a_case_and_a_class() -> None:
    assert set(ERROR_CLASSES) == set(DECODER_REJECTION_REASONS)
    assert {reason for _, reason in MALFORMED_CASES} == set(DECODER_REJECTION_REASONS)
    assert set(ERROR_CLASSES) | set(CLIENT_ERROR_CLASSES) == set(REJECTION_REASONS)
    for reason, cls in {**ERROR_CLASSES, **CLIENT_ERROR_CLASSES}.items():
        assert issubclass(cls, HalProtocolError) and issubclass(cls, ValueError)
        assert cls.reason == reason
    # Age rejections are timestamp problems to anything catching TimestampError.
    assert all(issubclass(cls, TimestampError) for cls in CLIENT_ERROR_CLASSES.values())


def test_the_unedited_message_is_valid() -> None:
    observation = decode_observation(small_frames(7), max_image_bytes=OVERSIZE_LIMIT)
    assert observation.timestamp_ns == 7
    assert observation.rgb_camera_1.shape == (4, 5, 3)


@pytest.mark.parametrize('case_id, reason', MALFORMED_CASES, ids=[c for c, _ in MALFORMED_CASES])
def test_codec_rejects_malformed(case_id: str, reason: str) -> None:
    frames = malformed_frames(case_id, 7)
    with pytest.raises(ERROR_CLASSES[reason]) as info:
        decode_observation(frames, max_image_bytes=OVERSIZE_LIMIT)
    assert info.value.reason == reason
    assert 'expected' in str(info.value) or 'missing' in str(info.value)


def test_oversize_applies_to_declared_size_before_reading() -> None:
    frames = small_frames(7)
    meta = json.loads(frames[2])
    meta['camera_height'] = meta['camera_width'] = 100_000
    for key in ('rgb_camera_1', 'rgb_camera_2'):
        meta[key]['shape'] = [100_000, 100_000, 3]
    for key in ('depth_map', 'confidence_map'):
        meta[key]['shape'] = [100_000, 100_000]
    frames[2] = json.dumps(meta).encode()
    with pytest.raises(OversizeError, match='30000000000 declared'):
        decode_observation(frames, max_image_bytes=OVERSIZE_LIMIT)
    with pytest.raises(ByteLengthError):
        decode_observation(frames)  # no limit: the byte length check still rejects it


def test_metadata_frame_size_is_bounded() -> None:
    frames = small_frames(7)
    frames[2] = frames[2][:-1] + b', "pad": "' + b'x' * (1 << 20) + b'"}'
    with pytest.raises(OversizeError, match='metadata'):
        decode_observation(frames)


def test_error_messages_name_field_expected_and_actual() -> None:
    with pytest.raises(ByteLengthError) as info:
        decode_observation(malformed_frames('depth_short', 7))
    assert str(info.value) == 'depth_map: expected 80 bytes for shape [4, 5] of float32, got 76'
    with pytest.raises(ShapeError) as shape_info:
        decode_observation(malformed_frames('camera_shapes_differ', 7))
    assert str(shape_info.value) == 'rgb_camera_2.shape: expected [4, 5, 3], got [5, 4, 3]'


# -- encoder input validation: it never emits what a reader rejects -------------


def _inputs(**overrides: Any) -> dict[str, Any]:
    inputs = {
        'timestamp_ns': 10,
        'joint_positions': np.zeros(18),
        'rgb_camera_1': np.zeros((2, 3, 3), np.uint8),
        'rgb_camera_2': np.zeros((2, 3, 3), np.uint8),
        'depth_map': np.ones((2, 3)),
        'confidence_map': np.ones((2, 3)),
    }
    inputs.update(overrides)
    return inputs


@pytest.mark.parametrize(
    'overrides, error',
    [
        ({'timestamp_ns': -1}, TimestampError),
        ({'timestamp_ns': 1.0}, TimestampError),
        ({'timestamp_ns': True}, TimestampError),
        ({'joint_positions': np.zeros(12)}, ShapeError),
        ({'joint_positions': np.full(18, np.nan)}, NonFiniteError),
        ({'joint_positions': np.full(18, 1e39)}, NonFiniteError),  # overflows float32
        ({'joint_positions': ['a'] * 18}, DtypeError),
        ({'rgb_camera_1': np.zeros((2, 3, 3), np.int8)}, DtypeError),
        ({'rgb_camera_1': np.zeros((2, 3, 4), np.uint8)}, ShapeError),
        ({'rgb_camera_2': np.zeros((2, 3, 3), np.uint16)}, DtypeError),
        ({'rgb_camera_2': np.zeros((3, 2, 3), np.uint8)}, ShapeError),
        ({'depth_map': np.ones((3, 2))}, ShapeError),
        ({'depth_map': np.ones(6)}, ShapeError),
        ({'confidence_map': np.full((2, 3), np.inf)}, NonFiniteError),
        (
            {
                'rgb_camera_1': np.full((2, 3, 3), np.nan, np.float32),
                'rgb_camera_2': np.zeros((2, 3, 3), np.float32),
            },
            NonFiniteError,
        ),
        ({'extensions': {'imu_orientation_xyzw': [0.0, 0.0, 1.0]}}, ExtensionError),
        ({'extensions': {'foot_contacts': [0.5]}}, ExtensionError),
        ({'extensions': {'foot_contacts': [True, False]}}, ExtensionError),
        ({'extensions': {'height_scan': []}}, ExtensionError),
        ({'extensions': {'height_scan': [[0.1, 0.2]]}}, ExtensionError),
        ({'extensions': {'joint_velocities': [np.inf] * 18}}, ExtensionError),
        ({'extensions': {'imu_orientaton_xyzw': [0.0, 0.0, 0.0, 1.0]}}, ExtensionError),
        ({'extensions': [1, 2]}, ExtensionError),
    ],
)
def test_encoder_refuses_inputs_a_reader_would_reject(
    overrides: dict[str, Any], error: type
) -> None:
    with pytest.raises(error):
        encode_observation(**_inputs(**overrides))


def test_encoder_casts_real_inputs_to_wire_types() -> None:
    frames = encode_observation(
        **_inputs(joint_positions=list(range(18)), depth_map=np.full((2, 3), 2, np.int64))
    )
    observation = decode_observation(frames)
    assert observation.joint_positions.dtype == np.float32
    np.testing.assert_array_equal(observation.joint_positions, np.arange(18))
    np.testing.assert_array_equal(observation.depth_map, np.full((2, 3), 2.0))
    big_endian = np.arange(18, dtype='>u2').reshape(2, 3, 3)
    frames = encode_observation(**_inputs(rgb_camera_1=big_endian, rgb_camera_2=big_endian))
    assert frames[4][:4] == b'\x00\x00\x01\x00'  # little-endian on the wire
    np.testing.assert_array_equal(decode_observation(frames).rgb_camera_1, big_endian)


# -- commands -------------------------------------------------------------------


def _command(**meta_overrides: Any) -> list[bytes]:
    frames = encode_command(np.zeros(18), 5, 6)
    meta = json.loads(frames[0])
    for key, value in meta_overrides.items():
        if value is None:
            del meta[key]
        else:
            meta[key] = value
    return [json.dumps(meta).encode()] + frames[1:]


@pytest.mark.parametrize(
    'frames, error',
    [
        (encode_command(np.zeros(18), 5, 6)[:1], FrameCountError),
        (encode_command(np.zeros(18), 5, 6) + [b''], FrameCountError),
        ([b'not json', np.zeros(18, np.float32).tobytes()], MetadataError),
        ([b'"a string"', np.zeros(18, np.float32).tobytes()], MetadataError),
        (_command(observation_timestamp_ns=None), TimestampError),
        (_command(timestamp_ns=-5), TimestampError),
        (_command(joint_positions=None), MissingKeyError),
        (_command(joint_positions={'shape': [18], 'dtype': 'float64'}), DtypeError),
        (_command(joint_positions={'shape': [12], 'dtype': 'float32'}), ShapeError),
        (encode_command(np.zeros(18), 5, 6)[:1] + [b'\x00' * 68], ByteLengthError),
        (
            encode_command(np.zeros(18), 5, 6)[:1] + [np.full(18, np.nan, np.float32).tobytes()],
            NonFiniteError,
        ),
    ],
    ids=[
        'one_frame',
        'three_frames',
        'json',
        'json_string',
        'no_observation_timestamp',
        'negative_timestamp',
        'no_descriptor',
        'float64',
        'twelve_joints',
        'short',
        'nan',
    ],
)
def test_decode_command_rejects(frames: list[bytes], error: type) -> None:
    with pytest.raises(error):
        decode_command(frames)


@pytest.mark.parametrize(
    'joints',
    [
        np.full(18, np.nan),
        np.r_[np.zeros(17), np.inf],
        np.r_[np.zeros(17), -np.inf],
        np.zeros(17),
        np.zeros(19),
        np.zeros((18, 1)),
        np.full(18, 1e39),
        ['x'] * 18,
        np.zeros(18, bool),
        None,
        [0.0] * 17 + [None],
    ],
    ids=[
        'nan',
        'inf',
        '-inf',
        '17',
        '19',
        '2d',
        'float32_overflow',
        'strings',
        'bool',
        'none',
        'object',
    ],
)
def test_encode_command_refuses_bad_joints(joints: Any) -> None:
    with pytest.raises(CommandError, match='joint_positions'):
        encode_command(joints, 5)


@pytest.mark.parametrize('timestamp', [-1, 1.5, None, '5', 1 << 63])
def test_encode_command_refuses_bad_observation_timestamp(timestamp: Any) -> None:
    with pytest.raises(CommandError, match='observation_timestamp_ns'):
        encode_command(np.zeros(18), timestamp)

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
The one builder of malformed HAL observation messages for the tests.

Every case edits a valid 8-frame observation (any non-square image size,
with or without extension keys, e.g. ``test.hal.helpers.small_frames`` or
:class:`~krabby_parkour_ros.hal.scripted_hal.ObservationTemplate`) into one
malformed class, and names the reason the decoder reports for it
(docs/hal.md, "Errors and counters"):

- :data:`PROTOCOL_CASES`: malformed under every decoder setting.
- :data:`OVERSIZE_CASE`: the images grown :data:`OVERSIZE_FACTOR` times per
  side, consistently; ``oversize`` for a decoder whose image limit is
  below the grown size (the HAL tests: 2048 bytes on 4x5 images).
- :func:`extension_cases`: bad extension values for a deployment (the
  policy's height-scan size, the robot's foot count), ``extension`` when
  decoded with those lengths.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
import json
import math
from typing import Any

import numpy as np

Frames = list[bytes]
Edit = Callable[[Frames], Frames]
MetaEdit = Callable[[dict[str, Any]], None]

#: Factor per side by which :data:`OVERSIZE_CASE` grows every image.
OVERSIZE_FACTOR = 6
#: Frame index of each array in an observation message.
_ARRAY_FRAMES = {
    'joint_positions': 3,
    'rgb_camera_1': 4,
    'rgb_camera_2': 5,
    'depth_map': 6,
    'confidence_map': 7,
}


@dataclass(frozen=True)
class MalformedCase:
    """One malformed class: its id, the decoder's reason and the edit that makes it."""

    case_id: str
    reason: str
    edit: Edit

    def build(self, good: Sequence[bytes]) -> Frames:
        """Return the malformed message made from the valid message ``good``."""
        return self.edit(list(good))


def with_metadata(frames: Sequence[bytes], mutate: MetaEdit) -> Frames:
    """Return a copy of the frames with the metadata JSON changed by ``mutate``."""
    meta = json.loads(frames[2])
    mutate(meta)
    return list(frames[:2]) + [json.dumps(meta).encode('utf-8')] + list(frames[3:])


def _replace(index: int, value: bytes) -> Edit:
    return lambda frames: frames[:index] + [value] + frames[index + 1 :]


def _meta(mutate: MetaEdit) -> Edit:
    return lambda frames: with_metadata(frames, mutate)


def _set(key: str, value: Any) -> MetaEdit:
    return lambda meta: meta.__setitem__(key, value)


def _delete(key: str) -> MetaEdit:
    return lambda meta: meta.__delitem__(key)


def _set_descriptor(key: str, field: str, value: Any) -> MetaEdit:
    return lambda meta: meta[key].__setitem__(field, value)


def _transposed(key: str, channels: tuple[int, ...] = ()) -> MetaEdit:
    """Declare ``key`` as (W, H, ...): the same byte count, only the shape check sees it."""

    def mutate(meta: dict[str, Any]) -> None:
        meta[key]['shape'] = [meta['camera_width'], meta['camera_height'], *channels]

    return mutate


def _array_value(key: str, index: int, value: float) -> Edit:
    """Set one float32 value of the array ``key`` (NaN, Inf ...)."""
    position = _ARRAY_FRAMES[key]

    def edit(frames: Frames) -> Frames:
        array = np.frombuffer(frames[position], np.float32).copy()
        array.flat[index] = value
        return frames[:position] + [array.tobytes()] + frames[position + 1 :]

    return edit


def _resize_frame(key: str, delta: int) -> Edit:
    """Cut ``-delta`` bytes from (or append ``delta`` zero bytes to) the array ``key``."""
    position = _ARRAY_FRAMES[key]

    def edit(frames: Frames) -> Frames:
        frame = frames[position]
        resized = frame[:delta] if delta < 0 else frame + b'\x00' * delta
        return frames[:position] + [resized] + frames[position + 1 :]

    return edit


def _twelve_joints(frames: Frames) -> Frames:
    edited = with_metadata(frames, _set_descriptor('joint_positions', 'shape', [12]))
    return edited[:3] + [frames[3][: 12 * 4]] + edited[4:]


def _both_cameras_int8(meta: dict[str, Any]) -> None:
    for key in ('rgb_camera_1', 'rgb_camera_2'):
        meta[key]['dtype'] = 'int8'


def _huge_camera_shapes(meta: dict[str, Any]) -> None:
    for key in ('rgb_camera_1', 'rgb_camera_2'):
        meta[key]['shape'] = [2**40, 2**40, 3]


def _grown(frames: Frames) -> Frames:
    """Return the message with every image tiled OVERSIZE_FACTOR times per side."""
    meta = json.loads(frames[2])
    factor = OVERSIZE_FACTOR
    arrays = list(frames)
    for key, position in _ARRAY_FRAMES.items():
        if key == 'joint_positions':
            continue
        shape = meta[key]['shape']
        image = np.frombuffer(frames[position], meta[key]['dtype']).reshape(shape)
        tiles = (factor, factor) + (1,) * (image.ndim - 2)
        arrays[position] = np.tile(image, tiles).tobytes()
        meta[key]['shape'] = [shape[0] * factor, shape[1] * factor, *shape[2:]]
    meta['camera_height'] *= factor
    meta['camera_width'] *= factor
    return arrays[:2] + [json.dumps(meta).encode('utf-8')] + arrays[3:]


def _case(case_id: str, reason: str, edit: Edit) -> MalformedCase:
    return MalformedCase(case_id, reason, edit)


#: Malformed under every decoder setting, one case per id.
PROTOCOL_CASES: tuple[MalformedCase, ...] = (
    _case('seven_frames', 'frame_count', lambda f: f[:7]),
    _case('nine_frames', 'frame_count', lambda f: f + [b'']),
    _case('topic', 'topic', _replace(0, b'observation_v2')),
    _case('schema_version', 'schema_version', _replace(1, b'2.0')),
    _case('json_syntax', 'json', _replace(2, b'{"joint_positions": ')),
    _case('json_not_object', 'json', _replace(2, b'[1, 2, 3]')),
    _case('json_not_utf8', 'json', _replace(2, b'{"a": "\xff"}')),
    _case('json_descriptor_not_object', 'json', _meta(_set('depth_map', [4, 5]))),
    _case('missing_depth_map', 'missing_key', _meta(_delete('depth_map'))),
    _case('missing_camera_width', 'missing_key', _meta(_delete('camera_width'))),
    _case(
        'missing_dtype', 'missing_key', _meta(lambda m: m['confidence_map'].__delitem__('dtype'))
    ),
    _case('depth_short', 'byte_length', _resize_frame('depth_map', -4)),
    # Not a whole number of float32 values.
    _case('depth_short_partial_item', 'byte_length', _resize_frame('depth_map', -5)),
    _case('camera_long', 'byte_length', _resize_frame('rgb_camera_1', 1)),
    _case('depth_float64', 'dtype', _meta(_set_descriptor('depth_map', 'dtype', 'float64'))),
    _case('camera_int8', 'dtype', _meta(_both_cameras_int8)),
    _case(
        'camera_dtypes_differ', 'dtype', _meta(_set_descriptor('rgb_camera_2', 'dtype', 'uint16'))
    ),
    _case('camera_shapes_differ', 'shape', _meta(_transposed('rgb_camera_2', (3,)))),
    _case('camera_shapes_huge', 'shape', _meta(_huge_camera_shapes)),
    _case('depth_shape_vs_height_width', 'shape', _meta(_transposed('depth_map'))),
    _case('twelve_joints', 'shape', _twelve_joints),
    # 12 declared, 18 sent: the shape check comes before the byte count.
    _case(
        'twelve_joints_declared', 'shape', _meta(_set_descriptor('joint_positions', 'shape', [12]))
    ),
    _case('negative_height', 'shape', _meta(_set('camera_height', -4))),
    _case('nan_joint', 'non_finite', _array_value('joint_positions', 7, math.nan)),
    _case('inf_depth', 'non_finite', _array_value('depth_map', 0, -math.inf)),
    _case('inf_depth_positive', 'non_finite', _array_value('depth_map', 0, math.inf)),
    _case('orientation_length_3', 'extension', _meta(_set('imu_orientation_xyzw', [0, 0, 1]))),
    _case('joint_velocities_length_12', 'extension', _meta(_set('joint_velocities', [0.0] * 12))),
    _case('foot_contact_2', 'extension', _meta(_set('foot_contacts', [1, 2, 0, 1]))),
    _case('height_scan_empty', 'extension', _meta(_set('height_scan', []))),
    _case('height_scan_string', 'extension', _meta(_set('height_scan', 'flat'))),
    _case(
        'angular_velocity_nan',
        'extension',
        _meta(_set('imu_angular_velocity', [0.0, math.nan, 0.0])),
    ),
    _case('linear_velocity_string', 'extension', _meta(_set('base_linear_velocity', 'fast'))),
    _case('timestamp_missing', 'timestamp', _meta(_delete('timestamp_ns'))),
    _case('timestamp_negative', 'timestamp', _meta(_set('timestamp_ns', -1))),
    _case('timestamp_float', 'timestamp', _meta(_set('timestamp_ns', 1.5e18))),
    _case('timestamp_string', 'timestamp', _meta(_set('timestamp_ns', 'now'))),
)

#: Images grown OVERSIZE_FACTOR times per side: ``oversize`` below the grown size.
OVERSIZE_CASE = MalformedCase('oversize', 'oversize', _grown)


def _one_bad(length: int, index: int, value: float, fill: float) -> list[float]:
    values = [fill] * length
    values[index] = value
    return values


def extension_cases(scan_length: int, foot_count: int) -> tuple[MalformedCase, ...]:
    """
    Return one bad extension value per case for a deployment, all ``extension``.

    :param scan_length: the policy's height-scan points (decoder ``height_scan_length``).
    :param foot_count: the robot's feet (decoder ``foot_count``).
    """
    return (
        _case(
            'height_scan_short',
            'extension',
            _meta(_set('height_scan', [0.32] * (scan_length - 1))),
        ),
        _case(
            'foot_contacts_short',
            'extension',
            _meta(_set('foot_contacts', [1] * (foot_count - 1))),
        ),
        _case('quaternion_zero', 'extension', _meta(_set('imu_orientation_xyzw', [0.0] * 4))),
        _case('quaternion_huge', 'extension', _meta(_set('imu_orientation_xyzw', [1e308] * 4))),
        _case(
            'quaternion_not_unit',
            'extension',
            _meta(_set('imu_orientation_xyzw', [0.0, 0.0, 0.0, 1.2])),
        ),
        _case(
            'height_scan_nan',
            'extension',
            _meta(_set('height_scan', _one_bad(scan_length, 7, math.nan, 0.32))),
        ),
        _case(
            'joint_velocities_nan',
            'extension',
            _meta(_set('joint_velocities', _one_bad(18, 3, math.nan, 0.0))),
        ),
        _case(
            'foot_contact_2',
            'extension',
            _meta(_set('foot_contacts', _one_bad(foot_count, 1, 2, 1))),
        ),
        _case(
            'angular_velocity_huge',
            'extension',
            _meta(_set('imu_angular_velocity', [1e308, 0.0, 0.0])),
        ),
    )


def case(case_id: str, cases: Sequence[MalformedCase] = PROTOCOL_CASES) -> MalformedCase:
    """Return the case ``case_id`` of ``cases`` (``oversize`` always)."""
    if case_id == OVERSIZE_CASE.case_id:
        return OVERSIZE_CASE
    for candidate in cases:
        if candidate.case_id == case_id:
            return candidate
    raise KeyError(f'case_id: expected one of {[c.case_id for c in cases]}, got {case_id!r}')

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
Encode and decode Krabby HAL messages (schema 1.0), byte for byte.

The wire format is specified in ``hal-protocol.md``: an observation is
8 frames (topic, schema version, JSON metadata, joint positions, two RGB
cameras, depth and confidence maps), a command is 2 frames (JSON metadata,
joint positions). Decoding performs every reader check of the protocol and
raises a :class:`~krabby_parkour_ros.hal.errors.HalProtocolError` subclass
whose ``reason`` names the malformed class. Decoded arrays are read-only
views into the received frames: camera and depth data are never copied.
Encoding validates its inputs with the same protocol rules, so it never
emits a message that a reader rejects as malformed.

Extension keys (``hal-protocol.md``) are checked on decoding against the
protocol (fixed lengths, finite numbers, contacts 0/1), against the
deployment when the caller knows it (``height_scan_length`` from the policy
card, ``foot_count`` from the joint map) and against physical plausibility
(:data:`EXTENSION_LIMITS`, a unit quaternion within
:data:`QUATERNION_NORM_TOLERANCE`). A message failing any of them is
rejected whole (``ExtensionError``), so bad input is a counted rejection
and never reaches the policy. The plausibility limits are a reader's
policy: encoding does not apply them, so a simulator whose physics
diverges keeps publishing and its client rejects and counts the messages.

Length: about 670 lines, beyond the usual ~450. The codec is the wire
contract (``hal-protocol.md``) byte for byte: framing, every field's decode
and the extension checks are kept in one reviewed place, mirrored by the
golden tests.
"""

from collections.abc import Iterable, Mapping, Sequence
import functools
import json
import math
import time
from typing import Any

import numpy as np
import orjson
import zmq

from krabby_parkour_ros.finite import all_finite
from krabby_parkour_ros.hal.errors import (
    ByteLengthError,
    CommandError,
    DtypeError,
    ExtensionError,
    FrameCountError,
    MetadataError,
    MissingKeyError,
    NonFiniteError,
    OversizeError,
    SchemaVersionError,
    ShapeError,
    TimestampError,
    TopicError,
)
from krabby_parkour_ros.hal.messages import (
    EXTENSION_KEYS,
    HalCommand,
    HalObservation,
    JOINT_COUNT,
    OBSERVATION_TOPIC,
    ObservationExtensions,
    SCHEMA_VERSION,
)

Frame = bytes | bytearray | memoryview | zmq.Frame

OBSERVATION_FRAME_COUNT = 8
COMMAND_FRAME_COUNT = 2
#: Largest metadata frame a reader parses (JSON parsing cost bounds receive latency).
MAX_METADATA_BYTES = 1 << 20
#: Largest timestamp accepted: timestamps must fit a signed 64-bit integer.
MAX_TIMESTAMP_NS = (1 << 63) - 1

#: Image dtypes accepted on the wire, mapped to their little-endian numpy dtype.
IMAGE_DTYPES: dict[str, np.dtype] = {
    'uint8': np.dtype('u1'),
    'uint16': np.dtype('<u2'),
    'float32': np.dtype('<f4'),
}
_FLOAT32 = np.dtype('<f4')
_SCHEMA_BYTES = SCHEMA_VERSION.encode('ascii')

#: Array keys of the observation metadata, in wire order (frames 3 to 7).
OBSERVATION_ARRAY_KEYS = (
    'joint_positions',
    'rgb_camera_1',
    'rgb_camera_2',
    'depth_map',
    'confidence_map',
)
#: Fixed extension lengths; keys absent here accept any length >= 1.
EXTENSION_LENGTHS: dict[str, int] = {
    'imu_orientation_xyzw': 4,
    'imu_angular_velocity': 3,
    'joint_velocities': JOINT_COUNT,
    'base_linear_velocity': 3,
    'base_position': 3,
}
_BINARY_EXTENSIONS = ('foot_contacts',)
#: Largest plausible absolute value per component of an extension key, in its
#: unit; a larger value is a unit, scaling or estimator error, never a reading.
#: Angular velocity: common MEMS gyros saturate at 2000 deg/s (34.9 rad/s).
#: Joint velocities: the Go2's motors reach about 30 rad/s, Krabby's 5 rad/s.
#: Base linear velocity: the Go2 runs at most about 5 m/s. Height scan: the
#: observation builder clips the scan to +-1 m anyway; the bound only catches
#: garbage such as 1e308 before it reaches any arithmetic. Base position:
#: 10 000 km, beyond any map or UTM coordinate (northings reach 1e7 m).
EXTENSION_LIMITS: dict[str, float] = {
    'imu_angular_velocity': 50.0,
    'joint_velocities': 100.0,
    'base_linear_velocity': 20.0,
    'height_scan': 100.0,
    'base_position': 1e7,
}
#: Allowed deviation of the norm of ``imu_orientation_xyzw`` from 1. MuJoCo
#: (the simulator) and Isaac (training) send normalised quaternions (float64,
#: or float32 rounding: about 1e-7 off); a fixed-point IMU quaternion is about
#: 1e-4 off. A zero or huge quaternion has no orientation to recover.
QUATERNION_NORM_TOLERANCE = 0.01
#: Element types of a JSON number list (bool, a subclass of int, is not among them).
_JSON_NUMBER_TYPES = frozenset((int, float))
#: Values of a binary extension (contacts): 0 and 1 (equal to 0.0, -0.0 and 1.0).
_BINARY_VALUES = frozenset((0, 1))
_FLOAT64_MAX = float(np.finfo(np.float64).max)
#: ``ndarray.all`` without its Python wrapper (the extension check runs every tick).
_all_true = np.logical_and.reduce


def _view(frame: Frame) -> memoryview:
    """Return a flat byte view of one frame without copying it."""
    view = frame.buffer if isinstance(frame, zmq.Frame) else memoryview(frame)
    if view.ndim != 1 or view.format != 'B':
        view = view.cast('B')
    return view


def _check_frame_count(frames: Sequence[Frame], expected: int) -> None:
    try:
        count = len(frames)
    except TypeError as exc:
        raise FrameCountError(
            f'frames: expected a sequence of {int(expected)} frames, got {type(frames).__name__}'
        ) from exc
    if count != expected:
        raise FrameCountError(f'frames: expected {int(expected)} frames, got {int(count)}')


def _parse_metadata(view: memoryview) -> dict[str, Any]:
    if view.nbytes > MAX_METADATA_BYTES:
        raise OversizeError(
            f'metadata: expected at most {int(MAX_METADATA_BYTES)} bytes, got {int(view.nbytes)}'
        )
    try:
        # orjson (strict RFC 8259, ~8x faster than json on this metadata) for
        # the common case. Whatever it refuses goes through json, so a document
        # is classified as before: json also reads NaN / Infinity literals
        # (the extension check then rejects them as non-finite values) and
        # integers beyond 64 bits (the timestamp check rejects them).
        meta = orjson.loads(view)
    except orjson.JSONDecodeError:
        try:
            meta = json.loads(bytes(view).decode('utf-8'))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise MetadataError(
                f'metadata: expected UTF-8 JSON, got an invalid document ({exc})'
            ) from exc
    if not isinstance(meta, dict):
        raise MetadataError(f'metadata: expected a JSON object, got {type(meta).__name__}')
    return meta


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _timestamp(meta: Mapping[str, Any], key: str) -> int:
    if key not in meta:
        raise TimestampError(f'{key}: missing from the metadata')
    value = meta[key]
    if not _is_int(value) or not 0 <= value <= MAX_TIMESTAMP_NS:
        raise TimestampError(f'{key}: expected an integer in [0, 2**63), got {value!r}')
    return value


def _descriptor(meta: Mapping[str, Any], key: str) -> tuple[tuple[int, ...], str]:
    """Return (shape, dtype name) of one array descriptor of the metadata."""
    if key not in meta:
        raise MissingKeyError(f'{key}: missing from the metadata')
    desc = meta[key]
    if not isinstance(desc, dict):
        raise MetadataError(
            f'{key}: expected a JSON object {{"shape", "dtype"}}, got {type(desc).__name__}'
        )
    for field in ('shape', 'dtype'):
        if field not in desc:
            raise MissingKeyError(f'{key}.{field}: missing from the metadata')
    shape, dtype = desc['shape'], desc['dtype']
    if not isinstance(shape, list) or not shape or not all(_is_int(d) and d >= 0 for d in shape):
        raise ShapeError(f'{key}.shape: expected a list of non-negative integers, got {shape!r}')
    if not isinstance(dtype, str):
        raise DtypeError(f'{key}.dtype: expected a dtype name, got {dtype!r}')
    return tuple(shape), dtype


def _dimension(meta: Mapping[str, Any], key: str) -> int:
    if key not in meta:
        raise MissingKeyError(f'{key}: missing from the metadata')
    value = meta[key]
    if not _is_int(value) or value < 1:
        raise ShapeError(f'{key}: expected a positive integer, got {value!r}')
    return value


def _require_dtype(key: str, actual: str, allowed: Sequence[str]) -> None:
    if actual not in allowed:
        raise DtypeError(f'{key}.dtype: expected {" or ".join(allowed)}, got {actual!r}')


def _require_shape(key: str, actual: tuple[int, ...], expected: tuple[int, ...]) -> None:
    if actual != expected:
        raise ShapeError(f'{key}.shape: expected {list(expected)}, got {list(actual)}')


def _array(
    key: str, view: memoryview, shape: tuple[int, ...], dtype: np.dtype, max_bytes: int | None
) -> np.ndarray:
    """Return a read-only view of one array frame after the size checks."""
    expected = math.prod(shape) * dtype.itemsize
    if max_bytes is not None and max(expected, view.nbytes) > max_bytes:
        raise OversizeError(
            f'{key}: expected at most {int(max_bytes)} bytes, got {int(expected)} declared and'
            f' {int(view.nbytes)} received'
        )
    if view.nbytes != expected:
        raise ByteLengthError(
            f'{key}: expected {int(expected)} bytes for shape {list(shape)} of {dtype.name}, got'
            f' {int(view.nbytes)}'
        )
    array = np.frombuffer(view, dtype=dtype).reshape(shape)
    array.flags.writeable = False
    return array


def _require_finite(key: str, array: np.ndarray) -> None:
    """Raise NonFiniteError unless every value is finite (``finite.all_finite``)."""
    if array.dtype.kind == 'f' and not all_finite(array):
        bad = int(np.count_nonzero(~np.isfinite(array)))
        raise NonFiniteError(
            f'{key}: expected finite values, got {int(bad)} NaN/Inf of {int(array.size)}'
        )


@functools.lru_cache(maxsize=16)
def extension_lengths(
    height_scan_length: int | None = None, foot_count: int | None = None
) -> dict[str, int]:
    """
    Return the expected length of each extension key with a fixed length.

    :param height_scan_length: scan points of the policy (its card); None
        accepts any length >= 1 (protocol-level check only).
    :param foot_count: feet of the robot (its joint map); None accepts any
        length >= 1.
    :return: key -> length; do not modify (cached).
    """
    lengths = dict(EXTENSION_LENGTHS)
    if height_scan_length is not None:
        lengths['height_scan'] = height_scan_length
    if foot_count is not None:
        lengths['foot_contacts'] = foot_count
    return lengths


def _check_plausible(key: str, array: np.ndarray) -> None:
    """Raise ExtensionError if finite values are physically implausible."""
    limit = EXTENSION_LIMITS.get(key)
    if limit is not None:
        magnitude = np.abs(array)
        worst = int(np.argmax(magnitude))
        if magnitude[worst] > limit:
            raise ExtensionError(
                f'{key}: expected |values| <= {limit:g}, got {float(array[worst])!r} at index'
                f' {int(worst)}'
            )
    elif key == 'imu_orientation_xyzw':
        xyzw = array.tolist()
        if not _is_unit_quaternion(xyzw):
            raise ExtensionError(
                f'{key}: expected a unit quaternion (norm within'
                f' {QUATERNION_NORM_TOLERANCE:g} of 1), got norm {_norm4(xyzw):.6g}'
            )


def _extension_array(
    key: str, value: Any, lengths: Mapping[str, int] = EXTENSION_LENGTHS, plausible: bool = False
) -> np.ndarray:
    """
    Return one extension value as a read-only float64 array after its checks.

    :param lengths: expected length per key (keys absent: any length >= 1).
    :param plausible: also apply the reader's plausibility limits.
    """
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        raise ExtensionError(f'{key}: expected a list of numbers, got {type(value).__name__}')
    # Fast path: JSON numbers are exactly int or float (one set pass over the
    # types, ~20x cheaper than isinstance per value); subclasses take the slow path.
    if not _JSON_NUMBER_TYPES.issuperset(map(type, value)) and not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
    ):
        raise ExtensionError(f'{key}: expected numbers only, got {value!r}')
    expected = lengths.get(key)
    if expected is not None and len(value) != expected:
        raise ExtensionError(f'{key}: expected {int(expected)} values, got {len(value)}')
    if not value:
        raise ExtensionError(f'{key}: expected at least 1 value, got 0')
    try:
        array = np.array(value, dtype=np.float64)
    except OverflowError as exc:
        raise ExtensionError(f'{key}: expected finite values, got an overflowing number') from exc
    if not np.isfinite(array).all():
        raise ExtensionError(f'{key}: expected finite values, got {value!r}')
    if key in _BINARY_EXTENSIONS and not _is_binary(array.tolist()):
        raise ExtensionError(f'{key}: expected values 0 or 1, got {value!r}')
    if plausible:
        _check_plausible(key, array)
    array.flags.writeable = False
    return array


@functools.lru_cache(maxsize=32)
def _bound_vector(layout: tuple[tuple[str, int], ...]) -> np.ndarray:
    """
    Return the largest accepted |value| of each element of a flattened extension layout.

    Keys without a plausibility limit get the largest finite float64, so one
    ``abs(values) <= bounds`` test is false exactly where a value is
    non-finite (NaN compares false, inf exceeds every finite bound) or beyond
    its key's limit. Read-only; cached per (key, length) layout.
    """
    parts = [
        np.full(length, EXTENSION_LIMITS.get(key, _FLOAT64_MAX), dtype=np.float64)
        for key, length in layout
    ]
    bounds = np.concatenate(parts)
    bounds.flags.writeable = False
    return bounds


def _parse_extensions(
    meta: Mapping[str, Any], lengths: Mapping[str, int] = EXTENSION_LENGTHS
) -> ObservationExtensions:
    """
    Return the extension keys, checked; raise ExtensionError naming the bad key.

    The common case (every key a list of numbers of the right length, all
    finite and plausible, contacts 0 or 1, a unit quaternion) is checked
    with one array conversion and one comparison against the bounds of
    every element (:func:`_bound_vector`), which matters on a cold cache
    at 100 Hz; anything wrong re-runs the per-key checks
    (:func:`_extension_array`), which raise the precise error for the
    first bad key in :data:`EXTENSION_KEYS` order.

    :param lengths: expected length per key (:func:`extension_lengths`).
    """
    present = [key for key in EXTENSION_KEYS if key in meta]
    if not present:
        return ObservationExtensions()
    flat: list[Any] = []
    layout: list[tuple[str, int]] = []
    for key in present:
        value = meta[key]
        expected = lengths.get(key)
        if (
            type(value) is not list
            or not value
            or (expected is not None and len(value) != expected)
            or not _JSON_NUMBER_TYPES.issuperset(map(type, value))
        ):
            return _parse_extensions_per_key(meta, present, lengths)
        flat.extend(value)
        layout.append((key, len(value)))
    try:
        array = np.array(flat, dtype=np.float64)
    except OverflowError:
        return _parse_extensions_per_key(meta, present, lengths)
    bounds = _bound_vector(tuple(layout))
    if not _all_true(np.less_equal(np.abs(array), bounds)):
        return _parse_extensions_per_key(meta, present, lengths)
    for key in _BINARY_EXTENSIONS:
        if key in meta and not _is_binary(meta[key]):
            return _parse_extensions_per_key(meta, present, lengths)
    array.flags.writeable = False
    values: dict[str, np.ndarray] = {}
    start = 0
    for key, length in layout:
        values[key] = array[start : start + length]
        start += length
    quaternion = values.get('imu_orientation_xyzw')
    if quaternion is not None and not _is_unit_quaternion(quaternion.tolist()):
        return _parse_extensions_per_key(meta, present, lengths)
    return ObservationExtensions(**values)


def _is_binary(values: Iterable[float]) -> bool:
    """Return True if every value is 0 or 1 (``0.0``, ``-0.0`` and ``1.0`` included)."""
    # A set test: 0.0 == 0 and 1.0 == 1 hash alike; NaN equals nothing.
    return _BINARY_VALUES.issuperset(values)


def _norm4(xyzw: Sequence[float]) -> float:
    """Return the Euclidean norm of 4 floats (inf when a square overflows)."""
    x, y, z, w = xyzw
    # Python floats: an overflowing square is inf (no exception).
    return math.sqrt(x * x + y * y + z * z + w * w)


def _is_unit_quaternion(xyzw: Sequence[float]) -> bool:
    """Return True if the norm of 4 floats is within the tolerance of 1."""
    return abs(_norm4(xyzw) - 1.0) <= QUATERNION_NORM_TOLERANCE


def _parse_extensions_per_key(
    meta: Mapping[str, Any], present: Sequence[str], lengths: Mapping[str, int]
) -> ObservationExtensions:
    return ObservationExtensions(
        **{key: _extension_array(key, meta[key], lengths, True) for key in present}
    )


def decode_observation(
    frames: Sequence[Frame],
    max_image_bytes: int | None = None,
    receive_time_ns: int = 0,
    height_scan_length: int | None = None,
    foot_count: int | None = None,
) -> HalObservation:
    """
    Decode and check one 8-frame observation message.

    :param frames: the received frames (bytes, memoryview or ``zmq.Frame``
        from ``recv_multipart(copy=False)``).
    :param max_image_bytes: largest accepted size of each image, depth and
        confidence frame (declared and received); None for no limit.
    :param receive_time_ns: local receive time stamped into the result.
    :param height_scan_length: required length of ``height_scan`` (the
        policy's scan points); None accepts any length >= 1.
    :param foot_count: required length of ``foot_contacts`` (the robot's
        feet); None accepts any length >= 1.
    :return: the observation; its arrays are read-only views of the frames.
    :raises HalProtocolError: a subclass naming the malformed class.
    """
    _check_frame_count(frames, OBSERVATION_FRAME_COUNT)
    views = [_view(f) for f in frames]
    if views[0] != OBSERVATION_TOPIC:
        raise TopicError(f'topic: expected {OBSERVATION_TOPIC!r}, got {bytes(views[0][:64])!r}')
    if views[1] != _SCHEMA_BYTES:
        raise SchemaVersionError(
            f'schema version: expected {_SCHEMA_BYTES!r}, got {bytes(views[1][:64])!r}'
        )
    meta = _parse_metadata(views[2])
    timestamp_ns = _timestamp(meta, 'timestamp_ns')
    desc = {key: _descriptor(meta, key) for key in OBSERVATION_ARRAY_KEYS}
    height, width = _dimension(meta, 'camera_height'), _dimension(meta, 'camera_width')
    _require_dtype('joint_positions', desc['joint_positions'][1], ('float32',))
    _require_dtype('rgb_camera_1', desc['rgb_camera_1'][1], tuple(IMAGE_DTYPES))
    if desc['rgb_camera_2'][1] != desc['rgb_camera_1'][1]:
        raise DtypeError(
            f'rgb_camera_2.dtype: expected {desc["rgb_camera_1"][1]!r} like rgb_camera_1, got'
            f' {desc["rgb_camera_2"][1]!r}'
        )
    for key in ('depth_map', 'confidence_map'):
        _require_dtype(key, desc[key][1], ('float32',))
    _require_shape('joint_positions', desc['joint_positions'][0], (JOINT_COUNT,))
    _require_shape('rgb_camera_1', desc['rgb_camera_1'][0], (height, width, 3))
    _require_shape('rgb_camera_2', desc['rgb_camera_2'][0], desc['rgb_camera_1'][0])
    for key in ('depth_map', 'confidence_map'):
        _require_shape(key, desc[key][0], (height, width))
    image_dtype = IMAGE_DTYPES[desc['rgb_camera_1'][1]]
    dtypes = (_FLOAT32, image_dtype, image_dtype, _FLOAT32, _FLOAT32)
    arrays = [
        _array(key, views[3 + i], desc[key][0], dtypes[i], None if i == 0 else max_image_bytes)
        for i, key in enumerate(OBSERVATION_ARRAY_KEYS)
    ]
    for key, array in zip(OBSERVATION_ARRAY_KEYS, arrays):
        _require_finite(key, array)
    return HalObservation(
        timestamp_ns=timestamp_ns,
        joint_positions=arrays[0],
        rgb_camera_1=arrays[1],
        rgb_camera_2=arrays[2],
        depth_map=arrays[3],
        confidence_map=arrays[4],
        metadata=meta,
        extensions=_parse_extensions(meta, extension_lengths(height_scan_length, foot_count)),
        receive_time_ns=receive_time_ns,
    )


def _encode_timestamp(key: str, value: Any) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):
        raise TimestampError(f'{key}: expected an integer, got {value!r}')
    value = int(value)
    if not 0 <= value <= MAX_TIMESTAMP_NS:
        raise TimestampError(f'{key}: expected an integer in [0, 2**63), got {int(value)}')
    return value


def _encode_float32(key: str, value: Any, ndim: int) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind not in 'iuf':
        raise DtypeError(f'{key}: expected real numbers, got dtype {array.dtype}')
    if array.ndim != ndim:
        raise ShapeError(f'{key}: expected {int(ndim)} dimensions, got shape {list(array.shape)}')
    with np.errstate(over='ignore', invalid='ignore'):
        array = array.astype(_FLOAT32, copy=False)
    _require_finite(key, array)
    return array


def _encode_image(key: str, value: Any) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.name not in IMAGE_DTYPES:
        raise DtypeError(f'{key}: expected dtype {" or ".join(IMAGE_DTYPES)}, got {array.dtype}')
    if array.ndim != 3 or array.shape[2] != 3 or array.shape[0] < 1 or array.shape[1] < 1:
        raise ShapeError(
            f'{key}: expected shape (H, W, 3) with H, W >= 1, got {list(array.shape)}'
        )
    array = array.astype(IMAGE_DTYPES[array.dtype.name], copy=False)
    _require_finite(key, array)
    return array


def _extension_items(extensions: Any) -> dict[str, Any]:
    if extensions is None:
        return {}
    if isinstance(extensions, ObservationExtensions):
        return {
            k: getattr(extensions, k) for k in EXTENSION_KEYS if getattr(extensions, k) is not None
        }
    if not isinstance(extensions, Mapping):
        raise ExtensionError(
            'extensions: expected a mapping or ObservationExtensions, got'
            f' {type(extensions).__name__}'
        )
    unknown = sorted(set(extensions) - set(EXTENSION_KEYS))
    if unknown:
        raise ExtensionError(
            f'extensions: expected keys among {list(EXTENSION_KEYS)}, got unknown {unknown}'
        )
    return {k: extensions[k] for k in EXTENSION_KEYS if k in extensions}


def _encode_extensions(extensions: Any) -> dict[str, list[Any]]:
    """Return the extension metadata entries (validated) in EXTENSION_KEYS order."""
    encoded: dict[str, list[Any]] = {}
    for key, value in _extension_items(extensions).items():
        array = np.asarray(value)
        if array.ndim != 1 or array.dtype.kind not in 'iuf':
            raise ExtensionError(f'{key}: expected a 1-D sequence of numbers, got {value!r}')
        checked = _extension_array(key, array.astype(np.float64).tolist())
        if key in _BINARY_EXTENSIONS:
            encoded[key] = [int(v) for v in checked]
        else:
            encoded[key] = checked.tolist()
    return encoded


def encode_observation(
    timestamp_ns: int,
    joint_positions: Any,
    rgb_camera_1: Any,
    rgb_camera_2: Any,
    depth_map: Any,
    confidence_map: Any,
    extensions: Any | None = None,
) -> list[bytes]:
    """
    Encode one observation as the 8 frames of schema 1.0.

    :param timestamp_ns: HAL wall-clock time, non-negative integer.
    :param joint_positions: 18 joint positions (cast to float32).
    :param rgb_camera_1: (H, W, 3) image of dtype uint8, uint16 or float32.
    :param rgb_camera_2: image of the same shape and dtype.
    :param depth_map: (H, W) real array (cast to float32), metres.
    :param confidence_map: (H, W) real array (cast to float32).
    :param extensions: optional mapping of extension keys (or an
        :class:`ObservationExtensions`); written after the standard keys in
        ``EXTENSION_KEYS`` order.
    :return: the 8 frames.
    :raises HalProtocolError: a subclass if an input would make a malformed
        message (the same class a reader would report).
    """
    timestamp_ns = _encode_timestamp('timestamp_ns', timestamp_ns)
    joints = _encode_float32('joint_positions', joint_positions, 1)
    _require_shape('joint_positions', joints.shape, (JOINT_COUNT,))
    cam1 = _encode_image('rgb_camera_1', rgb_camera_1)
    cam2 = _encode_image('rgb_camera_2', rgb_camera_2)
    if cam2.dtype != cam1.dtype:
        raise DtypeError(
            f'rgb_camera_2: expected dtype {cam1.dtype.name} like rgb_camera_1, got'
            f' {cam2.dtype.name}'
        )
    _require_shape('rgb_camera_2', cam2.shape, cam1.shape)
    height, width = cam1.shape[0], cam1.shape[1]
    depth = _encode_float32('depth_map', depth_map, 2)
    _require_shape('depth_map', depth.shape, (height, width))
    confidence = _encode_float32('confidence_map', confidence_map, 2)
    _require_shape('confidence_map', confidence.shape, (height, width))
    arrays = (joints, cam1, cam2, depth, confidence)
    meta: dict[str, Any] = {
        key: {'shape': list(array.shape), 'dtype': array.dtype.name}
        for key, array in zip(OBSERVATION_ARRAY_KEYS, arrays)
    }
    meta['camera_height'] = height
    meta['camera_width'] = width
    meta['timestamp_ns'] = timestamp_ns
    meta.update(_encode_extensions(extensions))
    return [OBSERVATION_TOPIC, _SCHEMA_BYTES, json.dumps(meta).encode('utf-8')] + [
        array.tobytes() for array in arrays
    ]


#: Command metadata of schema 1.0 with the send and observation stamps to fill in.
_COMMAND_METADATA = (
    '{"joint_positions": {"shape": [' + str(JOINT_COUNT) + '], "dtype": "float32"},'
    ' "timestamp_ns": %d, "observation_timestamp_ns": %d}'
)


def _command_joints(joint_positions: Any) -> np.ndarray:
    try:
        array = np.asarray(joint_positions)
    except (TypeError, ValueError) as exc:
        raise CommandError(
            f'joint_positions: expected {int(JOINT_COUNT)} numbers, got {joint_positions!r}'
        ) from exc
    if array.dtype.kind not in 'iuf':
        raise CommandError(f'joint_positions: expected real numbers, got dtype {array.dtype}')
    if array.shape != (JOINT_COUNT,):
        raise CommandError(
            f'joint_positions: expected shape ({int(JOINT_COUNT)},), got {array.shape}'
        )
    if array.dtype != _FLOAT32:
        with np.errstate(over='ignore', invalid='ignore'):
            array = array.astype(_FLOAT32)
    if not all_finite(array):
        raise CommandError(
            f'joint_positions: expected finite float32 values, got {array.tolist()}'
        )
    return array


def _command_timestamp(key: str, value: Any) -> int:
    try:
        return _encode_timestamp(key, value)
    except TimestampError as exc:
        raise CommandError(str(exc)) from exc


def encode_command(
    joint_positions: Any, observation_timestamp_ns: int, timestamp_ns: int | None = None
) -> list[bytes]:
    """
    Encode one joint command as the 2 frames of schema 1.0.

    :param joint_positions: 18 desired joint positions, radians (cast to
        float32; must be finite after the cast).
    :param observation_timestamp_ns: ``timestamp_ns`` of the observation
        the command answers.
    :param timestamp_ns: send time; ``time.time_ns()`` when None.
    :return: the 2 frames.
    :raises CommandError: on a wrong length, non-numeric or non-finite
        values, or a bad timestamp.
    """
    joints = _command_joints(joint_positions)
    observation_timestamp_ns = _command_timestamp(
        'observation_timestamp_ns', observation_timestamp_ns
    )
    timestamp_ns = _command_timestamp(
        'timestamp_ns', time.time_ns() if timestamp_ns is None else timestamp_ns
    )
    # Byte for byte what json.dumps gives for the metadata dict (both stamps
    # are plain ints here); a template skips the encoder on every tick.
    meta = _COMMAND_METADATA % (timestamp_ns, observation_timestamp_ns)
    return [meta.encode('ascii'), joints.tobytes()]


def decode_command(frames: Sequence[Frame]) -> HalCommand:
    """
    Decode and check one 2-frame command message as the HAL does.

    :param frames: the received frames.
    :return: the command; ``joint_positions`` is a read-only float32 view.
    :raises HalProtocolError: a subclass naming the malformed class.
    """
    _check_frame_count(frames, COMMAND_FRAME_COUNT)
    views = [_view(f) for f in frames]
    meta = _parse_metadata(views[0])
    timestamp_ns = _timestamp(meta, 'timestamp_ns')
    observation_timestamp_ns = _timestamp(meta, 'observation_timestamp_ns')
    shape, dtype = _descriptor(meta, 'joint_positions')
    _require_dtype('joint_positions', dtype, ('float32',))
    _require_shape('joint_positions', shape, (JOINT_COUNT,))
    joints = _array('joint_positions', views[1], shape, _FLOAT32, None)
    _require_finite('joint_positions', joints)
    return HalCommand(
        timestamp_ns=timestamp_ns,
        observation_timestamp_ns=observation_timestamp_ns,
        joint_positions=joints,
    )

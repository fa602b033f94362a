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
Hypothesis strategies of hostile observation messages, and the decoder's oracle.

:func:`hostile_messages` starts from a valid small observation (random
size, image dtype and extension keys) and applies one or more mutations:
frames dropped or added, frames truncated or grown, random topic and schema
bytes, metadata replaced by random JSON (objects or not) or by invalid
UTF-8, any metadata key set to a random JSON value, shapes with huge,
negative or wrong dimensions, unknown dtypes, NaN and Inf written into the
array frames, extension keys of the wrong type, length or with NaN /
Infinity literals and overflowing numbers. Used by
``test_decoder_fuzz.py`` (bounded) and ``benchmarks/fuzz_decoder.py``
(long runs).

:func:`check_decoded` states what a returned observation must satisfy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import json
import math
import struct
from typing import Any

from hypothesis import strategies as st
import numpy as np

from krabby_parkour_ros.hal.codec import (
    encode_observation,
    EXTENSION_LENGTHS,
    IMAGE_DTYPES,
    OBSERVATION_ARRAY_KEYS,
)
from krabby_parkour_ros.hal.messages import EXTENSION_KEYS, HalObservation, JOINT_COUNT

#: Largest image frame the fuzzed decoder accepts (small, so 'oversize' is reachable).
FUZZ_MAX_IMAGE_BYTES = 4096
_FINITE = st.floats(-1e3, 1e3, allow_nan=False)
_VALID_EXTENSIONS = {
    'imu_orientation_xyzw': st.lists(_FINITE, min_size=4, max_size=4),
    'imu_angular_velocity': st.lists(_FINITE, min_size=3, max_size=3),
    'joint_velocities': st.lists(_FINITE, min_size=18, max_size=18),
    'base_linear_velocity': st.lists(_FINITE, min_size=3, max_size=3),
    'foot_contacts': st.lists(st.sampled_from([0, 1]), min_size=1, max_size=6),
    'height_scan': st.lists(_FINITE, min_size=1, max_size=20),
    'base_position': st.lists(_FINITE, min_size=3, max_size=3),
}
#: Any JSON value, NaN and Infinity included (Python's json writes and reads them).
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=12,
)
_HUGE = st.sampled_from([2**31, 2**32 + 3, 2**40, 2**62, 2**63 + 1, 10**30])
_DIMENSIONS = st.one_of(
    st.integers(-3, 12), _HUGE, st.floats(-2.0, 2.0), st.text(max_size=3), st.none(), st.booleans()
)
_DTYPES = st.sampled_from(
    [
        'float32',
        'uint8',
        'uint16',
        'float64',
        'int8',
        'int64',
        '<f4',
        'float16',
        'bool',
        '',
        'FLOAT32',
    ]
) | st.text(max_size=6)
_BAD_EXTENSION_VALUES = st.one_of(
    JSON_VALUES,
    st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=0, max_size=20),
    st.lists(
        st.sampled_from([10**400, -(10**400), True, False, '1', None]), min_size=1, max_size=4
    ),
    st.integers(0, 20).map(lambda n: [0.5] * n),
    st.lists(st.sampled_from([0, 1, 2, -1, 0.5]), min_size=0, max_size=6),
)


@st.composite
def valid_messages(draw: Any, timestamp_ns: int = 1_000_000) -> list[bytes]:
    """Return a valid small observation (random size, image dtype and extension keys)."""
    height, width = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    dtype = draw(st.sampled_from(sorted(IMAGE_DTYPES)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if dtype == 'float32':
        camera = rng.uniform(0.0, 1.0, (height, width, 3)).astype(np.float32)
    else:
        camera = rng.integers(0, 200, (height, width, 3)).astype(dtype)
    depth = rng.uniform(0.1, 5.0, (height, width)).astype(np.float32)
    confidence = rng.uniform(0.0, 1.0, (height, width)).astype(np.float32)
    joints = rng.uniform(-1.0, 1.0, JOINT_COUNT)
    keys = draw(st.lists(st.sampled_from(EXTENSION_KEYS), unique=True))
    extensions = {key: draw(_VALID_EXTENSIONS[key]) for key in keys}
    return encode_observation(timestamp_ns, joints, camera, camera, depth, confidence, extensions)


def _meta(frames: list[bytes]) -> dict[str, Any] | None:
    """Return the metadata of an intact message (8 frames, complete JSON object), else None."""
    if len(frames) != 8:
        return None
    try:
        meta = json.loads(frames[2])
    except ValueError:
        return None
    if not isinstance(meta, dict) or not all(
        isinstance(meta.get(key), dict) for key in OBSERVATION_ARRAY_KEYS
    ):
        return None
    return meta


def _with_meta(frames: list[bytes], meta: Any) -> list[bytes]:
    return frames[:2] + [json.dumps(meta).encode('utf-8')] + frames[3:]


@st.composite
def _mutate_frame_count(draw: Any, frames: list[bytes]) -> list[bytes]:
    if draw(st.booleans()) and len(frames) > 1:
        drop = draw(st.integers(0, len(frames) - 1))
        return frames[:drop] + frames[drop + 1 :]
    extra = draw(st.lists(st.binary(max_size=16), min_size=1, max_size=3))
    return frames + extra


@st.composite
def _mutate_frame_size(draw: Any, frames: list[bytes]) -> list[bytes]:
    index = draw(st.integers(2, len(frames) - 1))
    frame = frames[index]
    if draw(st.booleans()) and frame:
        frame = frame[: draw(st.integers(0, len(frame) - 1))]
    else:
        frame = frame + draw(st.binary(min_size=1, max_size=64))
    return frames[:index] + [frame] + frames[index + 1 :]


@st.composite
def _mutate_header(draw: Any, frames: list[bytes]) -> list[bytes]:
    # Topics must start with 'observation' to pass the SUB's prefix filter at all.
    topic = b'observation' + draw(st.binary(max_size=4)) if draw(st.booleans()) else frames[0]
    schema = (
        draw(st.sampled_from([b'1.0', b'1.1', b'2.0', b'', b'1.0 ']))
        if draw(st.booleans())
        else draw(st.binary(max_size=4))
    )
    return [topic, schema] + frames[2:]


@st.composite
def _mutate_metadata_document(draw: Any, frames: list[bytes]) -> list[bytes]:
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return _with_meta(frames, draw(JSON_VALUES))
    if choice == 1:
        return frames[:2] + [draw(st.binary(max_size=64))] + frames[3:]
    if choice == 2:
        cut = draw(st.integers(0, len(frames[2])))
        return frames[:2] + [frames[2][:cut]] + frames[3:]
    return frames[:2] + [b'\xff\xfe' + frames[2]] + frames[3:]


@st.composite
def _mutate_metadata_key(draw: Any, frames: list[bytes], keep_timestamp: bool) -> list[bytes]:
    meta = _meta(frames)
    if meta is None:
        return frames
    keys = list(OBSERVATION_ARRAY_KEYS) + ['camera_height', 'camera_width']
    if not keep_timestamp:
        keys.append('timestamp_ns')
    key = draw(st.sampled_from(keys))
    if draw(st.booleans()):
        meta.pop(key, None)
    else:
        meta[key] = draw(JSON_VALUES)
    return _with_meta(frames, meta)


@st.composite
def _mutate_descriptor(draw: Any, frames: list[bytes]) -> list[bytes]:
    meta = _meta(frames)
    if meta is None:
        return frames
    key = draw(st.sampled_from(OBSERVATION_ARRAY_KEYS))
    if draw(st.booleans()):
        meta[key]['shape'] = draw(st.lists(_DIMENSIONS, min_size=0, max_size=4))
    else:
        meta[key]['dtype'] = draw(_DTYPES)
    if draw(st.booleans()):
        meta['camera_height'] = draw(_DIMENSIONS)
    return _with_meta(frames, meta)


@st.composite
def _mutate_non_finite(draw: Any, frames: list[bytes]) -> list[bytes]:
    meta = _meta(frames)
    if meta is None:
        return frames
    candidates = [
        i
        for i, key in enumerate(OBSERVATION_ARRAY_KEYS)
        if meta[key].get('dtype') == 'float32' and len(frames[3 + i]) >= 4
    ]
    if not candidates:
        return frames
    index = 3 + draw(st.sampled_from(candidates))
    frame = bytearray(frames[index])
    value = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
    for _ in range(draw(st.integers(1, 3))):
        position = draw(st.integers(0, len(frame) // 4 - 1)) * 4
        frame[position : position + 4] = struct.pack('<f', value)
    return frames[:index] + [bytes(frame)] + frames[index + 1 :]


@st.composite
def _mutate_extension(draw: Any, frames: list[bytes]) -> list[bytes]:
    meta = _meta(frames)
    if meta is None:
        return frames
    key = draw(st.sampled_from(EXTENSION_KEYS))
    meta[key] = draw(_BAD_EXTENSION_VALUES)
    return _with_meta(frames, meta)


@st.composite
def _mutate_huge_declaration(draw: Any, frames: list[bytes]) -> list[bytes]:
    meta = _meta(frames)
    if meta is None:
        return frames
    size = draw(_HUGE)
    meta['camera_height'] = size
    meta['camera_width'] = size
    for key in ('rgb_camera_1', 'rgb_camera_2'):
        meta[key]['shape'] = [size, size, 3]
    for key in ('depth_map', 'confidence_map'):
        meta[key]['shape'] = [size, size]
    return _with_meta(frames, meta)


#: Mutations of the content of an intact message (each skips a broken one) ...
_CONTENT = (_mutate_descriptor, _mutate_non_finite, _mutate_extension, _mutate_huge_declaration)
#: ... and of its structure, applied after them.
_STRUCTURE = (_mutate_frame_size, _mutate_header, _mutate_metadata_document, _mutate_frame_count)


@st.composite
def hostile_messages(
    draw: Any, timestamp_ns: int = 1_000_000, keep_timestamp: bool = False
) -> list[bytes]:
    """
    Return an observation message after one to three random mutations.

    :param timestamp_ns: timestamp of the valid message the mutations start from.
    :param keep_timestamp: never touch ``timestamp_ns`` (streams whose good
        messages must stay acceptable after an accidentally valid one).
    """
    frames = draw(valid_messages(timestamp_ns))
    content: list[Callable[[list[bytes]], Any]] = list(_CONTENT) + [
        lambda message: _mutate_metadata_key(message, keep_timestamp)
    ]
    chosen = draw(st.lists(st.sampled_from(content + list(_STRUCTURE)), min_size=1, max_size=3))
    for mutation in sorted(chosen, key=lambda m: m in _STRUCTURE):
        frames = draw(mutation(frames))
    return [bytes(f) for f in frames] if frames else [b'observation']


def passes_subscription(frames: Sequence[bytes]) -> bool:
    """Return True when a SUB subscribed to ``observation`` receives these frames."""
    return bool(frames) and frames[0].startswith(b'observation')


def check_decoded(
    observation: HalObservation, max_image_bytes: int = FUZZ_MAX_IMAGE_BYTES
) -> None:
    """Assert every guarantee of a decoded observation (shapes, dtypes, finiteness)."""
    assert isinstance(observation.timestamp_ns, int) and observation.timestamp_ns >= 0
    joints = observation.joint_positions
    assert joints.shape == (JOINT_COUNT,) and joints.dtype == np.float32
    assert np.isfinite(joints).all()
    camera = observation.rgb_camera_1
    assert camera.ndim == 3 and camera.shape[2] == 3 and camera.shape[0] >= 1
    assert observation.rgb_camera_2.shape == camera.shape
    assert camera.dtype.name in IMAGE_DTYPES and observation.rgb_camera_2.dtype == camera.dtype
    for plane in (observation.depth_map, observation.confidence_map):
        assert plane.shape == camera.shape[:2] and plane.dtype == np.float32
        assert np.isfinite(plane).all()
        assert plane.nbytes <= max_image_bytes
    if camera.dtype.kind == 'f':
        assert np.isfinite(camera).all() and np.isfinite(observation.rgb_camera_2).all()
    for array in (joints, camera, observation.depth_map, observation.confidence_map):
        assert not array.flags.writeable
    for key in EXTENSION_KEYS:
        value = getattr(observation.extensions, key)
        if value is None:
            continue
        assert value.dtype == np.float64 and value.ndim == 1 and value.size >= 1
        assert np.isfinite(value).all() and not value.flags.writeable
        if key in EXTENSION_LENGTHS:
            assert value.size == EXTENSION_LENGTHS[key]
        if key == 'foot_contacts':
            assert set(np.unique(value)) <= {0.0, 1.0}


def metadata_of(frames: Sequence[bytes]) -> dict[str, Any]:
    """Return the parsed metadata frame (for messages known to be valid)."""
    return json.loads(frames[2])

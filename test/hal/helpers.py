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

"""Helpers of the HAL tests: small valid messages, metadata edits, a linked pair."""

from collections.abc import Callable
import json
import time
from typing import Any

import numpy as np

from krabby_parkour_ros.hal.client import HalClient
from krabby_parkour_ros.hal.codec import encode_observation
from krabby_parkour_ros.hal.messages import HalObservation
from krabby_parkour_ros.hal.server import HalServer


def small_frames(
    timestamp_ns: int, height: int = 4, width: int = 5, extensions: dict[str, Any] | None = None
) -> list[bytes]:
    """Return a valid observation with small deterministic images."""
    joints = np.linspace(-1.0, 1.0, 18)
    cam = (np.arange(height * width * 3) % 251).astype(np.uint8).reshape(height, width, 3)
    depth = np.full((height, width), 1.5, np.float32)
    confidence = np.full((height, width), 0.75, np.float32)
    return encode_observation(
        timestamp_ns, joints, cam, cam[::-1].copy(), depth, confidence, extensions
    )


def with_metadata(frames: list[bytes], mutate: Callable[[dict[str, Any]], None]) -> list[bytes]:
    """Return a copy of the frames with the metadata JSON changed by ``mutate``."""
    meta = json.loads(frames[2])
    mutate(meta)
    return frames[:2] + [json.dumps(meta).encode('utf-8')] + frames[3:]


#: A PUB with SNDHWM 1 over tcp drops a message sent within about 1 ms of the previous
#: one even when the subscriber keeps up: libzmq refreshes the pipe's HWM accounting only
#: when the socket processes commands, which send() throttles to ~3M CPU ticks. Tests that
#: must not lose a message keep this gap between publishes (benchmarks measure the rest).
MIN_PUBLISH_GAP_S = 0.003


class Link:
    """A server and a client talking over one transport, with sync helpers."""

    def __init__(self, server: HalServer, client: HalClient) -> None:
        self.server = server
        self.client = client
        self.next_timestamp_ns = 1_000_000
        self._last_publish = 0.0

    def publish(self, frames: list[bytes]) -> None:
        """Publish raw frames, keeping MIN_PUBLISH_GAP_S after the previous publish."""
        delay = self._last_publish + MIN_PUBLISH_GAP_S - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        assert self.server.publish_frames(frames)
        self._last_publish = time.monotonic()

    def publish_good(self, **kwargs: Any) -> int:
        """Publish one valid small observation with the next timestamp; return it."""
        timestamp = self.next_timestamp_ns
        self.next_timestamp_ns += 1_000_000
        self.publish(small_frames(timestamp, **kwargs))
        return timestamp

    def publish_and_wait(self, frames: list[bytes], timeout_s: float = 5.0) -> None:
        """Publish one message and wait until the client has received it (valid or not)."""
        before = self.client.received_count
        self.publish(frames)
        deadline = time.monotonic() + timeout_s
        while self.client.received_count == before:
            assert time.monotonic() < deadline, f'message not received within {timeout_s:.1f} s'
            time.sleep(0.0005)

    def sync(self, timeout_s: float = 5.0) -> HalObservation:
        """Publish valid observations until the client returns one (slow joiner)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            timestamp = self.publish_good()
            observation = self.client.wait_for_observation(0.005)
            if observation is not None:
                # Later sync messages may still be in flight: take them too.
                while observation.timestamp_ns < timestamp:
                    newer = self.client.wait_for_observation(1.0)
                    assert newer is not None, f'sync message {int(timestamp)} never arrived'
                    observation = newer
                return observation
        raise AssertionError(f'client received nothing within {timeout_s:.1f} s')

    def wait_for_timestamp(self, timestamp_ns: int, timeout_s: float = 5.0) -> HalObservation:
        """Wait until the client returns the observation with ``timestamp_ns``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            observation = self.client.wait_for_observation(0.05)
            if observation is not None and observation.timestamp_ns >= timestamp_ns:
                assert observation.timestamp_ns == timestamp_ns
                return observation
        raise AssertionError(
            f'observation {int(timestamp_ns)} not returned within {timeout_s:.1f} s'
        )


def endpoints(transport: str) -> tuple[str, str]:
    if transport == 'inproc':
        return 'inproc://test_hal_observation', 'inproc://test_hal_commands'
    return 'tcp://127.0.0.1:*', 'tcp://127.0.0.1:*'


#: Images of the oversize case (24x32x3 = 2304 bytes) exceed this limit.
OVERSIZE_LIMIT = 2048


def _replace(index: int, value: bytes) -> Callable[[list[bytes]], list[bytes]]:
    def edit(frames: list[bytes]) -> list[bytes]:
        return frames[:index] + [value] + frames[index + 1 :]

    return edit


def _meta(mutate: Callable[[dict[str, Any]], None]) -> Callable[[list[bytes]], list[bytes]]:
    return lambda frames: with_metadata(frames, mutate)


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda meta: meta.__setitem__(key, value)


def _delete(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda meta: meta.__delitem__(key)


def _set_descriptor(key: str, field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda meta: meta[key].__setitem__(field, value)


def _nan_joint(frames: list[bytes]) -> list[bytes]:
    joints = np.frombuffer(frames[3], np.float32).copy()
    joints[7] = np.nan
    return frames[:3] + [joints.tobytes()] + frames[4:]


def _inf_depth(frames: list[bytes]) -> list[bytes]:
    depth = np.frombuffer(frames[6], np.float32).copy()
    depth[0] = -np.inf
    return frames[:6] + [depth.tobytes()] + frames[7:]


def _camera_2_transposed(frames: list[bytes]) -> list[bytes]:
    # 5x4x3 has the same byte count as 4x5x3: only the shape check can catch it.
    return with_metadata(frames, _set_descriptor('rgb_camera_2', 'shape', [5, 4, 3]))


def _twelve_joints(frames: list[bytes]) -> list[bytes]:
    edited = with_metadata(frames, _set_descriptor('joint_positions', 'shape', [12]))
    return edited[:3] + [frames[3][:48]] + edited[4:]


def _oversize(timestamp_ns: int) -> list[bytes]:
    return small_frames(timestamp_ns, height=24, width=32)


#: (id, expected reason, builder from a valid small message) of every malformed class.
MALFORMED_EDITS: list[tuple[str, str, Callable[[list[bytes]], list[bytes]]]] = [
    ('seven_frames', 'frame_count', lambda f: f[:7]),
    ('nine_frames', 'frame_count', lambda f: f + [b'']),
    ('topic', 'topic', _replace(0, b'observation_v2')),
    ('schema_version', 'schema_version', _replace(1, b'2.0')),
    ('json_syntax', 'json', _replace(2, b'{"joint_positions": ')),
    ('json_not_object', 'json', _replace(2, b'[1, 2, 3]')),
    ('json_not_utf8', 'json', _replace(2, b'{"a": "\xff"}')),
    ('json_descriptor_not_object', 'json', _meta(_set('depth_map', [4, 5]))),
    ('missing_depth_map', 'missing_key', _meta(_delete('depth_map'))),
    ('missing_camera_width', 'missing_key', _meta(_delete('camera_width'))),
    ('missing_dtype', 'missing_key', _meta(lambda m: m['confidence_map'].__delitem__('dtype'))),
    ('depth_short', 'byte_length', lambda f: f[:6] + [f[6][:-4]] + f[7:]),
    ('camera_long', 'byte_length', lambda f: f[:4] + [f[4] + b'\x00'] + f[5:]),
    ('depth_float64', 'dtype', _meta(_set_descriptor('depth_map', 'dtype', 'float64'))),
    (
        'camera_int8',
        'dtype',
        _meta(
            lambda m: [m[k].__setitem__('dtype', 'int8') for k in ('rgb_camera_1', 'rgb_camera_2')]
        ),
    ),
    ('camera_dtypes_differ', 'dtype', _meta(_set_descriptor('rgb_camera_2', 'dtype', 'uint16'))),
    ('camera_shapes_differ', 'shape', _camera_2_transposed),
    ('depth_shape_vs_height_width', 'shape', _meta(_set_descriptor('depth_map', 'shape', [5, 4]))),
    ('twelve_joints', 'shape', _twelve_joints),
    ('negative_height', 'shape', _meta(_set('camera_height', -4))),
    ('nan_joint', 'non_finite', _nan_joint),
    ('inf_depth', 'non_finite', _inf_depth),
    ('orientation_length_3', 'extension', _meta(_set('imu_orientation_xyzw', [0, 0, 1]))),
    ('joint_velocities_length_12', 'extension', _meta(_set('joint_velocities', [0.0] * 12))),
    ('foot_contact_2', 'extension', _meta(_set('foot_contacts', [1, 2, 0, 1]))),
    ('height_scan_empty', 'extension', _meta(_set('height_scan', []))),
    (
        'angular_velocity_nan',
        'extension',
        _meta(_set('imu_angular_velocity', [0.0, float('nan'), 0.0])),
    ),
    ('linear_velocity_string', 'extension', _meta(_set('base_linear_velocity', 'fast'))),
    ('timestamp_missing', 'timestamp', _meta(_delete('timestamp_ns'))),
    ('timestamp_negative', 'timestamp', _meta(_set('timestamp_ns', -1))),
    ('timestamp_float', 'timestamp', _meta(_set('timestamp_ns', 1.5e18))),
]


def malformed_frames(case_id: str, timestamp_ns: int) -> list[bytes]:
    """Return the malformed message of one case (``oversize`` included)."""
    if case_id == 'oversize':
        return _oversize(timestamp_ns)
    edit = {case: edit for case, _, edit in MALFORMED_EDITS}[case_id]
    return edit(small_frames(timestamp_ns))


#: (id, reason) of every case, oversize included (decode with OVERSIZE_LIMIT).
MALFORMED_CASES: list[tuple[str, str]] = [
    (case, reason) for case, reason, _ in MALFORMED_EDITS
] + [('oversize', 'oversize')]


def send_until_received(
    link: Link, joints: Any, observation_timestamp_ns: int, attempts: int = 100
) -> Any:
    """
    Send a command until the server receives one (tcp PUSH drops until connected).

    :return: the received command.
    """
    for _ in range(attempts):
        link.client.put_joint_command(joints, observation_timestamp_ns)
        command = link.server.recv_command(timeout_ms=50)
        if command is not None:
            return command
    raise AssertionError(f'no command arrived after {int(attempts)} attempts')

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

"""Helpers of the HAL tests: small valid messages, malformed ones, a linked pair."""

import time
from typing import Any

import numpy as np

from krabby_parkour_ros.hal.client import HalClient
from krabby_parkour_ros.hal.codec import encode_observation
from krabby_parkour_ros.hal.messages import HalObservation
from krabby_parkour_ros.hal.server import HalServer

from ..support import malformed


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
        before = self.client.stats()['received_count']
        self.publish(frames)
        deadline = time.monotonic() + timeout_s
        while self.client.stats()['received_count'] == before:
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


#: Image limit of the malformed tests: the oversize case grows the 4x5 images of
#: small_frames to 24x30 (camera 2160 bytes, depth 2880), over it; every other case
#: stays under it.
OVERSIZE_LIMIT = 2048


def malformed_frames(case_id: str, timestamp_ns: int) -> list[bytes]:
    """Return the malformed message of one case of test/support/malformed.py."""
    return malformed.case(case_id).build(small_frames(timestamp_ns))


#: (id, reason) of every protocol case, oversize included (decode with OVERSIZE_LIMIT).
MALFORMED_CASES: list[tuple[str, str]] = [
    (c.case_id, c.reason) for c in (*malformed.PROTOCOL_CASES, malformed.OVERSIZE_CASE)
]


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

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
Memory per observation message is bounded (issue #13, finding 6).

A hostile or broken HAL runs in a subprocess (raw pyzmq PUB), so this
process's peak resident memory (``VmHWM``, reset through
``/proc/self/clear_refs``) measures the client alone: a 50 x 60 MB
multipart message and a single 200 MB frame must not raise it by 100 MB,
and the next good message must still be accepted.
"""

from collections.abc import Iterator
from pathlib import Path
import subprocess
import sys
import time

import pytest

from krabby_parkour_ros.hal.client import HalClient
from krabby_parkour_ros.hal.config import HalClientConfig

from .conftest import LinkFactory
from .helpers import small_frames

ROOT = Path(__file__).resolve().parents[2]
MIB = 1 << 20
#: Allowed growth of the client's peak resident memory during one flood.
MAX_GROWTH_BYTES = 100 * MIB

#: The hostile HAL: a PUB on a random loopback port; what to send arrives on stdin.
HOSTILE_HAL = r"""
import sys
import zmq
from test.hal.helpers import small_frames

context = zmq.Context()
pub = context.socket(zmq.PUB)
pub.setsockopt(zmq.LINGER, 0)
pull = context.socket(zmq.PULL)   # the command endpoint, never read
pull.setsockopt(zmq.LINGER, 0)
print(pub.bind_to_random_port('tcp://127.0.0.1'), pull.bind_to_random_port('tcp://127.0.0.1'),
      flush=True)
chunk = bytearray(60 * 1024 * 1024)   # one buffer, sent 50 times without copying
big = bytearray(200 * 1024 * 1024)
big[:11] = b'observation'             # passes the subscription filter of the PUB
for line in sys.stdin:
    word, _, argument = line.strip().partition(' ')
    if word == 'good':
        pub.send_multipart(small_frames(int(argument)))
    elif word == 'flood':
        frames = [b'observation', b'1.0'] + [memoryview(chunk)] * 48
        pub.send_multipart(frames, copy=False)
    elif word == 'big':
        pub.send_multipart([memoryview(big)], copy=False)
    print('ok', flush=True)
pub.close(linger=0)
pull.close(linger=0)
context.term()
"""


def _status_kib(field: str) -> int:
    with open('/proc/self/status') as status:
        for line in status:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise AssertionError(f'{field} missing from /proc/self/status')


def _reset_peak() -> None:
    with open('/proc/self/clear_refs', 'w') as clear_refs:
        clear_refs.write('5')  # resets VmHWM to the current resident size


class HostileHal:
    """Drive the subprocess HAL line by line."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, '-c', HOSTILE_HAL],
            cwd=str(ROOT),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.port, self.command_port = map(int, self.process.stdout.readline().split())
        self.timestamp_ns = 1_000_000

    def send(self, command: str) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + '\n')
        self.process.stdin.flush()
        assert self.process.stdout.readline().strip() == 'ok'

    def publish_good(self) -> int:
        self.timestamp_ns += 1_000_000
        self.send(f'good {int(self.timestamp_ns)}')
        return self.timestamp_ns

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def hostile_hal() -> Iterator[HostileHal]:
    hal = HostileHal()
    yield hal
    hal.close()


def _accept_good(hal: HostileHal, client: HalClient, timeout_s: float = 15.0) -> int:
    """Publish good observations until the client returns one; return its timestamp."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        hal.publish_good()
        observation = client.wait_for_observation(0.02)
        if observation is not None:
            return observation.timestamp_ns
    raise AssertionError(f'no good observation accepted within {timeout_s:.0f} s')


@pytest.mark.parametrize('flood', ['flood', 'big'])
def test_flood_does_not_grow_memory_and_next_good_message_is_accepted(
    hostile_hal: HostileHal, flood: str
) -> None:
    config = HalClientConfig(
        observation_endpoint=f'tcp://127.0.0.1:{int(hostile_hal.port)}',
        command_endpoint=f'tcp://127.0.0.1:{int(hostile_hal.command_port)}',
    )
    client = HalClient(config)
    client.connect()
    try:
        _accept_good(hostile_hal, client)
        before = client.stats()
        _reset_peak()
        baseline_kib = _status_kib('VmRSS')
        hostile_hal.send(flood)
        after_flood = hostile_hal.timestamp_ns
        accepted = _accept_good(hostile_hal, client)
        growth = (_status_kib('VmHWM') - baseline_kib) * 1024
        stats = client.stats()
    finally:
        client.close()
    assert accepted > after_flood
    # libzmq dropped the HAL at the first frame over the limit; the client reconnected.
    assert stats['reconnects'] == before['reconnects'] + 1
    assert stats['rejections'] == {}
    assert growth < MAX_GROWTH_BYTES, f'peak RSS grew by {growth / MIB:.1f} MiB'


def test_frame_limit_defaults_to_the_deployed_camera() -> None:
    # 480 x 640: a 60 MB frame is 16 times over the limit, a legal frame is not.
    limit = HalClientConfig().frame_limit_bytes
    assert 480 * 640 * 3 * 4 < limit < 60 * MIB


@pytest.mark.parametrize('transport', ['inproc', 'tcp'])
def test_too_many_frames_are_dropped_unread_and_rejected(
    make_link: LinkFactory, transport: str
) -> None:
    link = make_link(transport)
    link.sync()
    seen: list[int] = []
    link.client.set_taps(observation=lambda frames, *_: seen.append(len(frames)))
    link.publish_and_wait(small_frames(link.next_timestamp_ns) + [b'extra'] * 40)
    assert link.client.poll() is None
    good = link.publish_good()
    assert link.wait_for_timestamp(good).timestamp_ns == good
    stats = link.client.stats()
    assert stats['rejections'] == {'frame_count': 1}
    assert 'expected 8 frames, got 48' in stats['last_rejection']
    # The recorder sees 9 frames (the protocol's 8 and the first extra), never 48.
    assert seen == [9, 8]

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
Latest-only measured the hard way: 1 kHz publisher, 100 Hz control loop.

The server is configured like the deployed HAL (PUB, SNDHWM 1). A publisher
thread sends 48x64 observations at about 1 kHz with a sequence number in
``timestamp_ns``; the test thread polls at 100 Hz like the control loop and
records how many sequence numbers the observation in hand is behind the
newest published one. When the HAL stops (after one last message), the
client must hand out exactly that last message: lag 0. A client that
drained its socket only when polled would still be working through old
messages while the PUB dropped the newest.
"""

from collections import Counter
import threading
import time

import numpy as np
import pytest

from krabby_parkour_ros.hal.codec import encode_observation
from krabby_parkour_ros.hal.server import HalServer

from .conftest import LinkFactory

HEIGHT, WIDTH = 48, 64
PUBLISH_PERIOD_S = 0.001
POLL_PERIOD_S = 0.01
RUN_S = 1.0
BASE_NS = 1_700_000_000_000_000_000


class Publisher(threading.Thread):
    """Publish sequence-numbered observations at a fixed rate until told to stop."""

    def __init__(self, server: HalServer) -> None:
        super().__init__(name='test-publisher')
        self.server = server
        self.latest_seq = 0
        self.stop = threading.Event()
        rng = np.random.default_rng(0)
        self.cam = rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
        self.depth = rng.uniform(0.2, 5.0, (HEIGHT, WIDTH)).astype(np.float32)
        self.joints = np.zeros(18)
        self.t0 = time.monotonic() + 0.005

    def publish(self, seq: int) -> None:
        frames = encode_observation(
            BASE_NS + seq, self.joints, self.cam, self.cam, self.depth, self.depth
        )
        # Counted as published before the send: the client may have it before send returns.
        self.latest_seq = seq
        self.server.publish_frames(frames)

    def run(self) -> None:
        seq = self.latest_seq
        next_time = self.t0
        while not self.stop.is_set():
            delay = next_time - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            seq += 1
            self.publish(seq)
            next_time += PUBLISH_PERIOD_S


@pytest.mark.parametrize('transport', ['inproc', 'tcp'])
def test_latest_only_1khz_publish_100hz_poll(make_link: LinkFactory, transport: str) -> None:
    link = make_link(transport)
    link.sync()
    publisher = Publisher(link.server)
    publisher.start()
    # Ticks half a publish period after a publish: aligned, every tick would meet a
    # message in flight and read lag 1 by construction.
    next_tick = publisher.t0 + PUBLISH_PERIOD_S / 2
    lags: list[int] = []
    returned: list[int] = []
    held = None
    try:
        end = next_tick + RUN_S
        while next_tick < end:
            time.sleep(max(0.0, next_tick - time.monotonic()))
            next_tick += POLL_PERIOD_S
            observation = link.client.poll()
            if observation is not None:
                held = observation.timestamp_ns - BASE_NS
                returned.append(held)
            if held is not None:
                lags.append(publisher.latest_seq - held)
    finally:
        publisher.stop.set()
        publisher.join()
    # The HAL stops: one last message after a quiet moment (a PUB with SNDHWM 1 drops a
    # message sent within ~1 ms of the previous one over tcp, however fast the reader).
    time.sleep(0.05)
    last_seq = publisher.latest_seq + 1
    publisher.publish(last_seq)
    final = link.wait_for_timestamp(BASE_NS + last_seq)
    final_lag = last_seq - (final.timestamp_ns - BASE_NS)
    histogram = sorted(Counter(lags).items())
    print(
        f'\n{transport}: {int(last_seq)} published, {len(lags)} polls with data, lag histogram'
        f' {histogram}, final lag {int(final_lag)}'
    )
    assert final_lag == 0
    assert link.client.poll() is None
    assert returned == sorted(set(returned))  # strictly newer each time, never older
    assert len(returned) >= 10 and all(lag >= 0 for lag in lags)
    np.testing.assert_array_equal(final.rgb_camera_1, publisher.cam)
    assert link.client.stats()['rejections'] == {}

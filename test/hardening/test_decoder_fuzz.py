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
Fuzzing the observation path: decoder, HAL client counters, and the controller.

1. ``decode_observation`` on hostile messages either returns an observation
   that keeps every guarantee or raises a ``HalProtocolError`` (never any
   other exception); the fuzz reaches most rejection reasons.
2. Huge declared sizes are rejected without allocating them.
3. Through a real ``HalClient``: every message that passes the SUB filter
   is received; accepted + rejections by reason equal what an oracle (the
   decoder plus the monotonic-timestamp rule) predicts.
4. Through the real controller (shipped teacher, real mappers): good
   observations interleaved with hostile ones; every command the HAL
   receives answers a good observation and is 18 finite values.
"""

from collections import Counter
import json
import threading
import time
import tracemalloc
from typing import Any

from benchmarks.fuzz_strategies import (
    check_decoded,
    FUZZ_MAX_IMAGE_BYTES,
    hostile_messages,
    passes_subscription,
)
from hypothesis import given, HealthCheck, settings, strategies as st
import numpy as np
import pytest
import zmq

from krabby_parkour_ros.control.step import ControlMode
from krabby_parkour_ros.hal.client import HalClient
from krabby_parkour_ros.hal.codec import decode_observation
from krabby_parkour_ros.hal.config import HalClientConfig, HalServerConfig
from krabby_parkour_ros.hal.errors import (
    ByteLengthError,
    HalProtocolError,
    OversizeError,
    REJECTION_REASONS,
)
from krabby_parkour_ros.hal.server import HalServer

from .harness import make_controller, ObservationTemplate, ScriptedHal, wait_for

FUZZ_SETTINGS = settings(
    max_examples=500,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: Timestamp of every hostile message: older than any good one in the streams below.
HOSTILE_STAMP = 1_000_000
GOOD_BASE = 2_000_000_000_000


def test_decoder_returns_a_valid_observation_or_a_protocol_error() -> None:
    outcomes: Counter = Counter()

    @FUZZ_SETTINGS
    @given(hostile_messages())
    def run(frames: list[bytes]) -> None:
        try:
            observation = decode_observation(
                frames, max_image_bytes=FUZZ_MAX_IMAGE_BYTES, receive_time_ns=7
            )
        except HalProtocolError as exc:
            assert exc.reason in REJECTION_REASONS
            assert str(exc)
            outcomes[exc.reason] += 1
            return
        check_decoded(observation)
        assert observation.receive_time_ns == 7
        outcomes['accepted'] += 1

    run()
    # The generator reaches most classes of malformed message (and some valid ones).
    assert sum(outcomes.values()) >= 300
    reached = set(outcomes) - {'accepted'}
    assert len(reached) >= 9, outcomes
    assert {
        'frame_count',
        'json',
        'byte_length',
        'shape',
        'dtype',
        'non_finite',
        'extension',
    } <= reached, outcomes


@pytest.mark.parametrize('limit', [None, FUZZ_MAX_IMAGE_BYTES])
def test_huge_declared_sizes_are_rejected_without_allocating(limit: int | None) -> None:
    template = ObservationTemplate(2, 3).frames(HOSTILE_STAMP)
    meta = json.loads(template[2])
    size = 2**31
    meta['camera_height'] = meta['camera_width'] = size
    for key in ('rgb_camera_1', 'rgb_camera_2'):
        meta[key]['shape'] = [size, size, 3]
    for key in ('depth_map', 'confidence_map'):
        meta[key]['shape'] = [size, size]
    hostile = template[:2] + [json.dumps(meta).encode()] + template[3:]
    tracemalloc.start()
    try:
        with pytest.raises((ByteLengthError, OversizeError)) as info:
            decode_observation(hostile, max_image_bytes=limit)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.reason == ('byte_length' if limit is None else 'oversize')
    assert peak < 1 << 20, f'decoding allocated {peak} bytes'


class _Oracle:
    """What the client must do with each message: the decoder plus the timestamp rule."""

    def __init__(self) -> None:
        self.last: int | None = None
        self.expected: Counter = Counter()
        self.accepted: set[int] = set()

    def feed(self, frames: list[bytes]) -> None:
        try:
            observation = decode_observation(frames, max_image_bytes=FUZZ_MAX_IMAGE_BYTES)
        except HalProtocolError as exc:
            self.expected[exc.reason] += 1
            return
        if self.last is not None and observation.timestamp_ns <= self.last:
            self.expected['timestamp'] += 1
            return
        self.last = observation.timestamp_ns
        self.expected['accepted'] += 1
        self.accepted.add(observation.timestamp_ns)


def _client_counts(client: HalClient) -> Counter:
    stats = client.stats()
    counts = Counter(stats['rejections'])
    counts['accepted'] = stats['accepted_count']
    return counts


@pytest.mark.slow
def test_client_counters_match_the_oracle_for_a_hostile_stream() -> None:
    context = zmq.Context()
    # SNDHWM 1 (the deployed HAL) drops a message sent within ~1 ms of the previous one
    # (docs/hal.md); this test counts every message, so the PUB gets room instead.
    server = HalServer(
        HalServerConfig('inproc://fuzz_obs', 'inproc://fuzz_cmd', observation_sndhwm=1000), context
    )
    server.bind()
    client = HalClient(
        HalClientConfig(
            'inproc://fuzz_obs',
            'inproc://fuzz_cmd',
            max_message_bytes=FUZZ_MAX_IMAGE_BYTES,
            timestamp_resync_count=10_000,
        ),
        context,
    )
    client.connect()
    good = ObservationTemplate(2, 3)
    oracle = _Oracle()
    sent = {'count': 0, 'filtered': 0, 'stamp': GOOD_BASE}

    def publish(frames: list[bytes]) -> None:
        before = client.stats()['received_count']
        assert server.publish_frames(frames)
        if not passes_subscription(frames):
            sent['filtered'] += 1  # ZeroMQ's prefix filter drops it: never received
            return
        sent['count'] += 1
        oracle.feed(frames)
        assert wait_for(lambda: client.stats()['received_count'] > before, 5.0, 0.0002), (
            'a message that passes the subscription was never received'
        )

    def publish_good() -> None:
        sent['stamp'] += 1000
        publish(good.frames(sent['stamp']))

    @FUZZ_SETTINGS
    @given(st.lists(st.tuples(st.booleans(), hostile_messages()), min_size=1, max_size=6))
    def run(messages) -> None:
        for good_first, hostile in messages:
            if good_first:
                publish_good()
            publish(hostile)

    try:
        deadline = time.monotonic() + 5.0
        while client.stats()['received_count'] == 0:  # slow joiner
            assert time.monotonic() < deadline, 'the client never received the HAL'
            sent['stamp'] += 1000
            server.publish_frames(good.frames(sent['stamp']))
            time.sleep(0.002)
        time.sleep(0.02)
        # From here on the oracle and the client start from the same last timestamp.
        sent['stamp'] += 1000
        oracle.last = sent['stamp']
        before = client.stats()['received_count']
        server.publish_frames(good.frames(sent['stamp']))
        assert wait_for(lambda: client.stats()['received_count'] > before, 5.0, 0.0002)
        baseline = _client_counts(client)
        received0 = client.stats()['received_count']
        run()
        counts = _client_counts(client) - baseline
        received = client.stats()['received_count'] - received0
    finally:
        client.close()
        server.close()
        context.term()
    assert received == sent['count']
    assert counts == oracle.expected, (counts, oracle.expected)
    assert oracle.expected['accepted'] >= 2 and len(oracle.expected) >= 8, oracle.expected


def test_controller_never_answers_a_rejected_message() -> None:
    context = zmq.Context()
    hal = ScriptedHal(
        'inproc://fuzz_ctrl_obs',
        'inproc://fuzz_ctrl_cmd',
        template=ObservationTemplate(8, 12),
        context=context,
    )
    server = hal.server
    client = make_controller(
        hal, soft_start_duration=0.05, max_consecutive_failures=1000, stale_timeout=0.5
    )
    good: set[int] = set()
    commands: list = []
    stamp = {'next': GOOD_BASE}
    running = threading.Event()
    running.set()

    def drain() -> None:
        commands.extend(server.drain_commands())

    def publish_good() -> None:
        stamp['next'] += 1_000_000
        good.add(stamp['next'])
        assert server.publish_frames(hal.template.frames(stamp['next']))

    try:
        client.start_thread(running)
        deadline = time.monotonic() + 10.0
        while client.mode != ControlMode.RUNNING:
            assert time.monotonic() < deadline, f'not running: {client.stats()}'
            publish_good()
            time.sleep(0.004)
            drain()

        @settings(
            max_examples=200,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(
            st.lists(hostile_messages(HOSTILE_STAMP, keep_timestamp=True), min_size=1, max_size=4)
        )
        def run(hostile: list[list[bytes]]) -> None:
            publish_good()
            for frames in hostile:
                time.sleep(0.0005)
                server.publish_frames(frames)
            time.sleep(0.003)
            drain()

        run()
        time.sleep(0.05)
        drain()
        stats: dict[str, Any] = client.stats()
    finally:
        client.stop_thread()
        client.close()
        hal.close()
        context.term()
    answered = {c.observation_timestamp_ns for c in commands}
    assert answered <= good, sorted(answered - good)[:5]
    assert len(answered) >= 150, (len(answered), stats)
    for command in commands:
        assert command.joint_positions.shape == (18,)
        assert np.isfinite(command.joint_positions).all()
    assert hal.all_rejections() == {}
    assert stats['counters']['policy_steps'] > 50
    rejected = stats['hal']['rejected_count']
    assert rejected >= 200, stats['hal']['rejections']
    reasons: dict[str, int] = stats['hal']['rejections']
    assert 'timestamp' in reasons or len(reasons) >= 5

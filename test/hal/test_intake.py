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


"""The socket-free observation intake: decode, order, re-sync, freshness and counts."""

import logging
from typing import Any

import pytest

from krabby_parkour_ros.hal import intake as intake_module
from krabby_parkour_ros.hal.config import HalClientConfig
from krabby_parkour_ros.hal.errors import TimestampError
from krabby_parkour_ros.hal.intake import ObservationIntake, RateLimitedLog, TimestampOrder

from .helpers import MALFORMED_CASES, malformed_frames, OVERSIZE_LIMIT, small_frames
from ..support import malformed

WALL_NS = 1_700_000_000_000_000_000


def make_intake(**config: object) -> ObservationIntake:
    return ObservationIntake(HalClientConfig(**config))  # type: ignore[arg-type]


def deliver(intake: ObservationIntake, frames: list[bytes], receive_ns: int, **kwargs: Any) -> Any:
    """Check one message and count it when valid, as the receiver does after publishing it."""
    observation = intake.check(frames, receive_ns, **kwargs)
    if observation is not None:
        intake.record_accepted()
    return observation


def test_a_valid_message_is_returned_and_counted() -> None:
    intake = make_intake()
    observation = intake.check(small_frames(WALL_NS - 2_000_000), 55, wall_time_ns=WALL_NS)
    assert observation is not None
    assert observation.timestamp_ns == WALL_NS - 2_000_000
    assert observation.receive_time_ns == 55
    assert observation.joint_positions[0] == -1.0
    assert observation.depth_map.shape == (4, 5)
    assert intake.stats()['received_count'] == 0  # counted once delivered
    intake.record_accepted()
    stats = intake.stats()
    assert stats['received_count'] == 1
    assert stats['accepted_count'] == 1
    assert stats['rejections'] == {}
    assert stats['rejected_count'] == 0
    assert stats['last_rejection'] is None
    assert stats['timestamp_resyncs'] == 0
    assert stats['clock_offset_ms'] == pytest.approx(2.0)
    assert stats['clock_offset_last_ms'] == pytest.approx(2.0)


@pytest.mark.parametrize('case_id, reason', MALFORMED_CASES, ids=[c for c, _ in MALFORMED_CASES])
def test_every_malformed_case_is_rejected_under_its_reason(case_id: str, reason: str) -> None:
    intake = make_intake(max_message_bytes=OVERSIZE_LIMIT)
    assert intake.check(malformed_frames(case_id, 7), 1) is None
    stats = intake.stats()
    assert stats['rejections'] == {reason: 1}
    assert stats['rejected_count'] == 1
    assert stats['received_count'] == 1
    assert stats['accepted_count'] == 0
    assert stats['last_rejection']


def test_extra_frames_dropped_by_the_receiver_are_a_frame_count_rejection() -> None:
    intake = make_intake()
    kept = small_frames(7) + [b'extra']
    assert intake.check(kept, 1, frame_count=48) is None
    stats = intake.stats()
    assert stats['rejections'] == {'frame_count': 1}
    assert stats['last_rejection'] == (
        'frames: expected 8 frames, got 48 (frames after the 9th dropped unread)'
    )
    # All frames at hand: the decoder names the count itself.
    assert intake.check(kept, 2, frame_count=9) is None
    assert intake.stats()['last_rejection'] == 'frames: expected 8 frames, got 9'


def test_timestamps_must_increase() -> None:
    intake = make_intake()
    assert deliver(intake, small_frames(2000), 1) is not None
    assert deliver(intake, small_frames(2000), 2) is None
    assert deliver(intake, small_frames(1000), 3) is None
    assert deliver(intake, small_frames(2001), 4) is not None
    stats = intake.stats()
    assert stats['rejections'] == {'timestamp': 2}
    assert stats['accepted_count'] == 2
    assert stats['received_count'] == 4
    assert stats['last_rejection'] == (
        'timestamp_ns: expected > 2000 (last accepted), got 1000'
        ' (1 of 20 increasing messages needed to re-sync)'
    )


def test_a_run_of_increasing_older_timestamps_re_synchronises() -> None:
    intake = make_intake(timestamp_resync_count=3)
    assert deliver(intake, small_frames(1_000_000), 1) is not None
    assert deliver(intake, small_frames(10), 2) is None
    assert deliver(intake, small_frames(11), 3) is None
    observation = deliver(intake, small_frames(12), 4)  # the 3rd of the run: followed
    assert observation is not None and observation.timestamp_ns == 12
    assert deliver(intake, small_frames(13), 5) is not None
    stats = intake.stats()
    assert stats['timestamp_resyncs'] == 1
    assert stats['rejections'] == {'timestamp': 2}
    assert stats['accepted_count'] == 3


def test_a_broken_run_starts_over() -> None:
    order = TimestampOrder(required=True, resync_count=3)
    assert order.check(100) is False
    for stamp, run in ((10, 1), (11, 2), (5, 1), (6, 2)):
        with pytest.raises(TimestampError, match=f'\\({run} of 3 increasing'):
            order.check(stamp)
    assert order.check(7) is True
    assert order.last_ns == 7
    order.reset()
    assert order.last_ns is None
    assert order.check(1) is False


def test_any_order_when_monotonic_timestamps_are_not_required() -> None:
    intake = make_intake(require_monotonic_timestamps=False)
    for stamp in (3000, 1000, 1000, 2000):
        assert deliver(intake, small_frames(stamp), 1) is not None
    assert intake.stats()['accepted_count'] == 4
    assert intake.stats()['rejections'] == {}


def test_reset_forgets_the_order_but_keeps_the_counters() -> None:
    intake = make_intake()
    assert deliver(intake, small_frames(5000), 1) is not None
    assert deliver(intake, small_frames(4000), 2) is None
    intake.reset()
    assert deliver(intake, small_frames(4000), 3) is not None
    stats = intake.stats()
    assert (stats['received_count'], stats['accepted_count']) == (3, 2)
    assert stats['rejections'] == {'timestamp': 1}


def test_maximum_age_against_the_wall_clock_at_reception() -> None:
    intake = make_intake(max_observation_age_s=0.5)
    second = 1_000_000_000
    assert deliver(intake, small_frames(WALL_NS - second), 1, wall_time_ns=WALL_NS) is None
    assert deliver(intake, small_frames(WALL_NS + second), 2, wall_time_ns=WALL_NS) is None
    fresh = deliver(
        intake, small_frames(WALL_NS + 2 * second), 3, wall_time_ns=WALL_NS + 2 * second
    )
    assert fresh is not None
    stats = intake.stats()
    assert stats['rejections'] == {'too_old': 1, 'from_future': 1}
    assert stats['accepted_count'] == 1


def test_an_unexpected_decoder_error_is_counted_as_internal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError('boom')

    monkeypatch.setattr(intake_module, 'decode_observation', broken)
    intake = make_intake()
    assert deliver(intake, small_frames(1), 1) is None
    stats = intake.stats()
    assert stats['rejections'] == {'internal': 1}
    assert stats['last_rejection'] == 'RuntimeError: boom'


def test_deployment_lengths_reach_the_decoder() -> None:
    intake = make_intake(expected_height_scan_length=132, expected_foot_count=4)
    for bad in malformed.extension_cases(132, 4):
        assert intake.check(bad.build(small_frames(7)), 1) is None, bad.case_id
    assert intake.stats()['rejections'] == {'extension': 9}


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_the_log_is_rate_limited_per_key_with_a_count() -> None:
    records = _Records()
    log = logging.getLogger('test.hal.test_intake.rate_limited')
    log.addHandler(records)
    log.propagate = False
    try:
        limited = RateLimitedLog(period_s=5.0, log=log)
        assert limited.warning('json', 'first', now_ns=0) is True
        assert limited.warning('json', 'second', now_ns=1_000_000_000) is False
        assert limited.warning('json', 'third', now_ns=4_999_999_999) is False
        assert limited.warning('topic', 'other key', now_ns=4_999_999_999) is True
        assert limited.warning('json', 'fourth', now_ns=5_000_000_000) is True
        assert limited.warning('json', 'fifth', now_ns=10_000_000_000) is True
    finally:
        log.removeHandler(records)
    assert records.messages == [
        'first',
        'other key',
        'fourth (2 similar suppressed)',
        'fifth',
    ]


def test_rejections_are_logged_once_per_period() -> None:
    records = _Records()
    intake_module.logger.addHandler(records)
    try:
        intake = make_intake()
        for stamp in (7, 8, 9):
            intake.check(malformed_frames('topic', stamp), 1)
    finally:
        intake_module.logger.removeHandler(records)
    assert intake.stats()['rejections'] == {'topic': 3}
    assert records.messages == [
        "HAL client rejected an observation (topic): topic: expected b'observation', got"
        " b'observation_v2'"
    ]


def test_warm_decoder_decodes_the_last_accepted_message_and_changes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    intake = make_intake()
    assert intake.warm_decoder() is False  # nothing accepted yet
    accepted = small_frames(WALL_NS - 2_000_000)
    assert deliver(intake, accepted, 55, wall_time_ns=WALL_NS) is not None
    rejected = list(accepted)
    rejected[2] = b'not json'
    assert deliver(intake, rejected, 56, wall_time_ns=WALL_NS) is None
    before = intake.stats()
    decoded: list[Any] = []
    real = intake_module.decode_observation

    def spy(frames: Any, **kwargs: Any) -> Any:
        decoded.append(frames)
        return real(frames, **kwargs)

    monkeypatch.setattr(intake_module, 'decode_observation', spy)
    assert intake.warm_decoder() is True
    # It decoded the last *accepted* message, not the rejected one after it,
    # and counted, ordered and timed nothing.
    assert decoded == [accepted]
    assert intake.stats() == before
    # The same timestamp is still the newest accepted: a re-send is refused.
    assert deliver(intake, accepted, 57, wall_time_ns=WALL_NS) is None
    assert intake.stats()['rejections'] == {'timestamp': 1, **before['rejections']}
    intake.reset()
    assert intake.warm_decoder() is False  # a new connection forgets the message

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
Issue #13 finding 8: freshness is judged by more than arrival time.

(a) an optional maximum age against the local wall clock (``too_old``,
``from_future``); (b) the HAL clock offset in the stats; (c) two
interleaved timestamp streams detected and counted; (d) the delivered
observation rate measured; (e) reconnects counted. Client cases run a real
:class:`HalServer` in-process; the arithmetic of the monitor runs on
synthetic clocks (no timing in the asserts).
"""

from dataclasses import replace
import time
from typing import Any

import pytest

from krabby_parkour_ros.hal.config import HalClientConfig
from krabby_parkour_ros.hal.errors import FutureTimestampError, HalConfigError, TooOldError
from krabby_parkour_ros.hal.freshness import (
    INTERLEAVE_REVERSALS,
    INTERLEAVE_WINDOW_NS,
    RATE_WINDOW_NS,
    StreamMonitor,
)
from krabby_parkour_ros.hal.server import HalServer

from .conftest import LinkFactory
from .helpers import small_frames

S = 1_000_000_000


def _publish(link, stamp: int) -> None:
    link.publish_and_wait(small_frames(stamp))


# -- (a) maximum age ------------------------------------------------------------------


def test_observations_older_or_newer_than_the_maximum_age_are_rejected(
    make_link: LinkFactory,
) -> None:
    link = make_link('inproc', max_observation_age_s=1.0)
    now = time.time_ns()
    _publish(link, now - 60 * S)  # a stream stamped 60 s in the past
    _publish(link, now - 4_200_000_000)  # an observation 4.2 s old when answered
    _publish(link, now + 5 * S)  # a HAL clock 5 s ahead
    stats = link.client.stats()
    assert stats['rejections'] == {'too_old': 2, 'from_future': 1}
    assert stats['accepted_count'] == 0
    assert 'max_observation_age_s' in stats['last_rejection']
    assert link.client.poll() is None
    fresh = time.time_ns()
    _publish(link, fresh)
    observation = link.client.poll()
    assert observation is not None and observation.timestamp_ns == fresh


def test_without_a_maximum_age_old_stamps_are_accepted(make_link: LinkFactory) -> None:
    # Off by default: HAL clocks are not synchronised unless someone set it up.
    link = make_link('inproc')
    stamp = time.time_ns() - 60 * S
    _publish(link, stamp)
    assert link.client.stats()['rejections'] == {}
    observation = link.client.poll()
    assert observation is not None and observation.timestamp_ns == stamp


def test_the_age_check_compares_with_the_wall_clock_at_reception() -> None:
    monitor = StreamMonitor(max_age_ns=S // 2)
    monitor.check_age(10 * S, 10 * S + S // 2)  # exactly the limit: accepted
    monitor.check_age(10 * S + S // 2, 10 * S)  # ahead by the limit: accepted
    with pytest.raises(TooOldError, match='0.500 s old') as info:
        monitor.check_age(10 * S, 10 * S + S // 2 + 1)
    assert info.value.reason == 'too_old'
    with pytest.raises(FutureTimestampError, match='ahead') as future_info:
        monitor.check_age(10 * S + S // 2 + 1, 10 * S)
    assert future_info.value.reason == 'from_future'
    StreamMonitor(None).check_age(0, 100 * S)  # off


@pytest.mark.parametrize(
    'value, ok',
    [
        (None, True),
        (0, True),
        (0.0, True),
        (0.25, True),
        (-1.0, False),
        (float('inf'), False),
        ('1', False),
        (True, False),
    ],
)
def test_max_observation_age_is_validated(value, ok: bool) -> None:
    if ok:
        config = HalClientConfig(max_observation_age_s=value)
        assert config.max_observation_age_ns == (int(value * 1e9) if value else None)
    else:
        with pytest.raises(HalConfigError, match='max_observation_age_s'):
            HalClientConfig(max_observation_age_s=value)


@pytest.mark.parametrize('field', ['expected_height_scan_length', 'expected_foot_count'])
def test_deployment_lengths_are_validated(field: str) -> None:
    good: dict[str, Any] = {field: 4}
    assert getattr(HalClientConfig(**good), field) == 4
    for bad in (0, -1, 2.0, True):
        values: dict[str, Any] = {field: bad}
        with pytest.raises(HalConfigError, match=field):
            HalClientConfig(**values)


# -- (b) clock offset -----------------------------------------------------------------


def test_the_clock_offset_of_a_hal_60_s_behind_is_in_the_stats(make_link: LinkFactory) -> None:
    link = make_link('inproc')
    assert link.client.stats()['clock_offset_ms'] is None
    for _ in range(5):
        _publish(link, time.time_ns() - 60 * S)
    stats = link.client.stats()
    # Local wall clock minus the stamp: 60 s plus the (sub-second) transport delay.
    assert 60_000.0 <= stats['clock_offset_ms'] < 61_000.0
    assert stats['clock_offset_ms'] <= stats['clock_offset_last_ms']


def test_the_clock_offset_is_the_minimum_over_the_window() -> None:
    monitor = StreamMonitor()
    for i, delay in enumerate([5, 3, 9, 4]):
        stamp = (i + 1) * S
        monitor.on_decoded(stamp, stamp + delay * 1_000_000, 0)
    stats = monitor.stats(now_ns=0)
    assert stats['clock_offset_ms'] == pytest.approx(3.0)
    assert stats['clock_offset_last_ms'] == pytest.approx(4.0)


# -- (c) interleaved streams ----------------------------------------------------------


def test_two_interleaved_publishers_are_detected(make_link: LinkFactory) -> None:
    link = make_link('inproc')
    now = time.time_ns()
    for i in range(6):
        _publish(link, now + i * 10_000_000)  # publisher A
        _publish(link, now - 5 * S + i * 10_000_000)  # publisher B, 5 s behind
    stats = link.client.stats()
    assert stats['interleaved_streams'] == 1
    assert stats['interleaved_streams_active'] is True
    # A turn is rising then falling: the first B follows a single A.
    assert stats['timestamp_reversals'] == 5
    # B never overtakes A: every B message is rejected, A's are followed.
    assert stats['rejections'] == {'timestamp': 6}
    assert stats['accepted_count'] == 6


def test_a_hal_restart_is_not_taken_for_interleaved_streams(make_link: LinkFactory) -> None:
    link = make_link('inproc', timestamp_resync_count=5)
    now = time.time_ns()
    for i in range(5):
        _publish(link, now + i)
    for i in range(10):  # restarted with an earlier clock
        _publish(link, now - 5 * S + i)
    stats = link.client.stats()
    assert stats['timestamp_resyncs'] == 1
    assert stats['timestamp_reversals'] == 1
    assert stats['interleaved_streams'] == 0
    assert stats['interleaved_streams_active'] is False


def test_interleaving_needs_repeated_reversals_within_the_window() -> None:
    monitor = StreamMonitor()
    t = 0
    # Reversals further apart than the window: HAL restarts, not interleaving.
    for i in range(INTERLEAVE_REVERSALS + 2):
        monitor.on_decoded(100 * S + i, 0, t)
        monitor.on_decoded(1 * S + i, 0, t)  # back
        t += INTERLEAVE_WINDOW_NS // 2 + 1
    assert monitor.stats(now_ns=t)['interleaved_streams'] == 0
    # Every pair but the first turns from rising to falling.
    assert monitor.stats(now_ns=t)['timestamp_reversals'] == INTERLEAVE_REVERSALS + 1
    # Equal timestamps (a HAL repeating a sample) are not a direction.
    monitor = StreamMonitor()
    for _ in range(10):
        monitor.on_decoded(5 * S, 0, 0)
    assert monitor.stats(now_ns=0)['timestamp_reversals'] == 0
    # Interleaving: one episode however long it lasts; inactive once it stops.
    monitor = StreamMonitor()
    for i in range(50):
        monitor.on_decoded(100 * S + i, 0, i * 10_000_000)
        monitor.on_decoded(1 * S + i, 0, i * 10_000_000)
    stats = monitor.stats(now_ns=49 * 10_000_000)
    assert stats['interleaved_streams'] == 1 and stats['interleaved_streams_active']
    later = monitor.stats(now_ns=49 * 10_000_000 + INTERLEAVE_WINDOW_NS + 1)
    assert not later['interleaved_streams_active']
    assert later['interleaved_streams'] == 1


# -- (d) observation rate -------------------------------------------------------------


def test_the_rate_is_valid_observations_per_second_over_the_window() -> None:
    monitor = StreamMonitor()
    assert monitor.stats(now_ns=0)['observation_rate_hz'] == 0.0
    period = S // 20  # a 20 Hz HAL
    t = 0
    for _ in range(100):
        t += period
        monitor.on_accepted(t)
    assert monitor.stats(now_ns=t)['observation_rate_hz'] == pytest.approx(20.0, rel=0.03)
    # Silent for longer than the window: nothing measured.
    assert monitor.stats(now_ns=t + RATE_WINDOW_NS + 1)['observation_rate_hz'] == 0.0
    monitor.reset()
    assert monitor.stats(now_ns=t)['observation_rate_hz'] == 0.0


def test_the_client_measures_the_rate_of_valid_observations(make_link: LinkFactory) -> None:
    link = make_link('inproc')
    assert link.client.stats()['observation_rate_hz'] == 0.0
    for _ in range(5):
        link.publish_and_wait(small_frames(link.next_timestamp_ns))
        link.next_timestamp_ns += 1_000_000
    assert link.client.stats()['observation_rate_hz'] > 0.0


# -- (e) reconnects -------------------------------------------------------------------


def test_a_hal_restart_on_the_same_port_is_counted_as_a_reconnect(make_link: LinkFactory) -> None:
    link = make_link('tcp')
    link.sync()
    assert link.client.stats()['reconnects'] == 0
    config = link.server.config
    endpoints = (link.server.bound_observation_endpoint, link.server.bound_command_endpoint)
    link.server.close()
    deadline = time.monotonic() + 5.0
    while link.client.stats()['reconnects'] == 0:
        assert time.monotonic() < deadline, 'the disconnect was never noticed'
        time.sleep(0.01)
    link.server = HalServer(
        replace(config, observation_endpoint=endpoints[0], command_endpoint=endpoints[1])
    )
    link.server.bind()
    link.sync()
    assert link.client.stats()['reconnects'] >= 1

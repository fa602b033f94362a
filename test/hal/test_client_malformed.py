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

"""Through a real client: every malformed class is counted and the stream goes on."""

import pytest

from .conftest import LinkFactory
from .helpers import Link, MALFORMED_CASES, malformed_frames, OVERSIZE_LIMIT, small_frames

CLIENT_CASES: list[tuple[str, str]] = MALFORMED_CASES + [
    ('timestamp_backwards', 'timestamp'),
    ('timestamp_repeated', 'timestamp'),
]
PARAMS = [
    (transport, case, reason)
    for transport in ('inproc', 'tcp')
    for case, reason in CLIENT_CASES
    # Over tcp ZeroMQ's MAXMSGSIZE drops the peer first: see the test below.
    if not (transport == 'tcp' and case == 'oversize')
]


@pytest.mark.parametrize(
    'transport, case_id, reason', PARAMS, ids=[f'{t}-{c}' for t, c, _ in PARAMS]
)
def test_client_counts_rejection_and_receives_next(
    make_link: LinkFactory, transport: str, case_id: str, reason: str
) -> None:
    link = make_link(transport, max_message_bytes=OVERSIZE_LIMIT)
    first = link.sync()
    before = link.client.stats()
    if case_id == 'timestamp_backwards':
        bad = small_frames(first.timestamp_ns - 1)
    elif case_id == 'timestamp_repeated':
        bad = small_frames(first.timestamp_ns)
    else:
        bad = malformed_frames(case_id, link.next_timestamp_ns)
    link.publish_and_wait(bad)
    assert link.client.poll() is None  # the rejected message never reaches the slot
    good = link.publish_good()
    assert link.wait_for_timestamp(good).timestamp_ns == good
    stats = link.client.stats()
    assert stats['rejections'] == {reason: 1}
    assert stats['rejected_count'] == 1
    assert stats['received_count'] == before['received_count'] + 2
    assert stats['accepted_count'] == before['accepted_count'] + 1
    assert (
        stats['last_rejection']
        and 'expected' in stats['last_rejection']
        or 'missing' in stats['last_rejection']
    )


def test_tcp_oversize_frame_is_dropped_by_zmq_and_client_recovers(make_link: LinkFactory) -> None:
    link = make_link('tcp', max_message_bytes=OVERSIZE_LIMIT)
    link.sync()
    before = link.client.stats()
    link.publish(malformed_frames('oversize', link.next_timestamp_ns))
    # MAXMSGSIZE makes ZeroMQ drop the connection before the frame is buffered; libzmq
    # would not reconnect after that protocol error, the client does.
    observation = link.sync()
    stats = link.client.stats()
    assert observation.timestamp_ns == link.next_timestamp_ns - 1_000_000
    assert stats['rejections'] == {}
    assert stats['reconnects'] == before['reconnects'] + 1
    assert stats['accepted_count'] > before['accepted_count']


def _taken(link: Link) -> int:
    """Return the timestamp of the observation the client holds (there must be one)."""
    observation = link.client.poll()
    assert observation is not None, 'the client holds no new observation'
    return observation.timestamp_ns


def _resync_link(make_link: LinkFactory, count: int) -> tuple[Link, int]:
    link = make_link('inproc', timestamp_resync_count=count)
    return link, link.sync().timestamp_ns


def test_hal_restart_with_earlier_clock_resyncs_after_count(make_link: LinkFactory) -> None:
    link, last = _resync_link(make_link, 3)
    restart = last // 2
    for k in range(2):
        link.publish_and_wait(small_frames(restart + k))
    assert link.client.poll() is None
    assert link.client.stats()['rejections'] == {'timestamp': 2}
    link.publish_and_wait(small_frames(restart + 2))
    assert _taken(link) == restart + 2
    link.publish_and_wait(small_frames(restart + 3))  # and the new stream continues
    assert _taken(link) == restart + 3
    stats = link.client.stats()
    assert stats['timestamp_resyncs'] == 1
    assert stats['rejections'] == {'timestamp': 2}


def test_resync_needs_consecutive_increasing_backwards_messages(make_link: LinkFactory) -> None:
    link, last = _resync_link(make_link, 3)
    for timestamp in (last - 100, last - 200, last - 150):  # the run restarts at -200
        link.publish_and_wait(small_frames(timestamp))
    assert link.client.poll() is None
    assert link.client.stats()['rejections'] == {'timestamp': 3}
    link.publish_and_wait(small_frames(last - 140))
    assert _taken(link) == last - 140


def test_default_resync_count_is_twenty(make_link: LinkFactory) -> None:
    link, last = _resync_link(make_link, 20)
    for k in range(19):
        link.publish_and_wait(small_frames(k))
    assert link.client.poll() is None
    link.publish_and_wait(small_frames(19))
    assert _taken(link) == 19
    assert link.client.stats()['rejections'] == {'timestamp': 19}


def test_a_newer_message_ends_a_resync_run(make_link: LinkFactory) -> None:
    link, last = _resync_link(make_link, 3)
    link.publish_and_wait(small_frames(5))
    link.publish_and_wait(small_frames(6))
    link.publish_and_wait(small_frames(last + 1))  # the old stream again
    link.publish_and_wait(small_frames(7))  # a fresh run of 1: rejected
    assert _taken(link) == last + 1
    assert link.client.stats()['rejections'] == {'timestamp': 3}


def test_monotonic_check_can_be_disabled(make_link: LinkFactory) -> None:
    link = make_link('inproc', require_monotonic_timestamps=False)
    last = link.sync().timestamp_ns
    link.publish_and_wait(small_frames(last - 5))
    assert _taken(link) == last - 5
    assert link.client.stats()['rejections'] == {}

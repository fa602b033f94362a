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
The paced HAL-server loop: grid times, lockstep answers, counts, stop.

Most cases run on a fake clock and a fake server (commands arrive at
scheduled clock times), so every time and count is exact; one case runs
lockstep through a real :class:`HalServer` over inproc.
"""

from collections.abc import Callable, Iterator, Sequence
import threading

import numpy as np
import pytest
import zmq

from krabby_parkour_ros.hal.codec import encode_command, Frame
from krabby_parkour_ros.hal.config import HalServerConfig
from krabby_parkour_ros.hal.messages import HalCommand
from krabby_parkour_ros.hal.paced_server import Beat, PacedServer, Pacing, PacingError
from krabby_parkour_ros.hal.server import HalServer

from .helpers import endpoints

MS = 1_000_000
T0 = 5_000 * MS
#: Answer delay of the fake client for an observation (ns), or None: no answer.
Answer = Callable[[int], int | None]


class FakeClock:
    """Monotonic nanoseconds that move only when the loop waits or sleeps."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += int(round(seconds * 1e9))


class FakeServer:
    """
    A HAL server without sockets: each publish may schedule its answer.

    :param clock: the fake clock, advanced by waits for commands.
    :param answer: delay of the answer to an observation (by timestamp), or None.
    """

    def __init__(self, clock: FakeClock, answer: Answer) -> None:
        self.clock = clock
        self.answer = answer
        self.sent: list[tuple[int, int]] = []  # (clock, timestamp) of every publish
        self.pending: list[tuple[int, HalCommand]] = []  # (arrival, command), in order
        self.rejections: dict[str, int] = {'stale': 2}

    def publish_frames(self, frames: Sequence[Frame]) -> bool:
        frame = frames[0]
        assert isinstance(frame, bytes)
        stamp = int(frame)
        self.sent.append((self.clock.now, stamp))
        delay = self.answer(stamp)
        if delay is not None:
            command = HalCommand(stamp + 1, stamp, np.zeros(18, np.float32))
            self.pending.append((self.clock.now + delay, command))
            self.pending.sort(key=lambda item: item[0])
        return True

    def recv_command(self, timeout_ms: int = 0) -> HalCommand | None:
        limit = self.clock.now + timeout_ms * MS
        if self.pending and self.pending[0][0] <= limit:
            arrival, command = self.pending.pop(0)
            self.clock.now = max(self.clock.now, arrival)
            return command
        self.clock.now = limit
        return None

    def drain_commands(self) -> list[HalCommand]:
        ready = [c for arrival, c in self.pending if arrival <= self.clock.now]
        self.pending = [(a, c) for a, c in self.pending if a > self.clock.now]
        return ready


def beats(stamps: Sequence[int], due: Sequence[int] | None = None) -> Iterator[Beat]:
    for i, stamp in enumerate(stamps):
        yield Beat(stamp, [str(stamp).encode()], None if due is None else due[i])


def make_loop(
    answer: Answer, pacing: Pacing, **kwargs
) -> tuple[PacedServer, FakeServer, FakeClock, list[int]]:
    clock = FakeClock()
    server = FakeServer(clock, answer)
    received: list[int] = []
    loop = PacedServer(
        server,
        pacing,
        on_command=lambda command, at: received.append(command.observation_timestamp_ns),
        clock=clock,
        sleep=clock.sleep,
        **kwargs,
    )
    return loop, server, clock, received


def test_grid_publishes_on_the_period_and_takes_commands_between():
    # Every observation answered 3 ms after it left: taken before the next grid point.
    loop, server, clock, received = make_loop(
        lambda stamp: 3 * MS, Pacing(mode='grid', period_s=0.01)
    )
    loop.run(beats(range(1, 6)))
    assert server.sent == [(T0 + k * 10 * MS, k + 1) for k in range(5)]
    # The wait for the 6th grid point comes before asking for a 6th beat.
    assert clock.now == T0 + 50 * MS
    assert received == [1, 2, 3, 4, 5]
    stats = loop.stats
    assert stats.observations_published == 5 and stats.answered == 5
    assert list(stats.latency_ms) == [3.0] * 5
    assert stats.realtime_overruns == 0 and stats.lockstep_timeouts == 0
    assert stats.commands_rejected == 2  # read from the server's rejections


def test_grid_restarts_after_an_overrun_instead_of_bursting():
    clock = FakeClock()
    server = FakeServer(clock, lambda stamp: None)
    loop = PacedServer(server, Pacing(mode='grid', period_s=0.01), clock=clock, sleep=clock.sleep)

    def slow_third() -> Iterator[Beat]:
        for stamp in range(1, 6):
            if stamp == 3:
                clock.now += 25 * MS  # producing it took 2.5 periods
            yield Beat(stamp, [str(stamp).encode()])

    loop.run(slow_third())
    late = T0 + 20 * MS + 25 * MS
    # The 4th leaves at once (its grid point passed); the grid then restarts from there.
    assert [t for t, _ in server.sent] == [T0, T0 + 10 * MS, late, late, late + 10 * MS]
    assert loop.stats.realtime_overruns == 1


def test_lockstep_counts_answers_timeouts_and_exact_latency():
    # Even timestamps answered after 2 ms, odd ones never.
    loop, server, clock, received = make_loop(
        lambda stamp: 2 * MS if stamp % 2 == 0 else None,
        Pacing(mode='lockstep', answer_timeout_s=0.05),
    )
    loop.run(beats([10, 11, 12, 13, 14]))
    assert received == [10, 12, 14]
    stats = loop.stats
    assert stats.observations_published == 5
    assert stats.answered == stats.commands_received == 3
    assert stats.lockstep_timeouts == 2
    assert list(stats.latency_ms) == [2.0, 2.0, 2.0]
    # Each answer ends its wait at once; each timeout waits the full 50 ms.
    assert [(t - T0) // MS for t, _ in server.sent] == [0, 2, 52, 54, 104]
    assert clock.now == T0 + 106 * MS
    assert stats.first_resends == 0 and not stats.start_timed_out


def test_lockstep_takes_other_commands_while_waiting_for_the_answer():
    loop, server, clock, received = make_loop(
        lambda stamp: 1 * MS, Pacing(mode='lockstep', answer_timeout_s=0.05)
    )
    server.pending.append((T0 + MS // 2, HalCommand(1, 999, np.zeros(18, np.float32))))
    loop.run(beats([7]))
    assert received == [999, 7]
    assert loop.stats.commands_received == 2 and loop.stats.answered == 1


def test_first_observation_is_resent_until_the_start_timeout_then_the_loop_ends():
    loop, server, clock, _ = make_loop(
        lambda stamp: None,
        Pacing(
            mode='lockstep',
            answer_timeout_s=0.05,
            first_answer_timeout_s=0.35,
            resend_period_s=0.1,
        ),
    )
    loop.run(beats([1, 2, 3]))
    assert [(t - T0, s) for t, s in server.sent] == [
        (0, 1),
        (100 * MS, 1),
        (200 * MS, 1),
        (300 * MS, 1),
    ]
    stats = loop.stats
    assert stats.start_timed_out and stats.first_resends == 3
    assert stats.observations_published == 1 and stats.lockstep_timeouts == 0


def test_a_late_client_answering_a_resend_starts_the_lockstep():
    answers = {'count': 0}

    def third_publish_answered(stamp: int) -> int | None:
        answers['count'] += 1
        return 5 * MS if answers['count'] == 3 else None

    loop, server, clock, received = make_loop(
        third_publish_answered,
        Pacing(mode='lockstep', first_answer_timeout_s=1.0, resend_period_s=0.1),
    )
    loop.run(beats([1]))
    assert received == [1]
    assert loop.stats.first_resends == 2 and not loop.stats.start_timed_out
    # Latency counts from the first publish, not from the resend.
    assert list(loop.stats.latency_ms) == [205.0]


def test_free_pacing_publishes_at_due_times_and_drains_after_each():
    due = [T0 + 4 * MS, T0 + 9 * MS, T0 + 9 * MS, T0 + 30 * MS]
    loop, server, clock, received = make_loop(lambda stamp: 0, Pacing(mode='free'))
    loop.run(beats([1, 2, 3, 4], due))
    assert [t for t, _ in server.sent] == due
    # An answer arriving with the publish is drained right after it.
    assert received == [1, 2, 3, 4]
    assert list(loop.stats.latency_ms) == [0.0] * 4


def test_dropped_beats_are_not_published_but_keep_their_grid_period():
    loop, server, clock, _ = make_loop(lambda stamp: None, Pacing(mode='grid', period_s=0.01))
    loop.run(iter([Beat(1, [b'1']), Beat(2, None), Beat(3, [b'3'])]))
    assert server.sent == [(T0, 1), (T0 + 20 * MS, 3)]
    assert loop.stats.observations_published == 2


def test_stop_ends_the_loop_and_its_waits():
    stop = threading.Event()
    clock = FakeClock()
    server = FakeServer(clock, lambda stamp: None)
    published: list[int] = []

    def on_publish(frames: Sequence[Frame], at: int) -> None:
        published.append(at)
        if len(published) == 3:
            stop.set()

    loop = PacedServer(
        server,
        Pacing(mode='lockstep', answer_timeout_s=0.05),
        on_publish=on_publish,
        stop=stop,
        clock=clock,
        sleep=clock.sleep,
    )
    loop.run(beats(range(1, 10)))
    assert published == [T0, T0 + 50 * MS, T0 + 100 * MS]
    # The third wait ended at once and counted no timeout.
    assert loop.stats.lockstep_timeouts == 2 and clock.now == T0 + 100 * MS


@pytest.mark.parametrize(
    'kwargs, match',
    [
        ({'mode': 'warp'}, 'mode'),
        ({'mode': 'grid'}, 'period_s'),
        ({'answer_timeout_s': 0.0}, 'answer_timeout_s'),
        ({'first_answer_timeout_s': float('nan')}, 'first_answer_timeout_s'),
        ({'resend_period_s': -1.0}, 'resend_period_s'),
    ],
)
def test_pacing_validation(kwargs: dict, match: str) -> None:
    with pytest.raises(PacingError, match=match):
        Pacing(**kwargs)


def _answer_every_observation(
    context: zmq.Context, observation: str, command: str, stop: threading.Event
) -> None:
    sub = context.socket(zmq.SUB)
    push = context.socket(zmq.PUSH)
    try:
        sub.setsockopt(zmq.LINGER, 0)
        push.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.SUBSCRIBE, b'')
        sub.connect(observation)
        push.connect(command)
        while not stop.is_set():
            if sub.poll(20, zmq.POLLIN):
                stamp = int(sub.recv_multipart()[0])
                push.send_multipart(encode_command(np.zeros(18, np.float32), stamp))
    finally:
        sub.close(linger=0)
        push.close(linger=0)


def test_lockstep_through_a_real_hal_server():
    observation, command = endpoints('inproc')
    server = HalServer(HalServerConfig(observation_endpoint=observation, command_endpoint=command))
    server.bind()
    stop = threading.Event()
    client = threading.Thread(
        target=_answer_every_observation,
        args=(server.transport_context, observation, command, stop),
    )
    client.start()
    try:
        loop = PacedServer(
            server,
            Pacing(mode='lockstep', answer_timeout_s=2.0, first_answer_timeout_s=5.0),
        )
        stamps = [1_000 + i for i in range(20)]
        loop.run(beats(stamps))
    finally:
        stop.set()
        client.join(5.0)
        server.close()
    stats = loop.stats
    assert stats.observations_published == 20 and stats.lockstep_timeouts == 0
    assert stats.answered == 20 and not stats.start_timed_out
    assert stats.latency_ms and min(stats.latency_ms) > 0.0

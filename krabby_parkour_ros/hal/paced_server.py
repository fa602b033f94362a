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
The paced HAL-server loop: publish observations on a schedule, take their answers.

A stand-in for the HAL (the simulator, the replay of a recording) publishes
one observation at a time through a bound
:class:`~krabby_parkour_ros.hal.server.HalServer` and takes the commands
that answer it. :class:`PacedServer` is that loop; it owns no socket. Modes
(:class:`Pacing`):

- ``grid``: observation ``k`` leaves at ``t0 + k * period``; commands are
  taken as they arrive until the next grid point. A loop that ends a wait
  more than one period late restarts the grid from now and counts an
  overrun (``realtime_overruns``) instead of bursting.
- ``lockstep``: after each observation, wait up to ``answer_timeout_s`` for
  the command whose ``observation_timestamp_ns`` equals its timestamp
  (commands arriving meanwhile are taken too); a timeout is counted
  (``lockstep_timeouts``) and the loop goes on. With
  ``first_answer_timeout_s`` the first observation is re-sent every
  ``resend_period_s`` until answered, so a client that connects late misses
  nothing; no answer in that time ends the loop (``start_timed_out``).
- ``free``: each observation leaves at its own due time (:attr:`Beat.due_ns`,
  a recording's timeline), or at once without one; queued commands are
  taken after each publish.

Every wait ends early when the stop flag is set. What happened is counted in
a :class:`PacedStats` (the owners extend it with their own fields), latency
from the publish of an observation to its first answer included.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
import itertools
import logging
import math
import signal
import threading
import time
from typing import Any, Protocol

import numpy as np

from krabby_parkour_ros.hal.codec import Frame
from krabby_parkour_ros.hal.messages import HalCommand

logger = logging.getLogger(__name__)

PACING_MODES = ('grid', 'lockstep', 'free')
#: Observations whose publish time is remembered for latency measurement.
SENT_MEMORY = 4096
#: Latency samples kept (oldest dropped beyond).
LATENCY_MEMORY = 100_000


class PacingError(ValueError):
    """A pacing setting is out of range."""


class CommandTransport(Protocol):
    """What the loop uses of a HAL server (:class:`~krabby_parkour_ros.hal.server.HalServer`)."""

    def publish_frames(self, frames: Sequence[Frame]) -> bool:
        """Publish one message; False when the socket refused it."""

    def recv_command(self, timeout_ms: int = 0) -> HalCommand | None:
        """Return one valid command, waiting up to ``timeout_ms``; None at the timeout."""

    def drain_commands(self) -> list[HalCommand]:
        """Return every valid command queued now."""

    @property
    def rejections(self) -> dict[str, int]:
        """Return the rejected-command counts by reason."""


def _positive(name: str, value: Any) -> None:
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise PacingError(f'{name}: expected a finite number > 0, got {value!r}')


@dataclass(frozen=True)
class Pacing:
    """
    How :class:`PacedServer` spaces observations and waits for answers.

    :param mode: ``'grid'``, ``'lockstep'`` or ``'free'`` (module documentation).
    :param period_s: grid spacing (``grid`` only).
    :param answer_timeout_s: lockstep: longest wait for an answer.
    :param first_answer_timeout_s: lockstep: longest wait for the answer to
        the first observation, which is re-sent meanwhile; None: no re-sending,
        ``answer_timeout_s`` applies.
    :param resend_period_s: seconds between re-sends of the first observation.
    """

    mode: str = 'free'
    period_s: float = 0.0
    answer_timeout_s: float = 0.2
    first_answer_timeout_s: float | None = None
    resend_period_s: float = 0.1

    def __post_init__(self) -> None:
        """Check every field."""
        if self.mode not in PACING_MODES:
            raise PacingError(f'mode: expected one of {PACING_MODES}, got {self.mode!r}')
        if self.mode == 'grid':
            _positive('period_s', self.period_s)
        _positive('answer_timeout_s', self.answer_timeout_s)
        if self.first_answer_timeout_s is not None:
            _positive('first_answer_timeout_s', self.first_answer_timeout_s)
        _positive('resend_period_s', self.resend_period_s)


@dataclass(frozen=True)
class Beat:
    """
    One observation for the loop.

    :param timestamp_ns: its ``timestamp_ns`` (what an answer carries).
    :param frames: the encoded message; None: nothing to publish this time
        (dropped; a grid still spends its period).
    :param due_ns: when to publish it (the loop's clock, default
        ``time.monotonic_ns``); None: at once (or on the grid).
    """

    timestamp_ns: int
    frames: Sequence[Frame] | None
    due_ns: int | None = None


def latency_summary(values: Iterable[float]) -> dict[str, float | None]:
    """Return count, p50, p99 and max of latency samples (None without samples)."""
    array = np.fromiter(values, dtype=float)
    if array.size == 0:
        return {'count': 0, 'p50': None, 'p99': None, 'max': None}
    return {
        'count': int(array.size),
        'p50': float(np.percentile(array, 50)),
        'p99': float(np.percentile(array, 99)),
        'max': float(array.max()),
    }


@dataclass
class PacedStats:
    """What the loop did; owners subclass it to add their own fields."""

    observations_published: int = 0
    publish_refused: int = 0
    first_resends: int = 0
    commands_received: int = 0
    commands_rejected: int = 0
    answered: int = 0
    lockstep_timeouts: int = 0
    start_timed_out: bool = False
    realtime_overruns: int = 0
    latency_ms: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_MEMORY))

    def summary(self) -> dict[str, Any]:
        """Return every field as a JSON-ready dict (latency as count/p50/p99/max in ms)."""
        out = asdict(self)
        out['latency_ms'] = latency_summary(self.latency_ms)
        return out


class PacedServer:
    """
    Publish observations through a HAL server on a :class:`Pacing`; take the commands.

    :param server: a bound HAL server (not closed here).
    :param pacing: the schedule.
    :param stats: where to count (None: a fresh :class:`PacedStats`); may be
        replaced between runs (:attr:`stats`).
    :param on_command: called with every valid command and its receive time
        (``clock``), after it is counted.
    :param on_publish: called with the frames of every observation published
        by :meth:`publish` and the time right after publishing.
    :param stop: the stop flag (None: an own one; see :meth:`stop`).
    :param lock: held while counting a command (an owner that reads
        :attr:`stats` from another thread passes its lock).
    :param clock: monotonic nanoseconds (tests pass a fake).
    :param sleep: sleep in seconds (tests pass a fake).
    """

    def __init__(
        self,
        server: CommandTransport,
        pacing: Pacing,
        stats: PacedStats | None = None,
        *,
        on_command: Callable[[HalCommand, int], None] | None = None,
        on_publish: Callable[[Sequence[Frame], int], None] | None = None,
        stop: threading.Event | None = None,
        lock: AbstractContextManager[Any] | None = None,
        clock: Callable[[], int] = time.monotonic_ns,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Keep the settings; nothing runs before :meth:`run` or a wait."""
        self.server = server
        self.pacing = pacing
        self.stats = stats if stats is not None else PacedStats()
        self._on_command = on_command
        self._on_publish = on_publish
        self._stop = stop if stop is not None else threading.Event()
        self._lock: AbstractContextManager[Any] = lock if lock is not None else nullcontext()
        self._clock = clock
        self._sleep = sleep
        self._period_ns = int(round(pacing.period_s * 1e9))
        self._sent_ns: dict[int, int] = {}
        self._sent_order: deque[int] = deque()
        #: Latency of the latest answered observation (ms), for live displays.
        self.last_latency_ms: float | None = None

    def stop(self) -> None:
        """Make :meth:`run` and every wait return soon (thread safe)."""
        self._stop.set()

    # ------------------------------------------------------------------ loop
    def run(self, beats: Iterable[Beat]) -> None:
        """
        Publish every beat on the pacing; return when they end, at a stop, or at a start timeout.

        On a grid the wait for point ``k`` comes *before* beat ``k`` is drawn
        from ``beats``, so a source that advances a simulation when asked for
        the next beat computes it after the period's commands arrived.
        """
        source = iter(beats)
        grid_ns = self._clock()
        published = 0
        for index in itertools.count():
            if self._stop.is_set():
                return
            if self.pacing.mode == 'grid' and index:
                grid_ns = self._next_grid_point(grid_ns)
            beat = next(source, None)
            if beat is None:
                return
            if beat.due_ns is not None:
                self.receive_until(beat.due_ns)
            if beat.frames is None:
                continue
            self.publish(beat.timestamp_ns, beat.frames)
            published += 1
            if self.pacing.mode == 'lockstep':
                first = published == 1 and self.pacing.first_answer_timeout_s is not None
                self.await_answer(beat.timestamp_ns, resend=beat.frames if first else None)
                if self.stats.start_timed_out:
                    return
            elif self.pacing.mode == 'free':
                self.drain()

    def _next_grid_point(self, grid_ns: int) -> int:
        """Take commands until the next grid point; return it (or now, after an overrun)."""
        grid_ns += self._period_ns
        self.receive_until(grid_ns)
        now = self._clock()
        if now - grid_ns > self._period_ns:
            self.stats.realtime_overruns += 1
            return now
        return grid_ns

    # ------------------------------------------------------------ one step
    def publish(self, timestamp_ns: int, frames: Sequence[Frame]) -> bool:
        """Publish one observation, remember when (latency) and count it; True when sent."""
        sent = self.server.publish_frames(frames)
        now = self._clock()
        self._sent_ns[timestamp_ns] = now
        self._sent_order.append(timestamp_ns)
        if len(self._sent_order) > SENT_MEMORY:
            self._sent_ns.pop(self._sent_order.popleft(), None)
        if sent:
            self.stats.observations_published += 1
        else:
            self.stats.publish_refused += 1
        if self._on_publish is not None:
            self._on_publish(frames, now)
        return sent

    def take(self, command: HalCommand) -> None:
        """Count a received command (and the latency of a first answer), then hand it on."""
        received = self._clock()
        sent = self._sent_ns.pop(command.observation_timestamp_ns, None)
        with self._lock:
            self.stats.commands_received += 1
            if sent is not None:
                latency = (received - sent) / 1e6
                self.stats.answered += 1
                self.stats.latency_ms.append(latency)
                self.last_latency_ms = round(latency, 3)
        if self._on_command is not None:
            self._on_command(command, received)

    def drain(self) -> None:
        """Take every command queued now."""
        for command in self.server.drain_commands():
            self.take(command)
        self.stats.commands_rejected = sum(self.server.rejections.values())

    def receive_until(self, deadline_ns: int) -> None:
        """Take commands as they arrive until ``deadline_ns`` (the clock), then the queued ones."""
        while not self._stop.is_set():
            remaining_ms = (deadline_ns - self._clock()) / 1e6
            if remaining_ms <= 0.0:
                break
            if remaining_ms < 1.0:
                # zmq_poll waits whole milliseconds: finish the wait with a sleep.
                self._sleep(remaining_ms / 1e3)
                continue
            command = self.server.recv_command(timeout_ms=int(remaining_ms))
            if command is not None:
                self.take(command)
        self.drain()

    def await_answer(self, timestamp_ns: int, resend: Sequence[Frame] | None = None) -> bool:
        """
        Take commands until the one answering ``timestamp_ns``; return True when it came.

        :param resend: the first observation's frames, re-sent every
            ``resend_period_s`` within ``first_answer_timeout_s``; no answer
            then sets ``start_timed_out``. None: wait ``answer_timeout_s``
            and count a timeout.
        """
        first = resend is not None and self.pacing.first_answer_timeout_s is not None
        limit_s = self.pacing.answer_timeout_s
        if first and self.pacing.first_answer_timeout_s is not None:
            limit_s = self.pacing.first_answer_timeout_s
        resend_period_ns = int(self.pacing.resend_period_s * 1e9)
        start = self._clock()
        deadline = start + int(limit_s * 1e9)
        resend_at = start + resend_period_ns if first else None
        answered = False
        while not answered and not self._stop.is_set():
            now = self._clock()
            if now >= deadline:
                break
            if resend is not None and resend_at is not None and now >= resend_at:
                self.server.publish_frames(resend)
                self.stats.first_resends += 1
                resend_at = now + resend_period_ns
            wait_until = deadline if resend_at is None else min(deadline, resend_at)
            command = self.server.recv_command(
                timeout_ms=max(1, math.ceil((wait_until - now) / 1e6))
            )
            if command is not None:
                self.take(command)
                answered = command.observation_timestamp_ns == timestamp_ns
        self.stats.commands_rejected = sum(self.server.rejections.values())
        if answered or self._stop.is_set():
            return answered
        if first:
            self.stats.start_timed_out = True
            logger.error(
                'no command answered the first observation within %.1f s; is a client connected?',
                limit_s,
            )
        else:
            self.stats.lockstep_timeouts += 1
        return False


def install_stop_signals(stop: Callable[[], None]) -> None:
    """
    Make SIGTERM and SIGINT call ``stop`` (a command-line server's clean exit).

    SIGINT too: a shell starts background jobs with SIGINT ignored and Python
    keeps it ignored, yet Ctrl-C / SIGINT must always stop the server. Only
    the main thread may install handlers; elsewhere this does nothing.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda signum, frame: stop())
        signal.signal(signal.SIGINT, lambda signum, frame: stop())

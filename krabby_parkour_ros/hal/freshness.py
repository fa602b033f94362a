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
Judge the freshness of the observation stream by more than arrival time.

Arrival time alone hides a HAL whose samples are old when they arrive, a
HAL whose clock is far off, two publishers mixed on one endpoint and a HAL
slower than the policy. :class:`StreamMonitor` watches the ``timestamp_ns``
of every decoded observation against the local clocks:

- the maximum age (optional): an observation stamped further than
  ``max_age_ns`` from the local wall clock at reception, in the past
  (``too_old``) or the future (``from_future``), is rejected. Only
  meaningful when the HAL's clock is synchronised with this host
  (chrony/PTP), hence off by default;
- the clock offset: the minimum of (local wall clock at reception -
  ``timestamp_ns``) over the last :data:`OFFSET_WINDOW` observations, i.e.
  how far the HAL clock is behind this host plus the smallest transport
  delay (positive: behind);
- interleaved streams: a timestamp sequence that turns from rising to
  falling :data:`INTERLEAVE_REVERSALS` times within
  :data:`INTERLEAVE_WINDOW_NS` is two publishers on one endpoint (a HAL
  restart turns it once);
- the rate: valid observations per second over the last
  :data:`RATE_WINDOW_NS`.

Pure Python, no ZeroMQ: the client calls it from the thread that owns the
SUB socket; :meth:`StreamMonitor.stats` may be called from any thread.
"""

from collections import deque
import logging
import threading
import time
from typing import Any

from krabby_parkour_ros.hal.errors import FutureTimestampError, TooOldError

logger = logging.getLogger(__name__)

#: Decoded observations over which the clock offset is the minimum.
OFFSET_WINDOW = 200
#: Span over which the valid-observation rate is measured.
RATE_WINDOW_NS = 2_000_000_000
#: Rising-to-falling turns of the timestamps that mean two interleaved streams ...
INTERLEAVE_REVERSALS = 3
#: ... when they happen within this span (also how long a detection stays active).
INTERLEAVE_WINDOW_NS = 5_000_000_000


class StreamMonitor:
    """
    Watch the timing of one observation stream: age, clock offset, interleaving, rate.

    :param max_age_ns: reject observations further than this from the
        local wall clock; None: no age check.
    """

    def __init__(self, max_age_ns: int | None = None) -> None:
        self._max_age_ns = max_age_ns
        self._lock = threading.Lock()
        # Touched only by the thread that owns the SUB socket.
        self._previous_stamp: int | None = None
        self._rising = False
        # Under _lock.
        self._offsets: deque[int] = deque(maxlen=OFFSET_WINDOW)
        self._last_offset: int | None = None
        self._accept_times: deque[int] = deque()
        self._reversal_times: deque[int] = deque(maxlen=INTERLEAVE_REVERSALS)
        self._reversals = 0
        self._interleaved_episodes = 0
        self._interleaved_last_ns = 0

    def reset(self) -> None:
        """Forget the timestamp history (a new connection); counters stay."""
        self._previous_stamp = None
        self._rising = False
        with self._lock:
            self._accept_times.clear()

    def check_age(self, timestamp_ns: int, wall_ns: int) -> None:
        """
        Reject an observation too far from the local wall clock.

        :param timestamp_ns: the observation's HAL timestamp.
        :param wall_ns: ``time.time_ns()`` at reception.
        :raises TooOldError: stamped more than the maximum age ago.
        :raises FutureTimestampError: stamped more than the maximum age ahead.
        """
        limit = self._max_age_ns
        if limit is None:
            return
        age = wall_ns - timestamp_ns
        if age > limit:
            raise TooOldError(
                f'timestamp_ns: expected at most {limit * 1e-09:.3f} s old (max_observation_age_s)'
                f' versus the local wall clock, got {age * 1e-09:.3f} s old ({int(timestamp_ns)})'
            )
        if -age > limit:
            raise FutureTimestampError(
                f'timestamp_ns: expected at most {limit * 1e-09:.3f} s ahead'
                f' (max_observation_age_s) of the local wall clock, got {-age * 1e-09:.3f} s ahead'
                f' ({int(timestamp_ns)})'
            )

    def on_decoded(self, timestamp_ns: int, wall_ns: int, monotonic_ns: int) -> None:
        """
        Record one decoded observation (valid or not yet judged).

        :param timestamp_ns: its HAL timestamp.
        :param wall_ns: ``time.time_ns()`` at reception (clock offset).
        :param monotonic_ns: ``time.monotonic_ns()`` at reception.
        """
        offset = wall_ns - timestamp_ns
        previous = self._previous_stamp
        self._previous_stamp = timestamp_ns
        reversal = False
        if previous is not None:
            if timestamp_ns < previous:
                reversal = self._rising
                self._rising = False
            elif timestamp_ns > previous:
                self._rising = True
        new_episode = False
        with self._lock:
            self._offsets.append(offset)
            self._last_offset = offset
            if reversal:
                new_episode = self._on_reversal(monotonic_ns)
        if new_episode:
            logger.warning(
                'HAL client: observation timestamps went back and forth %d times '
                'within %.0f s: two publishers on one endpoint? (last %d, '
                'previous %d)',
                INTERLEAVE_REVERSALS,
                INTERLEAVE_WINDOW_NS * 1e-9,
                timestamp_ns,
                previous,
            )

    def _on_reversal(self, now_ns: int) -> bool:
        """Count one rising-to-falling turn; return True when an episode starts (lock held)."""
        self._reversals += 1
        times = self._reversal_times
        times.append(now_ns)
        if len(times) < INTERLEAVE_REVERSALS or now_ns - times[0] > INTERLEAVE_WINDOW_NS:
            return False
        new_episode = (
            self._interleaved_last_ns == 0
            or now_ns - self._interleaved_last_ns > INTERLEAVE_WINDOW_NS
        )
        self._interleaved_last_ns = now_ns
        if new_episode:
            self._interleaved_episodes += 1
        return new_episode

    def on_accepted(self, monotonic_ns: int) -> None:
        """Record one valid observation (rate)."""
        with self._lock:
            times = self._accept_times
            times.append(monotonic_ns)
            while times[0] < monotonic_ns - RATE_WINDOW_NS:
                times.popleft()

    def stats(self, now_ns: int | None = None) -> dict[str, Any]:
        """
        Return the stream's timing figures.

        ``clock_offset_ms`` (None before the first observation) and
        ``clock_offset_last_ms``: local wall clock minus ``timestamp_ns``,
        minimum over the window and latest; ``observation_rate_hz``: valid
        observations per second over the last 2 s (0.0 with fewer than 2);
        ``timestamp_reversals``: rising-to-falling turns;
        ``interleaved_streams``: detections of two interleaved streams;
        ``interleaved_streams_active``: one within the last 5 s.
        """
        now = time.monotonic_ns() if now_ns is None else now_ns
        with self._lock:
            offset = min(self._offsets) if self._offsets else None
            last_offset = self._last_offset
            recent = [t for t in self._accept_times if t >= now - RATE_WINDOW_NS]
            reversals = self._reversals
            episodes = self._interleaved_episodes
            active = (
                self._interleaved_last_ns != 0
                and now - self._interleaved_last_ns <= INTERLEAVE_WINDOW_NS
            )
        rate = 0.0
        if len(recent) >= 2 and now > recent[0]:
            rate = (len(recent) - 1) / ((now - recent[0]) * 1e-9)
        return {
            'clock_offset_ms': None if offset is None else offset * 1e-6,
            'clock_offset_last_ms': None if last_offset is None else last_offset * 1e-6,
            'observation_rate_hz': rate,
            'timestamp_reversals': reversals,
            'interleaved_streams': episodes,
            'interleaved_streams_active': active,
        }

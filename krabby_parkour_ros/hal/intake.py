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
Judge every received observation message: decode, freshness, order, counts.

:class:`ObservationIntake` is what the HAL client does with a message once
its frames are off the socket: decode and check it against the protocol
(:func:`~krabby_parkour_ros.hal.codec.decode_observation`), judge its
timestamp against the local clocks
(:class:`~krabby_parkour_ros.hal.freshness.StreamMonitor`), require it to be
newer than the last accepted one (with the re-sync after a HAL restart, see
:class:`TimestampOrder`), and count and log every rejection by reason
(docs/hal.md, "Errors and counters"). No sockets and no threads: the client
calls :meth:`ObservationIntake.check` from its receiver thread, tests call
it with lists of bytes.

Thread safety: :meth:`ObservationIntake.check` and
:meth:`ObservationIntake.reset` are called by one thread at a time;
:meth:`ObservationIntake.stats` may be called from any thread.
"""

from collections.abc import Sequence
import logging
import threading
import time
from typing import Any

from krabby_parkour_ros.hal.codec import decode_observation, Frame, OBSERVATION_FRAME_COUNT
from krabby_parkour_ros.hal.config import HalClientConfig
from krabby_parkour_ros.hal.errors import FrameCountError, HalProtocolError, TimestampError
from krabby_parkour_ros.hal.freshness import StreamMonitor
from krabby_parkour_ros.hal.messages import HalObservation

logger = logging.getLogger(__name__)

#: Rejections of one reason are logged at most once per this period.
LOG_PERIOD_S = 5.0
#: Reason of an unexpected exception in the decoder (a bug, logged with its traceback).
INTERNAL_REASON = 'internal'


class RateLimitedLog:
    """
    Log the first warning of each key, then at most once per period with a count.

    :param period_s: shortest time between two warnings of one key.
    :param log: where the warnings go.
    """

    def __init__(self, period_s: float = LOG_PERIOD_S, log: logging.Logger = logger) -> None:
        self._period_ns = int(period_s * 1e9)
        self._log = log
        self._last: dict[str, int] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, key: str, message: str, now_ns: int | None = None) -> bool:
        """
        Log ``message`` unless a warning of ``key`` was logged within the period.

        :param now_ns: ``time.monotonic_ns()`` (None: read the clock).
        :return: True when it was logged, False when suppressed (and counted).
        """
        now = time.monotonic_ns() if now_ns is None else now_ns
        last = self._last.get(key)
        if last is not None and now - last < self._period_ns:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return False
        suppressed = self._suppressed.pop(key, 0)
        self._last[key] = now
        self._log.warning(
            '%s%s', message, f' ({int(suppressed)} similar suppressed)' if suppressed else ''
        )
        return True


class TimestampOrder:
    """
    Require increasing timestamps, following a new stream after a run of them.

    A timestamp not newer than the last accepted one is refused, unless it
    is the ``resync_count``-th of an unbroken run of such timestamps that
    increase among themselves (a HAL restarted with an earlier clock): then
    the new stream is followed. A HAL restart cannot latch the client.

    :param required: False accepts any order (``require_monotonic_timestamps``).
    :param resync_count: run length after which the new stream is followed.
    """

    def __init__(self, required: bool, resync_count: int) -> None:
        self._required = required
        self._resync_count = resync_count
        self._last_ns: int | None = None
        self._run = 0
        self._run_last_ns: int | None = None

    @property
    def last_ns(self) -> int | None:
        """Return the last accepted timestamp (None before the first)."""
        return self._last_ns

    def reset(self) -> None:
        """Forget the history (a new connection)."""
        self._last_ns = None
        self._run = 0
        self._run_last_ns = None

    def check(self, timestamp_ns: int) -> bool:
        """
        Accept ``timestamp_ns`` or raise; return True when it re-synchronised.

        :raises TimestampError: not newer than the last accepted one and the
            run of increasing older ones is still too short.
        """
        last = self._last_ns
        if not self._required or last is None or timestamp_ns > last:
            self._accept(timestamp_ns)
            return False
        if self._run_last_ns is not None and timestamp_ns > self._run_last_ns:
            self._run += 1
        else:
            self._run = 1
        self._run_last_ns = timestamp_ns
        if self._run >= self._resync_count:
            logger.warning(
                'HAL client: timestamps went back from %d to a new increasing stream '
                '(%d messages, now %d); re-synchronising (HAL restart?)',
                last,
                self._run,
                timestamp_ns,
            )
            self._accept(timestamp_ns)
            return True
        raise TimestampError(
            f'timestamp_ns: expected > {int(last)} (last accepted), got {int(timestamp_ns)}'
            f' ({int(self._run)} of {int(self._resync_count)} increasing messages needed to'
            ' re-sync)'
        )

    def _accept(self, timestamp_ns: int) -> None:
        self._last_ns = timestamp_ns
        self._run = 0
        self._run_last_ns = None


class ObservationIntake:
    """
    Check received observation messages one by one and count the outcome.

    :param config: the client settings (size limit, deployment lengths,
        timestamp order, maximum age).
    """

    def __init__(self, config: HalClientConfig) -> None:
        self._config = config
        self._order = TimestampOrder(
            config.require_monotonic_timestamps, config.timestamp_resync_count
        )
        self._stream = StreamMonitor(config.max_observation_age_ns)
        self._log = RateLimitedLog()
        self._lock = threading.Lock()
        # Under _lock: cumulative over reset().
        self._received = 0
        self._accepted = 0
        self._rejections: dict[str, int] = {}
        self._last_rejection: str | None = None
        self._resyncs = 0
        # The frames of the last accepted message, for warm_decoder (one
        # reference, replaced whole: safe to read from any thread).
        self._last_frames: Sequence[Frame] | None = None

    def reset(self) -> None:
        """Forget the timestamp history (a new connection); the counters stay."""
        self._order.reset()
        self._stream.reset()
        self._last_frames = None

    def warm_decoder(self) -> bool:
        """
        Decode the last accepted message again and discard it, to warm the caches.

        Decoding is a pure function of the frames: nothing is counted, no
        timestamp or stream statistic changes, nothing is delivered. Run
        shortly before the next message is due, it leaves the decoder's code
        and data in the CPU caches that 10 ms of idling would have evicted.

        :return: True if a message was decoded (False: none accepted yet).
        """
        frames = self._last_frames
        if frames is None:
            return False
        self._decode_frames(frames, 0)
        return True

    def check(
        self,
        frames: Sequence[Frame],
        receive_time_ns: int,
        frame_count: int | None = None,
        wall_time_ns: int | None = None,
    ) -> HalObservation | None:
        """
        Decode and judge one message; count a rejection at once.

        A valid message is counted by :meth:`record_accepted` once the caller
        has delivered it (the client: into its slot), so whoever sees it in
        ``received_count`` can already take it.

        :param frames: the frames as received (``zmq.Frame``, bytes ...).
        :param receive_time_ns: ``time.monotonic_ns()`` at reception.
        :param frame_count: frames the message had, when the receiver kept
            only the first ones and freed the rest unread (None: ``frames``
            is the whole message).
        :param wall_time_ns: ``time.time_ns()`` at reception (None: now).
        :return: the observation, or None when it was rejected.
        """
        if frame_count is not None and frame_count > len(frames):
            self.reject(
                FrameCountError.reason,
                f'frames: expected {int(OBSERVATION_FRAME_COUNT)} frames, got {int(frame_count)}'
                f' (frames after the {len(frames)}th dropped unread)',
            )
            return None
        wall_ns = time.time_ns() if wall_time_ns is None else wall_time_ns
        try:
            observation = self._decode(frames, receive_time_ns, wall_ns)
        except HalProtocolError as exc:
            self.reject(exc.reason, str(exc))
            return None
        except Exception as exc:  # noqa: B902 - a decoder bug must not kill the receiver
            logger.exception('HAL client: unexpected error while decoding an observation')
            self.reject(INTERNAL_REASON, f'{type(exc).__name__}: {exc}')
            return None
        self._stream.on_accepted(receive_time_ns)
        self._last_frames = frames
        return observation

    def record_accepted(self, count: int = 1) -> None:
        """Count ``count`` valid messages returned by :meth:`check` as received and accepted."""
        with self._lock:
            self._received += count
            self._accepted += count

    def _decode_frames(self, frames: Sequence[Frame], receive_ns: int) -> HalObservation:
        """Decode ``frames`` with this deployment's limits (pure: nothing counted)."""
        config = self._config
        return decode_observation(
            frames,
            max_image_bytes=config.frame_limit_bytes,
            receive_time_ns=receive_ns,
            height_scan_length=config.expected_height_scan_length,
            foot_count=config.expected_foot_count,
        )

    def _decode(self, frames: Sequence[Frame], receive_ns: int, wall_ns: int) -> HalObservation:
        observation = self._decode_frames(frames, receive_ns)
        self._stream.on_decoded(observation.timestamp_ns, wall_ns, receive_ns)
        self._stream.check_age(observation.timestamp_ns, wall_ns)
        if self._order.check(observation.timestamp_ns):
            with self._lock:
                self._resyncs += 1
        return observation

    def reject(self, reason: str, message: str) -> None:
        """Count one received message as rejected for ``reason`` and log it (rate limited)."""
        with self._lock:
            self._received += 1
            self._rejections[reason] = self._rejections.get(reason, 0) + 1
            self._last_rejection = message
        self._log.warning(reason, f'HAL client rejected an observation ({reason}): {message}')

    def stats(self) -> dict[str, Any]:
        """
        Return the intake's counters and the stream's timing figures.

        ``received_count`` (every message, valid or not), ``accepted_count``,
        ``rejections`` (by reason), ``rejected_count``, ``last_rejection``
        (the latest message, or None), ``timestamp_resyncs``, and the keys
        of :meth:`~krabby_parkour_ros.hal.freshness.StreamMonitor.stats`.
        """
        with self._lock:
            snapshot: dict[str, Any] = {
                'received_count': self._received,
                'accepted_count': self._accepted,
                'rejections': dict(self._rejections),
                'rejected_count': sum(self._rejections.values()),
                'last_rejection': self._last_rejection,
                'timestamp_resyncs': self._resyncs,
            }
        snapshot.update(self._stream.stats())
        return snapshot

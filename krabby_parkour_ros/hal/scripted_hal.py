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
A scripted HAL: a standing robot published at a fixed rate, every command collected.

:class:`ScriptedHal` stands in for the robot when no simulator or robot is
at hand (benchmarks, drills, bring-up of the policy computer): a thread
publishes a standing Go2 (every extension key the teacher needs) through a
real :class:`~krabby_parkour_ros.hal.server.HalServer` at a fixed rate,
receives every command, and can be paused, killed and restarted on the same
port, fed malformed messages or made to send old timestamps. Publish and
receive times are ``time.monotonic_ns()`` (the clock of the client's
``receive_time_ns``), so observation -> command latency is measured at the
HAL, where it matters. :class:`ObservationTemplate` is the encoded message,
restamped per publish for a few microseconds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
import json
import logging
import threading
import time
from typing import Any, NamedTuple, overload

import numpy as np
import zmq

from krabby_parkour_ros.contract import GO2_PARKOUR_TEACHER
from krabby_parkour_ros.hal.codec import encode_observation
from krabby_parkour_ros.hal.config import HalClientConfig, HalServerConfig
from krabby_parkour_ros.hal.errors import HalTransportError
from krabby_parkour_ros.hal.messages import HalCommand
from krabby_parkour_ros.hal.server import HalServer
from krabby_parkour_ros.mapping.joint_map import load_joint_map

_LOG = logging.getLogger(__name__)

#: Placeholder timestamp of the observation template (replaced per message).
_SENTINEL = 1_111_111_111_111_111_111
#: Observations whose publish time is remembered for latency measurement.
_PUBLISH_MEMORY = 4096
#: How long the loop sleeps while another thread waits for its lock (kill, restart).
_WAITER_TURN_S = 0.0002


def standing_pose() -> np.ndarray:
    """Return the 18 hardware joint positions of a Go2 standing in its default pose."""
    joint_map = load_joint_map('go2_sim')
    pose = np.array(joint_map.hold_position, dtype=np.float32)
    for i, index in enumerate(joint_map.hardware_index):
        pose[index] = GO2_PARKOUR_TEACHER.default_joint_positions[i]
    return pose


def standing_extensions() -> dict[str, list]:
    """Return every extension key the teacher needs, for a level robot standing still."""
    return {
        'imu_orientation_xyzw': [0.0, 0.0, 0.0, 1.0],
        'imu_angular_velocity': [0.0, 0.0, 0.0],
        'joint_velocities': [0.0] * 18,
        'base_linear_velocity': [0.0, 0.0, 0.0],
        'foot_contacts': [1, 1, 1, 1],
        'height_scan': [0.32] * GO2_PARKOUR_TEACHER.scan_grid.size,
    }


class ObservationTemplate:
    """
    A valid encoded observation whose timestamp is replaced per message.

    Encoding a 480x640 observation costs ~0.2 ms; patching the timestamp in
    the metadata costs a few microseconds, so a publisher keeps its rate.

    :param height: image rows.
    :param width: image columns.
    :param joint_positions: the 18 joint positions (None: :func:`standing_pose`).
    :param extensions: the extension keys (None: :func:`standing_extensions`;
        a HAL without some keys leaves them out).
    """

    def __init__(
        self,
        height: int = 58,
        width: int = 87,
        joint_positions: np.ndarray | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        """Encode the observation once."""
        rgb = np.full((height, width, 3), 90, dtype=np.uint8)
        depth = np.full((height, width), 1.5, dtype=np.float32)
        confidence = np.ones((height, width), dtype=np.float32)
        pose = standing_pose() if joint_positions is None else joint_positions
        #: The joint positions every observation carries (float32, hardware order).
        self.joint_positions = np.array(pose, dtype=np.float32)
        #: The extension keys every observation carries.
        self.extensions = dict(standing_extensions() if extensions is None else extensions)
        frames = encode_observation(
            _SENTINEL, self.joint_positions, rgb, rgb, depth, confidence, self.extensions
        )
        marker = str(_SENTINEL).encode('ascii')
        prefix, found, suffix = frames[2].partition(marker)
        if not found:
            raise AssertionError('the timestamp placeholder is missing from the metadata')
        self._prefix, self._suffix = prefix, suffix
        self._head = frames[:2]
        self._tail = frames[3:]
        self.height, self.width = height, width
        self.nbytes = sum(len(f) for f in frames)

    def frames(self, timestamp_ns: int) -> list[bytes]:
        """Return the 8 frames of the observation stamped ``timestamp_ns``."""
        meta = self._prefix + str(int(timestamp_ns)).encode('ascii') + self._suffix
        return self._head + [meta] + self._tail

    def metadata(self, timestamp_ns: int) -> dict:
        """Return the parsed metadata of the observation stamped ``timestamp_ns``."""
        return json.loads(self.frames(timestamp_ns)[2])


class ReceivedCommand(NamedTuple):
    """One command as the HAL received it (a view :class:`CommandLog` makes on access)."""

    receive_ns: int
    observation_timestamp_ns: int
    joint_positions: np.ndarray


class CommandLog(Sequence[ReceivedCommand]):
    """
    The commands a :class:`ScriptedHal` received, oldest first, kept out of the collector's reach.

    An in-process HAL keeps every command for the test or benchmark to
    check, and a full garbage collection walks every object the collector
    tracks. A :class:`ReceivedCommand` stays tracked for life (the collector
    untracks only exact tuples of untracked items: a named tuple is a
    subclass), so 60 000 of them (10 minutes at 100 Hz) made one full
    collection of the benchmark process take 18 ms, in the middle of the
    controller's ticks. Each command is therefore kept as a plain tuple of
    two ints and an array, which the collector untracks at its next
    collection, and becomes a :class:`ReceivedCommand` only when read.

    Appended by the HAL thread (one ``list.append``), read by any thread.
    """

    def __init__(self) -> None:
        self._rows: list[tuple[int, int, np.ndarray]] = []

    def append(self, receive_ns: int, stamp_ns: int, joint_positions: np.ndarray) -> None:
        """Add one received command."""
        self._rows.append((receive_ns, stamp_ns, joint_positions))

    def __len__(self) -> int:
        """Return the number of commands received."""
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> ReceivedCommand: ...

    @overload
    def __getitem__(self, index: slice) -> list[ReceivedCommand]: ...

    def __getitem__(self, index: int | slice) -> ReceivedCommand | list[ReceivedCommand]:
        """Return one command, or a list of them for a slice."""
        if isinstance(index, slice):
            return [ReceivedCommand._make(row) for row in self._rows[index]]
        return ReceivedCommand._make(self._rows[index])

    def __iter__(self) -> Iterator[ReceivedCommand]:
        """Iterate over a snapshot (commands received meanwhile are not included)."""
        return map(ReceivedCommand._make, self._rows[:])


class ScriptedHal:
    """
    A HAL server thread: publish a standing robot at ``rate_hz``, collect commands.

    :param observation_endpoint: PUB bind endpoint (``tcp://127.0.0.1:*`` or inproc).
    :param command_endpoint: PULL bind endpoint.
    :param rate_hz: observations per second.
    :param template: the observation to publish (default 58x87 images).
    :param context: ZeroMQ context (inproc: share it with the client);
        None creates one owned (and terminated) by this object.
    """

    def __init__(
        self,
        observation_endpoint: str = 'tcp://127.0.0.1:*',
        command_endpoint: str = 'tcp://127.0.0.1:*',
        rate_hz: float = 100.0,
        template: ObservationTemplate | None = None,
        context: zmq.Context | None = None,
        server_config: HalServerConfig | None = None,
    ) -> None:
        self.period_ns = int(round(1e9 / rate_hz))
        self.template = template if template is not None else ObservationTemplate()
        self._own_context = context is None
        self.context = context if context is not None else zmq.Context()
        base = (
            server_config
            if server_config is not None
            else HalServerConfig(
                observation_endpoint=observation_endpoint, command_endpoint=command_endpoint
            )
        )
        self._server_config = base
        self.server = HalServer(base, context=self.context)
        self.server.bind()
        # Rebinding after a restart uses the ports the first bind resolved.
        self._server_config = replace(
            base,
            observation_endpoint=self.server.bound_observation_endpoint,
            command_endpoint=self.server.bound_command_endpoint,
        )
        # The loop holds _lock for most of every period and CPython's lock is not
        # fair: another thread announces itself in _waiters and the loop lets it in.
        self._lock = threading.Lock()
        self._waiters = 0
        self._waiters_lock = threading.Lock()
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._thread: threading.Thread | None = None
        self._inject: deque[list[bytes]] = deque()
        self._last_stamp = 0
        #: Replaces the wall clock for observation timestamps when set.
        self.stamp_source: Callable[[], int] | None = None
        #: When set, published instead of the good observation (frames for a timestamp).
        self.substitute: Callable[[int], list[bytes]] | None = None
        self.published: dict[int, int] = {}
        self._published_order: deque[int] = deque()
        #: Every good observation published: (timestamp_ns, monotonic publish ns).
        self.publish_log: list[tuple] = []
        self.commands = CommandLog()
        self.injected_count = 0
        self.late_publishes = 0
        self.restarts = 0
        self.command_rejections: dict[str, int] = {}
        self.error: BaseException | None = None

    # -- endpoints and lifecycle -------------------------------------------------------

    @property
    def observation_endpoint(self) -> str:
        """Return the bound observation endpoint."""
        return self._server_config.observation_endpoint

    @property
    def command_endpoint(self) -> str:
        """Return the bound command endpoint."""
        return self._server_config.command_endpoint

    def client_config(self, **kwargs: Any) -> HalClientConfig:
        """Return a HalClientConfig pointing at this HAL."""
        return HalClientConfig(
            observation_endpoint=self.observation_endpoint,
            command_endpoint=self.command_endpoint,
            **kwargs,
        )

    @property
    def inproc(self) -> bool:
        """Return True for inproc endpoints (the client must share :attr:`context`)."""
        return self.observation_endpoint.startswith('inproc://')

    def start(self) -> ScriptedHal:
        """Start publishing from a thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name='scripted-hal', daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread (the sockets stay bound)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None

    def close(self) -> None:
        """
        Stop, close the server and terminate an own context.

        An own context that inproc clients still use is left to them (with a
        warning): terminating it would block until they close.
        """
        self.stop()
        self.server.close()
        if not self._own_context:
            return
        if any(not socket.closed for socket in list(getattr(self.context, '_sockets', ()))):
            _LOG.warning('scripted HAL: inproc clients still use its context; not terminated')
            return
        self.context.term()

    def __enter__(self) -> ScriptedHal:
        """Start on entering a with-block."""
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        """Close on leaving a with-block."""
        self.close()

    # -- faults -------------------------------------------------------------------------

    def pause(self) -> None:
        """Stop publishing (commands are still received)."""
        self._paused.set()

    def resume(self) -> None:
        """Publish again."""
        self._paused.clear()

    def inject(self, frames: Sequence[bytes]) -> None:
        """Publish these raw frames right after the next good observation."""
        self._inject.append(list(frames))  # atomic, as popleft: no lock to wait for

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Hold the loop's lock from another thread, without starving behind the loop."""
        with self._waiters_lock:
            self._waiters += 1
        try:
            with self._lock:
                yield
        finally:
            with self._waiters_lock:
                self._waiters -= 1

    def _let_waiters_in(self) -> None:
        """Before the loop takes its lock again, wait while another thread wants it."""
        while self._waiters and not self._stop.is_set():
            time.sleep(_WAITER_TURN_S)

    def kill(self) -> None:
        """Close the server sockets as a crashing HAL process would (thread keeps running)."""
        with self._exclusive():
            for reason, count in self.server.rejections.items():
                self.command_rejections[reason] = self.command_rejections.get(reason, 0) + count
            self.server.close()

    def restart(self, attempts: int = 50) -> None:
        """Bind a fresh server on the same endpoints (retrying while the port is busy)."""
        with self._exclusive():
            for _ in range(attempts):
                server = HalServer(self._server_config, context=self.context)
                try:
                    server.bind()
                except HalTransportError:
                    server.close()
                    time.sleep(0.02)
                    continue
                self.server = server
                self.restarts += 1
                return
        raise RuntimeError(
            f'could not rebind {self.observation_endpoint} after {attempts} attempts'
        )

    # -- the loop -----------------------------------------------------------------------

    def _next_stamp(self) -> int:
        if self.stamp_source is not None:
            return int(self.stamp_source())
        stamp = max(time.time_ns(), self._last_stamp + 1)
        self._last_stamp = stamp
        return stamp

    def _publish_once(self) -> None:
        stamp = self._next_stamp()
        substitute = self.substitute
        if substitute is not None:
            self.server.publish_frames(substitute(stamp))
            self.injected_count += 1
            return
        frames = self.template.frames(stamp)
        publish_ns = time.monotonic_ns()
        if not self.server.publish_frames(frames):
            return
        self.published[stamp] = publish_ns
        self.publish_log.append((stamp, publish_ns))
        self._published_order.append(stamp)
        if len(self._published_order) > _PUBLISH_MEMORY:
            self.published.pop(self._published_order.popleft(), None)
        while self._inject:
            self.server.publish_frames(self._inject.popleft())
            self.injected_count += 1

    def _receive_until(self, deadline_ns: int) -> None:
        while True:
            remaining_ms = (deadline_ns - time.monotonic_ns()) / 1e6
            if remaining_ms <= 0:
                return
            if remaining_ms < 1.0:
                # zmq_poll has millisecond resolution: finish the wait with a sleep.
                self._take(self.server.recv_command(timeout_ms=0))
                time.sleep(remaining_ms / 1e3)
                continue
            self._take(self.server.recv_command(timeout_ms=int(remaining_ms)))

    def _take(self, command: HalCommand | None) -> None:
        # Received and decoded (invalid commands are counted by the server).
        received = time.monotonic_ns()
        while command is not None:
            self.commands.append(
                received,
                command.observation_timestamp_ns,
                np.array(command.joint_positions, dtype=np.float32),
            )
            command = self.server.recv_command(timeout_ms=0)
            received = time.monotonic_ns()

    def _run(self) -> None:
        next_ns = time.monotonic_ns()
        try:
            while not self._stop.is_set():
                self._let_waiters_in()
                with self._lock:
                    bound = self.server.bound
                    if bound and not self._paused.is_set():
                        self._publish_once()
                next_ns += self.period_ns
                now = time.monotonic_ns()
                if now > next_ns + self.period_ns:
                    self.late_publishes += 1
                    next_ns = now
                self._let_waiters_in()
                with self._lock:
                    # kill() may have closed the server since the publish.
                    bound = self.server.bound
                    if bound:
                        self._receive_until(next_ns)
                if not bound:
                    time.sleep(max(0.0, (next_ns - time.monotonic_ns()) / 1e9))
        except Exception as exc:  # noqa: B902 - kept for the test to report
            self.error = exc
            _LOG.exception('scripted HAL loop failed')

    # -- results ------------------------------------------------------------------------

    def wait_commands(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until at least ``count`` commands arrived; False after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while len(self.commands) < count:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def all_rejections(self) -> dict[str, int]:
        """Return the command rejections of every server incarnation."""
        merged = dict(self.command_rejections)
        for reason, count in self.server.rejections.items():
            merged[reason] = merged.get(reason, 0) + count
        return merged

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
The policy side of the HAL link: latest-only observations in, commands out.

:class:`HalClient` is the public face of the link. Observations: its
:class:`~krabby_parkour_ros.hal.receiver.ObservationReceiver` thread drains
the SUB socket, has the
:class:`~krabby_parkour_ros.hal.intake.ObservationIntake` check every
message and publishes the newest valid one into a one-element slot guarded
by a :class:`threading.Condition`; the control loop takes it with
:meth:`HalClient.poll` (never blocks) or
:meth:`HalClient.wait_for_observation` (event driven).

Commands: the PUSH socket belongs to the threads that call
:meth:`HalClient.put_joint_command` and is guarded by a lock; it sends
without blocking and with ``IMMEDIATE`` set, so a command is either queued
to a connected HAL or dropped and counted, never sent stale later. A HAL
that is connected but stopped reading still buffers what was queued to it;
only the HAL can drop those by their ``timestamp_ns`` (docs/hal.md).
"""

from collections.abc import Callable
import logging
import math
import threading
import time
from types import TracebackType
from typing import Any

import numpy as np
import zmq

from krabby_parkour_ros.hal import security
from krabby_parkour_ros.hal.codec import encode_command
from krabby_parkour_ros.hal.command_guard import CommandGuard, CommandLimits
from krabby_parkour_ros.hal.config import HalClientConfig
from krabby_parkour_ros.hal.errors import CommandError, HalNotConnectedError, HalTransportError
from krabby_parkour_ros.hal.intake import ObservationIntake, RateLimitedLog
from krabby_parkour_ros.hal.messages import HalObservation, JointCommand
from krabby_parkour_ros.hal.receiver import ObservationReceiver

logger = logging.getLogger(__name__)

#: SO_SNDBUF of the command socket: the kernel's minimum (Linux rounds it up to
#: about 4.5 KiB, ~25 commands). Left alone, Linux grows it up to tcp_wmem's
#: maximum (4 MiB: ~20,000 commands) while a HAL does not read.
_COMMAND_SNDBUF = 4096
_JOIN_TIMEOUT_S = 5.0


class HalClient:
    """
    Connect to a HAL server: newest observation in, joint commands out.

    Thread safety: :meth:`poll`, :meth:`wait_for_observation`,
    :meth:`put_joint_command` and :meth:`stats` may be used from any thread;
    :meth:`connect` and :meth:`close` are serialised by a lock.

    :param config: validated settings.
    :param context: ZeroMQ context to use (required for ``inproc://``: the
        server's ``transport_context``); when None the client creates its
        own and terminates it in :meth:`close`.
    :param command_limits: target limits every command is clamped into
        (:class:`~krabby_parkour_ros.hal.command_guard.CommandGuard`); None
        enforces size and finiteness only (a client without a joint map).
    :param realtime_priority: 0: the receiver thread keeps the default
        scheduler; 1..99: it asks for ``SCHED_FIFO`` at this priority, as
        the control thread does (validated by the control settings;
        :mod:`~krabby_parkour_ros.scheduling`).
    """

    def __init__(
        self,
        config: HalClientConfig,
        context: zmq.Context | None = None,
        command_limits: CommandLimits | None = None,
        realtime_priority: int = 0,
    ) -> None:
        self._config = config
        # The last line before the wire (docs/safety.md): every command is
        # checked and clamped here, whatever the caller did.
        self._guard = CommandGuard(command_limits)
        # Decode, order, freshness and rejection counts (docs/hal.md, "Errors and counters").
        self._intake = ObservationIntake(config)
        self._receiver = ObservationReceiver(
            config, self._intake, self._publish, realtime_priority
        )
        self._external_context = context
        self._context: zmq.Context | None = None
        self._push: zmq.Socket | None = None
        self._state_lock = threading.Lock()
        self._push_lock = threading.Lock()
        self._cond = threading.Condition(threading.Lock())
        self._connected = False
        # The latest-only slot and its counter, guarded by _cond.
        self._slot: HalObservation | None = None
        self._slot_seq = 0
        self._returned_seq = 0
        self._superseded_count = 0
        # Command counters and the refusal run of the PUSH (monotonic ns of
        # its first refusal, 0: none), guarded by _push_lock.
        self._commands_sent = 0
        self._commands_dropped = 0
        self._command_stalls = 0
        self._refused_since_ns = 0
        self._stall_counted = False
        self._log = RateLimitedLog(log=logger)
        # Recording tap of the commands (see set_taps).
        self._command_tap: Callable[..., Any] | None = None

    def set_taps(
        self,
        observation: Callable[..., Any] | None = None,
        command: Callable[..., Any] | None = None,
    ) -> None:
        """
        Hand the raw traffic to a recorder (None: stop).

        ``observation(frames, receive_time_ns, receive_wall_time_ns)`` gets
        every received observation message as received (before any check,
        malformed ones included) from the receiver thread;
        ``command(frames, send_time_ns, send_wall_time_ns)`` every command
        sent. Both must return at once (a queue): they run in the data path.
        """
        self._receiver.tap = observation
        self._command_tap = command

    # -- lifecycle ---------------------------------------------------------

    @property
    def config(self) -> HalClientConfig:
        """Return the settings."""
        return self._config

    @property
    def connected(self) -> bool:
        """Return True between :meth:`connect` and :meth:`close`."""
        return self._connected

    def initialize(self) -> None:
        """Connect (idempotent): the deployed Krabby HAL client's name for :meth:`connect`."""
        self.connect()

    def connect(self) -> None:
        """
        Create the sockets and start the receiver thread (idempotent).

        :raises HalTransportError: if a socket cannot be created or connected.
        """
        with self._state_lock:
            if self._connected:
                return
            context = self._external_context
            if context is None:
                context = zmq.Context()
            push: zmq.Socket | None = None
            try:
                push = self._create_push(context)
                with self._cond:
                    self._slot = None
                    self._returned_seq = self._slot_seq
                self._intake.reset()
                self._receiver.start(context)
            except Exception as exc:
                if push is not None:
                    push.close(linger=0)
                if self._external_context is None:
                    context.term()
                if not isinstance(exc, zmq.ZMQError):
                    raise
                raise HalTransportError(
                    'connect: could not connect to observation_endpoint'
                    f' {self._config.observation_endpoint!r} / command_endpoint'
                    f' {self._config.command_endpoint!r}: {exc}'
                ) from exc
            self._context, self._push = context, push
            self._connected = True
            logger.info(
                'HAL client connected: observations %s, commands %s',
                self._config.observation_endpoint,
                self._config.command_endpoint,
            )

    def _create_push(self, context: zmq.Context) -> zmq.Socket:
        """Return the connected command socket (closed again on error)."""
        config = self._config
        push = context.socket(zmq.PUSH)
        try:
            push.setsockopt(zmq.LINGER, 0)
            push.setsockopt(zmq.SNDHWM, config.command_send_hwm)
            push.setsockopt(zmq.IMMEDIATE, 1)
            push.setsockopt(zmq.SNDBUF, _COMMAND_SNDBUF)
            push.setsockopt(zmq.CONNECT_TIMEOUT, max(1, int(config.connect_timeout_s * 1000)))
            if config.curve_enabled:
                security.configure_client_socket(push, *config.curve_keys())
            push.connect(config.command_endpoint)
        except Exception:
            push.close(linger=0)
            raise
        return push

    def close(self) -> None:
        """
        Stop the receiver, close every socket (linger 0) and own context.

        Idempotent; :meth:`connect` may be called again afterwards.
        """
        with self._state_lock:
            if not self._connected:
                return
            self._connected = False
            with self._cond:
                self._cond.notify_all()  # waiters return None
            receiver_stopped = self._receiver.stop(_JOIN_TIMEOUT_S)
            with self._push_lock:
                if self._push is not None:
                    self._push.close(linger=0)
                self._push = None
                self._refused_since_ns = 0
            with self._cond:
                self._slot = None
                self._returned_seq = self._slot_seq
                self._cond.notify_all()
            context, self._context = self._context, None
            if self._external_context is None and context is not None:
                if not receiver_stopped:
                    logger.error(
                        'HAL client receiver did not stop within %.1f s; leaving its context open',
                        _JOIN_TIMEOUT_S,
                    )
                else:
                    context.term()
            logger.info('HAL client closed')

    def __enter__(self) -> 'HalClient':
        self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- observations ------------------------------------------------------

    def _take_locked(self) -> HalObservation | None:
        if self._slot is None or self._slot_seq <= self._returned_seq:
            return None
        self._returned_seq = self._slot_seq
        return self._slot

    def _new_or_closed(self) -> bool:
        return self._slot_seq > self._returned_seq or not self._connected

    def poll(self, timeout_ms: float | None = None) -> HalObservation | None:
        """
        Return the newest valid observation not returned yet, else None.

        Without ``timeout_ms`` (or 0) it never blocks (only a short lock).
        Observations that arrived since the last call and were superseded
        are skipped (``superseded_count``).

        :param timeout_ms: wait up to this long for one (the deployed Krabby
            HAL client's ``poll(timeout_ms=...)``).
        """
        if timeout_ms:
            return self.wait_for_observation(float(timeout_ms) * 1e-3)
        with self._cond:
            return self._take_locked()

    def wait_for_observation(self, timeout_s: float) -> HalObservation | None:
        """
        Block until an observation newer than the last returned one exists.

        :param timeout_s: longest wait in seconds (>= 0).
        :return: the newest such observation (at once if one is waiting), or
            None at the timeout or when the client is closed.
        :raises ValueError: if ``timeout_s`` is negative or not finite.
        """
        if not math.isfinite(timeout_s) or timeout_s < 0:
            raise ValueError(f'timeout_s: expected a finite number >= 0, got {timeout_s!r}')
        with self._cond:
            self._cond.wait_for(self._new_or_closed, timeout_s)
            return self._take_locked()

    def _publish(self, observation: HalObservation, accepted: int) -> None:
        """Put the newest valid observation of a batch into the slot (receiver thread)."""
        with self._cond:
            if self._slot is not None and self._slot_seq > self._returned_seq:
                self._superseded_count += 1
            self._superseded_count += accepted - 1
            self._slot = observation
            self._slot_seq += 1
            self._cond.notify_all()

    def warm_decoder(self) -> bool:
        """
        Decode the last accepted observation again, to warm the caches (no effect otherwise).

        See :meth:`~krabby_parkour_ros.hal.intake.ObservationIntake.warm_decoder`;
        the control loop's warm-up calls it before an expected observation.
        """
        return self._intake.warm_decoder()

    # -- commands ----------------------------------------------------------

    def put_joint_command(
        self, joint_positions: Any, observation_timestamp_ns: int | None = None
    ) -> np.ndarray:
        """
        Send 18 desired joint positions without blocking.

        :param joint_positions: 18 finite numbers (sent as float32), radians;
            clamped into the command limits (counted per joint). Or a
            :class:`~krabby_parkour_ros.hal.messages.JointCommand` (the
            deployed Krabby HAL client's call), which carries its stamp.
        :param observation_timestamp_ns: ``timestamp_ns`` of the observation
            the command answers (required with bare positions).
        :return: the (18,) float32 targets as encoded (after the clamp).
        :raises CommandError: on a wrong length or non-finite / non-numeric
            values; nothing is sent then.
        :raises HalNotConnectedError: if the client is not connected.

        If the HAL is not connected or the PUSH queue is full the command is
        dropped and counted in ``commands_dropped``. A run of refusals longer
        than ``max_command_age_s`` counts one ``command_stalls``: the HAL has
        stopped reading, and what it buffered before will reach it late
        (docs/hal.md, "Commands": a HAL drops commands older than its limit).
        """
        if isinstance(joint_positions, JointCommand):
            if observation_timestamp_ns is None:
                observation_timestamp_ns = joint_positions.answers
            joint_positions = joint_positions.joint_positions
        if observation_timestamp_ns is None:
            raise CommandError(
                'put_joint_command: expected the observation_timestamp_ns the '
                'command answers, got None'
            )
        command = self._guard.enforce(joint_positions)
        frames = encode_command(command, observation_timestamp_ns)
        with self._push_lock:
            if self._push is None:
                raise HalNotConnectedError(
                    'put_joint_command: expected a connected client, got a closed one'
                )
            try:
                self._push.send_multipart(frames, flags=zmq.NOBLOCK)
            except zmq.Again:
                self._commands_dropped += 1
                self._on_command_refused()
                return command
            self._commands_sent += 1
            self._refused_since_ns = 0
        tap = self._command_tap
        if tap is not None:
            tap(frames, time.monotonic_ns(), time.time_ns())
        return command

    def _on_command_refused(self) -> None:
        """Log a dropped command; count a stall once refusals outlast the max age (lock held)."""
        now = time.monotonic_ns()
        if not self._refused_since_ns:
            self._refused_since_ns = now
            self._stall_counted = False
        refused_s = (now - self._refused_since_ns) * 1e-9
        if refused_s <= self._config.max_command_age_s or self._stall_counted:
            self._log.warning(
                'command_dropped',
                'HAL client dropped a command: no connected HAL or its queue is full',
            )
            return
        self._stall_counted = True
        self._command_stalls += 1
        self._log.warning(
            'command_stall',
            f'HAL client: the HAL has not taken a command for {refused_s:.3f} s (max_command_age_s'
            f' {self._config.max_command_age_s:.3f}); commands are dropped until it reads again,'
            ' and the ones it buffered before will reach it late unless it drops commands older'
            ' than its limit (timestamp_ns)',
        )

    # -- counters ----------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """
        Return a snapshot of every counter: the one way to read them.

        A plain dict (JSON-ready), each part read under its own lock:
        ``connected``; the intake's ``received_count``, ``accepted_count``,
        ``rejections`` (by reason), ``rejected_count``, ``last_rejection``,
        ``timestamp_resyncs`` and stream figures (``clock_offset_ms`` ...,
        :meth:`~krabby_parkour_ros.hal.intake.ObservationIntake.stats`); the
        receiver's ``superseded_count``, ``reconnects``,
        ``handshake_failures``, ``receiver_error``; ``commands_sent``,
        ``commands_dropped``, ``command_stalls``; the command guard's
        ``wire_*`` counts (docs/hal.md, "Errors and counters").
        """
        snapshot: dict[str, Any] = {'connected': self._connected}
        snapshot.update(self._intake.stats())
        with self._cond:
            snapshot['superseded_count'] = self._superseded_count
        snapshot.update(self._receiver.stats())
        with self._push_lock:
            snapshot['commands_sent'] = self._commands_sent
            snapshot['commands_dropped'] = self._commands_dropped
            snapshot['command_stalls'] = self._command_stalls
        snapshot.update(self._guard.stats())
        return snapshot

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

Latest-only over tcp needs the stream to keep flowing: the HAL's PUB socket
(SNDHWM 1) drops the *newest* message whenever its pipe is full, while
older messages wait in socket and kernel buffers. A client that only reads
when the control loop asks would act on data hundreds of milliseconds old.
:class:`HalClient` therefore keeps a receiver thread that drains the SUB
socket continuously (zero copy), decodes and checks every message, counts
rejections and publishes the newest valid observation into a one-element
slot guarded by a :class:`threading.Condition`. The control loop takes it
with :meth:`HalClient.poll` (never blocks) or
:meth:`HalClient.wait_for_observation` (event driven).

A thread that waits for an observation receives it itself: the receiver
thread hands the SUB socket over (ownership moves under the condition's
lock; a ZeroMQ socket is used by one thread at a time) and the waiting
thread polls the SUB directly, so an observation reaches the control loop
without a second thread wake-up and GIL hand-off in between. The receiver
takes the socket back when no caller has used it for ``_RECLAIM_S``, so
the stream keeps flowing while the control loop computes or sleeps.

The PUSH socket for commands belongs to the threads that call
:meth:`HalClient.put_joint_command` and is guarded by a lock; it sends
without blocking and with ``IMMEDIATE`` set, so a command is either queued
to a connected HAL or dropped and counted, never sent stale later. A HAL
that is connected but stopped reading still buffers what was queued to it;
only the HAL can drop those by their ``timestamp_ns`` (docs/hal.md).
"""

from collections.abc import Callable
import itertools
import logging
import math
import threading
import time
from types import TracebackType
from typing import Any

import numpy as np
import zmq
from zmq.utils.monitor import recv_monitor_message

from krabby_parkour_ros.hal import security
from krabby_parkour_ros.hal.codec import (
    decode_observation,
    encode_command,
    OBSERVATION_FRAME_COUNT,
)
from krabby_parkour_ros.hal.command_guard import CommandGuard, CommandLimits
from krabby_parkour_ros.hal.config import HalClientConfig
from krabby_parkour_ros.hal.errors import (
    CommandError,
    FrameCountError,
    HalNotConnectedError,
    HalProtocolError,
    HalTransportError,
    TimestampError,
)
from krabby_parkour_ros.hal.freshness import StreamMonitor
from krabby_parkour_ros.hal.messages import HalObservation, JointCommand, OBSERVATION_TOPIC

logger = logging.getLogger(__name__)

#: Receiver poll timeout: a safety net, close() wakes the thread at once.
_POLL_TIMEOUT_MS = 100
#: Messages received in one batch before the control socket is checked again.
_MAX_BATCH = 256
#: Frames of one message kept for checking and recording: the protocol's 8 and one
#: more, so a recording still shows the message was too long. The rest are dropped
#: as they are received (each is freed at once), and the message is rejected.
_KEPT_FRAMES = OBSERVATION_FRAME_COUNT + 1
#: SO_SNDBUF of the command socket: the kernel's minimum (Linux rounds it up to
#: about 4.5 KiB, ~25 commands). Left alone, Linux grows it up to tcp_wmem's
#: maximum (4 MiB: ~20,000 commands) while a HAL does not read.
_COMMAND_SNDBUF = 4096
_JOIN_TIMEOUT_S = 5.0
#: Rejections of one reason are logged at most once per this period.
_LOG_PERIOD_S = 5.0
#: The receiver thread takes the SUB socket back from callers after this
#: long without one (a control loop at >= 100 Hz calls again well before).
_RECLAIM_S = 0.002
_RECLAIM_NS = int(_RECLAIM_S * 1e9)
#: Monitor events of a refused CurveZMQ handshake (wrong server key, unlisted client key).
_HANDSHAKE_FAILURES = (
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
)
#: After a refused handshake the endpoint is reconnected at most this often.
_HANDSHAKE_RETRY_NS = 1_000_000_000
_control_ids = itertools.count()


class _RateLimitedLog:
    """Log the first event of each key, then at most once per period with a count."""

    def __init__(self, period_s: float) -> None:
        self._period_ns = int(period_s * 1e9)
        self._last: dict[str, int] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, key: str, message: str) -> None:
        now = time.monotonic_ns()
        last = self._last.get(key)
        if last is not None and now - last < self._period_ns:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return
        suppressed = self._suppressed.pop(key, 0)
        self._last[key] = now
        logger.warning(
            '%s%s', message, f' ({int(suppressed)} similar suppressed)' if suppressed else ''
        )


class HalClient:
    """
    Connect to a HAL server: newest observation in, joint commands out.

    Thread safety: :meth:`poll`, :meth:`wait_for_observation`,
    :meth:`put_joint_command` and the counters may be used from any thread;
    :meth:`connect` and :meth:`close` are serialised by a lock.

    :param config: validated settings.
    :param context: ZeroMQ context to use (required for ``inproc://``: the
        server's ``transport_context``); when None the client creates its
        own and terminates it in :meth:`close`.
    :param command_limits: target limits every command is clamped into
        (:class:`~krabby_parkour_ros.hal.command_guard.CommandGuard`); None
        enforces size and finiteness only (a client without a joint map).
    """

    def __init__(
        self,
        config: HalClientConfig,
        context: zmq.Context | None = None,
        command_limits: CommandLimits | None = None,
    ) -> None:
        config.validate()
        self._config = config
        # The last line before the wire (docs/safety.md): every command is
        # checked and clamped here, whatever the caller did.
        self._guard = CommandGuard(command_limits)
        self._external_context = context
        self._context: zmq.Context | None = None
        self._push: zmq.Socket | None = None
        self._control: zmq.Socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._state_lock = threading.Lock()
        self._push_lock = threading.Lock()
        lock = threading.Lock()
        # Callers wait on _cond (slot, socket hand-over); the receiver thread
        # waits on _owner_cond, so publishing an observation never wakes it.
        self._cond = threading.Condition(lock)
        self._owner_cond = threading.Condition(lock)
        self._connected = False
        # SUB-socket ownership, guarded by the lock: the receiver thread owns
        # the SUB, its monitor and the control receiver unless _caller_owns.
        self._sub: zmq.Socket | None = None
        self._monitor: zmq.Socket | None = None
        self._control_rx: zmq.Socket | None = None
        self._caller_poller: zmq.Poller | None = None
        self._caller_owns = False
        self._caller_inside = False
        self._caller_left_ns = 0
        self._yield_requested = False
        # Slot state, guarded by _cond.
        self._slot: HalObservation | None = None
        self._slot_seq = 0
        self._returned_seq = 0
        # Timestamp state, touched only by the thread owning the SUB socket.
        self._last_timestamp_ns: int | None = None
        self._resync_run = 0
        self._resync_last_ns: int | None = None
        # Counters: receiver side under _cond, command side under _push_lock.
        self._rejections: dict[str, int] = {}
        self._received_count = 0
        self._accepted_count = 0
        self._superseded_count = 0
        self._timestamp_resyncs = 0
        self._reconnects = 0
        self._last_rejection: str | None = None
        self._receiver_error: str | None = None
        self._commands_sent = 0
        self._commands_dropped = 0
        # Refusal run of the PUSH (monotonic ns of its first refusal, 0: none), under _push_lock.
        self._refused_since_ns = 0
        self._stall_counted = False
        self._command_stalls = 0
        self._handshake_failures = 0
        # Touched only by the thread owning the SUB (with its monitor).
        self._handshake_failed_ns = 0
        self._reconnect_due_ns = 0
        self._log = _RateLimitedLog(_LOG_PERIOD_S)
        # Age, clock offset, interleaved streams and rate (docs/hal.md, "Freshness").
        self._stream = StreamMonitor(config.max_observation_age_ns)
        # Recording taps (see set_taps): called with the raw frames.
        self._observation_tap: Callable[..., Any] | None = None
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
        malformed ones included) from the receiving thread;
        ``command(frames, send_time_ns, send_wall_time_ns)`` every command
        sent. Both must return at once (a queue): they run in the data path.
        """
        self._observation_tap = observation
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
            try:
                sub, monitor, control_rx, control_tx, push = self._create_sockets(context)
            except zmq.ZMQError as exc:
                if self._external_context is None:
                    context.term()
                raise HalTransportError(
                    'connect: could not connect to observation_endpoint'
                    f' {self._config.observation_endpoint!r} / command_endpoint'
                    f' {self._config.command_endpoint!r}: {exc}'
                ) from exc
            poller = zmq.Poller()
            for socket in (sub, monitor, control_rx):
                poller.register(socket, zmq.POLLIN)
            with self._cond:
                self._slot = None
                self._returned_seq = self._slot_seq
                self._receiver_error = None
                self._sub, self._monitor, self._control_rx = sub, monitor, control_rx
                self._caller_poller = poller
                self._caller_owns = self._caller_inside = self._yield_requested = False
            self._last_timestamp_ns = None
            self._resync_run = 0
            self._resync_last_ns = None
            self._stream.reset()
            self._handshake_failed_ns = self._reconnect_due_ns = 0
            self._stop.clear()
            self._context, self._push, self._control = context, push, control_tx
            # Thread.start() is the memory barrier that hands sub, monitor and control_rx
            # over to the receiver thread, which lends them to waiting callers (under
            # the lock) and closes them.
            self._thread = threading.Thread(
                target=self._receive_loop,
                args=(sub, monitor, control_rx),
                name='hal-client-receiver',
                daemon=True,
            )
            self._connected = True
            self._thread.start()
            logger.info(
                'HAL client connected: observations %s, commands %s',
                self._config.observation_endpoint,
                self._config.command_endpoint,
            )

    def _create_sockets(self, context: zmq.Context) -> tuple[zmq.Socket, ...]:
        """Return (sub, monitor, control_rx, control_tx, push); close all on error."""
        created: list[zmq.Socket] = []

        def make(kind: int) -> zmq.Socket:
            socket = context.socket(kind)
            created.append(socket)
            socket.setsockopt(zmq.LINGER, 0)
            return socket

        connect_timeout_ms = max(1, int(self._config.connect_timeout_s * 1000))
        try:
            sub = make(zmq.SUB)
            sub.setsockopt(zmq.RCVHWM, self._config.observation_rcvhwm)
            # Per frame only: docs/hal.md, "Memory bound", has the worst case per message.
            sub.setsockopt(zmq.MAXMSGSIZE, self._config.frame_limit_bytes)
            sub.setsockopt(zmq.CONNECT_TIMEOUT, connect_timeout_ms)
            sub.setsockopt(zmq.SUBSCRIBE, OBSERVATION_TOPIC)
            events = zmq.EVENT_DISCONNECTED
            if self._config.curve_enabled:
                server_key, client_keys = self._config.curve_keys()
                security.configure_client_socket(sub, server_key, client_keys)
                events |= _HANDSHAKE_FAILURES
            monitor = sub.get_monitor_socket(events)
            created.append(monitor)
            sub.connect(self._config.observation_endpoint)
            control_endpoint = f'inproc://krabby-hal-client-control-{int(next(_control_ids))}'
            control_rx = make(zmq.PAIR)
            control_rx.bind(control_endpoint)
            control_tx = make(zmq.PAIR)
            control_tx.connect(control_endpoint)
            push = make(zmq.PUSH)
            push.setsockopt(zmq.SNDHWM, self._config.command_send_hwm)
            push.setsockopt(zmq.IMMEDIATE, 1)
            push.setsockopt(zmq.SNDBUF, _COMMAND_SNDBUF)
            push.setsockopt(zmq.CONNECT_TIMEOUT, connect_timeout_ms)
            if self._config.curve_enabled:
                security.configure_client_socket(push, server_key, client_keys)
            push.connect(self._config.command_endpoint)
        except zmq.ZMQError:
            if len(created) > 1:
                created[0].disable_monitor()
            for socket in created:
                socket.close(linger=0)
            raise
        return sub, monitor, control_rx, control_tx, push

    def close(self) -> None:
        """
        Stop the receiver, close every socket (linger 0) and own context.

        Idempotent; :meth:`connect` may be called again afterwards.
        """
        with self._state_lock:
            if not self._connected:
                return
            self._connected = False
            self._stop.set()
            assert self._control is not None and self._thread is not None
            with self._cond:
                # Wakes whichever thread polls the SUB now (receiver or caller).
                try:
                    self._control.send(b'stop', flags=zmq.NOBLOCK)
                except zmq.ZMQError:
                    pass  # the poll timeout and the stop event end the thread anyway
                self._cond.notify_all()
                self._owner_cond.notify_all()
            self._thread.join(_JOIN_TIMEOUT_S)
            thread_alive = self._thread.is_alive()
            self._thread = None
            with self._push_lock:
                if self._push is not None:
                    self._push.close(linger=0)
                self._push = None
                self._refused_since_ns = 0
            self._control.close(linger=0)
            self._control = None
            with self._cond:
                self._slot = None
                self._returned_seq = self._slot_seq
                self._cond.notify_all()
            context, self._context = self._context, None
            if self._external_context is None and context is not None:
                if thread_alive:
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

        Without ``timeout_ms`` (or 0) it never blocks (only a short lock, and
        a non-blocking drain of the SUB socket when this thread holds it).
        Observations that arrived since the last call and were superseded
        are skipped (``superseded_count``).

        :param timeout_ms: wait up to this long for one (the deployed Krabby
            HAL client's ``poll(timeout_ms=...)``).
        """
        if timeout_ms:
            return self.wait_for_observation(float(timeout_ms) * 1e-3)
        with self._cond:
            if not self._connected or not self._caller_owns or self._caller_inside:
                return self._take_locked()
            self._caller_inside = True
        try:
            self._receive_batch(self._sub)
        except zmq.ZMQError as exc:
            self._on_receive_error(exc)
        finally:
            self._leave()
        with self._cond:
            return self._take_locked()

    def wait_for_observation(self, timeout_s: float) -> HalObservation | None:
        """
        Block until an observation newer than the last returned one exists.

        The waiting thread receives from the SUB socket itself (see the
        module documentation), so the observation is decoded and returned
        in this thread as soon as it arrives.

        :param timeout_s: longest wait in seconds (>= 0).
        :return: the newest such observation (at once if one is waiting), or
            None at the timeout or when the client is closed.
        :raises ValueError: if ``timeout_s`` is negative or not finite.
        """
        if not math.isfinite(timeout_s) or timeout_s < 0:
            raise ValueError(f'timeout_s: expected a finite number >= 0, got {timeout_s!r}')
        deadline = time.monotonic() + timeout_s
        with self._cond:
            if not self._enter_locked(deadline):
                self._cond.wait_for(self._new_or_closed, max(0.0, deadline - time.monotonic()))
                return self._take_locked()
        try:
            self._receive_direct(deadline)
        except zmq.ZMQError as exc:
            self._on_receive_error(exc)
        finally:
            self._leave()
        with self._cond:
            return self._take_locked()

    def _enter_locked(self, deadline: float) -> bool:
        """
        Take the SUB socket for the calling thread (lock held); return True on success.

        False means: use the slot instead (closed, another caller is
        receiving, an observation is already waiting, or the receiver did
        not hand the socket over before the deadline).
        """
        if not self._connected or self._caller_inside or self._sub is None:
            return False
        if not self._caller_owns:
            if self._slot_seq > self._returned_seq:
                return False
            self._yield_requested = True
            try:
                self._control.send(b'yield', flags=zmq.NOBLOCK)
            except zmq.ZMQError:
                pass  # the receiver sees the flag at its next poll timeout
            self._cond.wait_for(
                lambda: self._caller_owns or self._new_or_closed() or self._caller_inside,
                max(0.0, deadline - time.monotonic()),
            )
            if not self._caller_owns or self._caller_inside or not self._connected:
                self._yield_requested = False
                return False
        self._caller_inside = True
        return True

    def _leave(self) -> None:
        """Give the SUB socket back after a caller used it."""
        with self._cond:
            self._caller_inside = False
            self._caller_left_ns = time.monotonic_ns()
            if self._stop.is_set():
                self._owner_cond.notify_all()  # the receiver waits to close the sockets

    def _receive_direct(self, deadline: float) -> None:
        """Receive in the calling thread until a new valid observation or the deadline."""
        sub, monitor, control = self._sub, self._monitor, self._control_rx
        poller = self._caller_poller
        assert sub is not None and monitor is not None and control is not None
        assert poller is not None
        if self._receive_batch(sub):
            return
        with self._cond:
            if self._slot_seq > self._returned_seq:
                return
        while not self._stop.is_set():
            remaining_ms = (deadline - time.monotonic()) * 1e3
            if remaining_ms < 1.0:
                # zmq_poll counts whole milliseconds: sleep the rest, then drain.
                if remaining_ms > 0.0:
                    time.sleep(remaining_ms * 1e-3)
                self._receive_batch(sub)
                return
            events = dict(poller.poll(int(remaining_ms)))
            if control in events:
                self._drain_control(control)
            if monitor in events:
                self._on_monitor_event(sub, monitor)
            self._reconnect_if_due(sub)
            if sub in events and self._receive_batch(sub):
                return

    @staticmethod
    def _drain_control(control: zmq.Socket) -> None:
        # 'stop' is also signalled by the stop event; 'yield' is only a wake-up.
        while True:
            try:
                control.recv(flags=zmq.NOBLOCK)
            except zmq.Again:
                return

    def _on_receive_error(self, exc: zmq.ZMQError) -> None:
        if not self._stop.is_set():
            logger.error('HAL client receive failed: %s', exc)
            with self._cond:
                self._receiver_error = str(exc)

    def _receiver_owns(self) -> bool:
        """
        Return True when the receiver thread may poll the SUB now.

        Hands the socket to a caller that asked for it, takes it back from
        callers once none used it for ``_RECLAIM_S``, and otherwise sleeps
        until then (or until :meth:`close`).
        """
        with self._cond:
            if self._yield_requested:
                self._yield_requested = False
                self._caller_owns = True
                # The caller enters after it wakes: count its idle time from now.
                self._caller_left_ns = time.monotonic_ns()
                self._cond.notify_all()
            if self._caller_owns:
                idle_ns = time.monotonic_ns() - self._caller_left_ns
                if self._caller_inside or idle_ns < _RECLAIM_NS:
                    wait_ns = _RECLAIM_NS if self._caller_inside else _RECLAIM_NS - idle_ns
                    self._owner_cond.wait(wait_ns * 1e-9)
                    return False
                self._caller_owns = False
            return True

    def _receive_loop(self, sub: zmq.Socket, monitor: zmq.Socket, control: zmq.Socket) -> None:
        poller = zmq.Poller()
        poller.register(sub, zmq.POLLIN)
        poller.register(monitor, zmq.POLLIN)
        poller.register(control, zmq.POLLIN)
        try:
            while not self._stop.is_set():
                if not self._receiver_owns():
                    continue
                events = dict(poller.poll(_POLL_TIMEOUT_MS))
                if control in events:
                    self._drain_control(control)
                if sub in events:
                    self._receive_batch(sub)
                if monitor in events:
                    self._on_monitor_event(sub, monitor)
                self._reconnect_if_due(sub)
        except zmq.ZMQError as exc:
            if not self._stop.is_set():
                logger.error('HAL client receiver stopped: %s', exc)
                with self._cond:
                    self._receiver_error = str(exc)
        finally:
            with self._cond:
                # A caller may still be polling the SUB: close() woke it; wait for it.
                self._owner_cond.wait_for(lambda: not self._caller_inside, _JOIN_TIMEOUT_S)
                self._sub = self._monitor = self._control_rx = None
                self._caller_poller = None
                self._caller_owns = False
            try:
                sub.disable_monitor()
            except zmq.ZMQError:
                pass  # the context is being terminated: closing is all that is left
            monitor.close(linger=0)
            sub.close(linger=0)
            control.close(linger=0)
            with self._cond:
                self._cond.notify_all()

    def _on_monitor_event(self, sub: zmq.Socket, monitor: zmq.Socket) -> None:
        """
        React to a SUB monitor event: a dropped connection or a refused handshake.

        libzmq reconnects by itself after an ordinary connection loss, but
        after a protocol error (a frame over ``MAXMSGSIZE``) it abandons the
        endpoint for good; a fresh connect covers both cases. After a refused
        CurveZMQ handshake (wrong ``curve_server_key``, or this client's key
        not authorized by the HAL) the reconnect waits ``_HANDSHAKE_RETRY_NS``
        so a misconfigured link does not spin.
        """
        event = recv_monitor_message(monitor)['event']
        now = time.monotonic_ns()
        if event & _HANDSHAKE_FAILURES:
            self._handshake_failed_ns = now
            with self._cond:
                self._handshake_failures += 1
            self._log.warning(
                'handshake',
                'HAL client: the HAL refused the encrypted handshake on'
                f' {self._config.observation_endpoint}: wrong curve_server_key, or the public key'
                ' of this client is not in curve_authorized_keys of the HAL',
            )
            return
        if self._handshake_failed_ns and now - self._handshake_failed_ns < _HANDSHAKE_RETRY_NS:
            self._reconnect_due_ns = now + _HANDSHAKE_RETRY_NS
            return
        self._reconnect(sub)

    def _reconnect_if_due(self, sub: zmq.Socket) -> None:
        due = self._reconnect_due_ns
        if due and time.monotonic_ns() >= due:
            self._reconnect_due_ns = 0
            self._reconnect(sub)

    def _reconnect(self, sub: zmq.Socket) -> None:
        endpoint = self._config.observation_endpoint
        try:
            sub.disconnect(endpoint)
        except zmq.ZMQError:
            pass  # libzmq already forgot the endpoint (protocol error)
        sub.connect(endpoint)
        with self._cond:
            self._reconnects += 1
        self._log.warning(
            'reconnect',
            f'HAL client: observation connection to {endpoint} dropped (HAL restart, network, or a'
            f' frame over {int(self._config.frame_limit_bytes)} bytes: raise'
            ' max_camera_height/max_camera_width for a larger camera); reconnecting',
        )

    @staticmethod
    def _recv_frames(sub: zmq.Socket) -> tuple[list[zmq.Frame], int]:
        """
        Receive one message frame by frame, keeping the first ``_KEPT_FRAMES``.

        libzmq hands a message over only once all its frames have arrived,
        but a frame received here and not kept is freed at once, so a
        message with too many frames is never held twice.

        :return: (the kept frames, the number of frames of the message).
        :raises zmq.Again: when no message is waiting.
        """
        frame = sub.recv(flags=zmq.NOBLOCK, copy=False)
        frames = [frame]
        count = 1
        while frame.more:
            # The rest of a message is always there once its first frame is.
            frame = sub.recv(flags=zmq.NOBLOCK, copy=False)
            count += 1
            if count <= _KEPT_FRAMES:
                frames.append(frame)
        return frames, count

    def _receive_batch(self, sub: zmq.Socket) -> bool:
        """
        Receive every queued message, check them in order, publish the newest valid.

        :return: True when a valid observation was published.
        """
        newest: HalObservation | None = None
        accepted = 0
        for _ in range(_MAX_BATCH):
            try:
                frames, count = self._recv_frames(sub)
            except zmq.Again:
                break
            receive_ns = time.monotonic_ns()
            tap = self._observation_tap
            if tap is not None:
                tap(frames, receive_ns, time.time_ns())
            if count > OBSERVATION_FRAME_COUNT:
                self._reject(
                    FrameCountError.reason,
                    f'frames: expected {int(OBSERVATION_FRAME_COUNT)} frames, got {int(count)}'
                    f' (frames after the {len(frames)}th dropped unread)',
                )
                continue
            observation = self._check(frames, receive_ns)
            if observation is not None:
                newest = observation
                accepted += 1
        if newest is None:
            return False
        with self._cond:
            if self._slot is not None and self._slot_seq > self._returned_seq:
                self._superseded_count += 1
            self._superseded_count += accepted - 1
            self._slot = newest
            self._slot_seq += 1
            self._cond.notify_all()
        return True

    def _check(self, frames: list[zmq.Frame], receive_time_ns: int) -> HalObservation | None:
        """Decode one message and check its timestamp; count it either way."""
        wall_ns = time.time_ns()
        config = self._config
        try:
            observation = decode_observation(
                frames,
                max_image_bytes=config.frame_limit_bytes,
                receive_time_ns=receive_time_ns,
                height_scan_length=config.expected_height_scan_length,
                foot_count=config.expected_foot_count,
            )
            self._stream.on_decoded(observation.timestamp_ns, wall_ns, receive_time_ns)
            self._stream.check_age(observation.timestamp_ns, wall_ns)
            self._check_timestamp(observation.timestamp_ns)
        except HalProtocolError as exc:
            self._reject(exc.reason, str(exc))
            return None
        except Exception as exc:  # noqa: B902 - a decoder bug must not kill the receiver
            logger.exception('HAL client: unexpected error while decoding an observation')
            self._reject('internal', f'{type(exc).__name__}: {exc}')
            return None
        with self._cond:
            self._received_count += 1
            self._accepted_count += 1
        self._stream.on_accepted(receive_time_ns)
        return observation

    def _check_timestamp(self, timestamp_ns: int) -> None:
        """Reject non-increasing timestamps; re-sync after a run of increasing ones."""
        last = self._last_timestamp_ns
        if not self._config.require_monotonic_timestamps or last is None or timestamp_ns > last:
            self._last_timestamp_ns = timestamp_ns
            self._resync_run = 0
            self._resync_last_ns = None
            return
        if self._resync_last_ns is not None and timestamp_ns > self._resync_last_ns:
            self._resync_run += 1
        else:
            self._resync_run = 1
        self._resync_last_ns = timestamp_ns
        needed = self._config.timestamp_resync_count
        if self._resync_run >= needed:
            logger.warning(
                'HAL client: timestamps went back from %d to a new increasing stream '
                '(%d messages, now %d); re-synchronising (HAL restart?)',
                last,
                self._resync_run,
                timestamp_ns,
            )
            self._last_timestamp_ns = timestamp_ns
            self._resync_run = 0
            self._resync_last_ns = None
            with self._cond:
                self._timestamp_resyncs += 1
            return
        raise TimestampError(
            f'timestamp_ns: expected > {int(last)} (last accepted), got {int(timestamp_ns)}'
            f' ({int(self._resync_run)} of {int(needed)} increasing messages needed to re-sync)'
        )

    def _reject(self, reason: str, message: str) -> None:
        with self._cond:
            self._received_count += 1
            self._rejections[reason] = self._rejections.get(reason, 0) + 1
            self._last_rejection = message
        self._log.warning(reason, f'HAL client rejected an observation ({reason}): {message}')

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

    @property
    def command_guard(self) -> CommandGuard:
        """Return the guard every command passes (limits and clamp counts)."""
        return self._guard

    @property
    def rejections(self) -> dict[str, int]:
        """Return a copy of the rejected-observation counts by reason."""
        with self._cond:
            return dict(self._rejections)

    @property
    def received_count(self) -> int:
        """Return the number of observation messages received, valid or not."""
        return self._received_count

    @property
    def accepted_count(self) -> int:
        """Return the number of valid observations received."""
        return self._accepted_count

    @property
    def superseded_count(self) -> int:
        """Return the number of valid observations replaced before being returned."""
        return self._superseded_count

    @property
    def commands_sent(self) -> int:
        """Return the number of commands queued for the HAL."""
        return self._commands_sent

    @property
    def commands_dropped(self) -> int:
        """Return the number of valid commands dropped (no HAL or full queue)."""
        return self._commands_dropped

    @property
    def last_rejection(self) -> str | None:
        """Return the message of the latest rejection, or None."""
        return self._last_rejection

    @property
    def receiver_error(self) -> str | None:
        """Return why the receiver thread stopped on its own (e.g. context terminated)."""
        return self._receiver_error

    def stats(self) -> dict[str, Any]:
        """Return a consistent snapshot of every counter."""
        with self._cond:
            snapshot: dict[str, Any] = {
                'connected': self._connected,
                'received_count': self._received_count,
                'accepted_count': self._accepted_count,
                'superseded_count': self._superseded_count,
                'rejections': dict(self._rejections),
                'rejected_count': sum(self._rejections.values()),
                'last_rejection': self._last_rejection,
                'timestamp_resyncs': self._timestamp_resyncs,
                'reconnects': self._reconnects,
                'handshake_failures': self._handshake_failures,
                'receiver_error': self._receiver_error,
            }
        snapshot.update(self._stream.stats())
        with self._push_lock:
            snapshot['commands_sent'] = self._commands_sent
            snapshot['commands_dropped'] = self._commands_dropped
            snapshot['command_stalls'] = self._command_stalls
        snapshot.update(self._guard.stats())
        return snapshot

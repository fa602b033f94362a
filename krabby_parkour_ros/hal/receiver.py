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
The HAL client's receiver thread: keep the observation stream flowing.

Latest-only over tcp needs the stream to keep flowing: the HAL's PUB socket
(SNDHWM 1) drops the *newest* message whenever its pipe is full, while
older messages wait in socket and kernel buffers. A client that only reads
when the control loop asks would act on data hundreds of milliseconds old.
:class:`ObservationReceiver` therefore runs a thread that drains the SUB
socket continuously (zero copy), hands every message to the
:class:`~krabby_parkour_ros.hal.intake.ObservationIntake` (decode, checks,
counts) and passes the newest valid one of each batch to a callback (the
client's latest-only slot). It also watches the SUB's monitor and
reconnects after a dropped connection or a refused handshake.

The thread is the only user of the SUB socket, its monitor and the control
receiver: :meth:`ObservationReceiver.start` creates them and hands them over
with ``Thread.start()``, the thread closes them when it ends. An earlier
version lent the SUB to a caller waiting for an observation, to save one
thread wake-up; ``benchmarks/bench_hal.py`` put the saving at 12-51 us of
median wake-up (0.1-0.5 % of a 10 ms period) and none at p99 (docs/hal.md,
"Benchmark"), so every observation now reaches the control loop through the
slot.
"""

from collections.abc import Callable
import itertools
import logging
import threading
import time
from typing import Any

import zmq
from zmq.utils.monitor import recv_monitor_message

from krabby_parkour_ros.hal import security
from krabby_parkour_ros.hal.codec import OBSERVATION_FRAME_COUNT
from krabby_parkour_ros.hal.config import HalClientConfig
from krabby_parkour_ros.hal.intake import ObservationIntake, RateLimitedLog
from krabby_parkour_ros.hal.messages import HalObservation, OBSERVATION_TOPIC
from krabby_parkour_ros.scheduling import DEFAULT, request_fifo

logger = logging.getLogger(__name__)

#: Name of the receiver thread (the HAL tests check none is left running).
THREAD_NAME = 'hal-client-receiver'
#: Receiver poll timeout: a safety net, stop() wakes the thread at once.
_POLL_TIMEOUT_MS = 100
#: Messages received in one batch before the control socket is checked again.
_MAX_BATCH = 256
#: Frames of one message kept for checking and recording: the protocol's 8 and one
#: more, so a recording still shows the message was too long. The rest are dropped
#: as they are received (each is freed at once), and the message is rejected.
_KEPT_FRAMES = OBSERVATION_FRAME_COUNT + 1
#: Monitor events of a refused CurveZMQ handshake (wrong server key, unlisted client key).
_HANDSHAKE_FAILURES = (
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
)
#: After a refused handshake the endpoint is reconnected at most this often.
_HANDSHAKE_RETRY_NS = 1_000_000_000
_control_ids = itertools.count()

#: Called with the newest valid observation of a batch and the number of valid ones in it.
Publish = Callable[[HalObservation, int], None]


def recv_frames(sub: zmq.Socket) -> tuple[list[zmq.Frame], int]:
    """
    Receive one message frame by frame, keeping the first ``_KEPT_FRAMES``.

    libzmq hands a message over only once all its frames have arrived, but a
    frame received here and not kept is freed at once, so a message with too
    many frames is never held twice.

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


class ObservationReceiver:
    """
    Receive, check and publish observations in a thread; reconnect when needed.

    :param config: the client settings (endpoint, socket options, keys).
    :param intake: checks and counts every received message.
    :param publish: takes the newest valid observation of each batch.
    :param realtime_priority: 0: the thread keeps the default scheduler;
        1..99: it asks for ``SCHED_FIFO`` at this priority (it is on the
        control path: :mod:`~krabby_parkour_ros.scheduling`).
    """

    def __init__(
        self,
        config: HalClientConfig,
        intake: ObservationIntake,
        publish: Publish,
        realtime_priority: int = 0,
    ) -> None:
        self._config = config
        self._intake = intake
        self._publish = publish
        self._realtime_priority = realtime_priority
        #: The scheduler the thread got: 'default' or 'fifo:<priority>'.
        self.scheduler = DEFAULT
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._control: zmq.Socket | None = None
        self._lock = threading.Lock()
        # Under _lock: cumulative over start()/stop().
        self._reconnects = 0
        self._handshake_failures = 0
        self._error: str | None = None
        # Touched only by the thread.
        self._handshake_failed_ns = 0
        self._reconnect_due_ns = 0
        self._log = RateLimitedLog(log=logger)
        #: ``tap(frames, receive_time_ns, receive_wall_time_ns)`` of every message (or None).
        self.tap: Callable[..., Any] | None = None

    def start(self, context: zmq.Context) -> None:
        """
        Create the SUB, its monitor and the control pair, and start the thread.

        :raises zmq.ZMQError: if a socket cannot be created or connected.
        :raises HalConfigError: if a CurveZMQ key is invalid.

        Sockets created before an error are closed.
        """
        sub, monitor, control_rx, control_tx = self._create_sockets(context)
        with self._lock:
            self._error = None
        self._handshake_failed_ns = self._reconnect_due_ns = 0
        self._stop.clear()
        self._control = control_tx
        # Thread.start() is the memory barrier that hands sub, monitor and
        # control_rx over to the thread, which alone uses and closes them.
        self._thread = threading.Thread(
            target=self._run, args=(sub, monitor, control_rx), name=THREAD_NAME, daemon=True
        )
        self._thread.start()

    def _create_sockets(self, context: zmq.Context) -> tuple[zmq.Socket, ...]:
        """Return (sub, monitor, control_rx, control_tx); close all on error."""
        config = self._config
        created: list[zmq.Socket] = []

        def make(kind: int) -> zmq.Socket:
            socket = context.socket(kind)
            created.append(socket)
            socket.setsockopt(zmq.LINGER, 0)
            return socket

        try:
            sub = make(zmq.SUB)
            sub.setsockopt(zmq.RCVHWM, config.observation_rcvhwm)
            # Per frame only: docs/hal.md, "Memory bound", has the worst case per message.
            sub.setsockopt(zmq.MAXMSGSIZE, config.frame_limit_bytes)
            sub.setsockopt(zmq.CONNECT_TIMEOUT, max(1, int(config.connect_timeout_s * 1000)))
            sub.setsockopt(zmq.SUBSCRIBE, OBSERVATION_TOPIC)
            events = zmq.EVENT_DISCONNECTED
            if config.curve_enabled:
                security.configure_client_socket(sub, *config.curve_keys())
                events |= _HANDSHAKE_FAILURES
            monitor = sub.get_monitor_socket(events)
            created.append(monitor)
            sub.connect(config.observation_endpoint)
            endpoint = f'inproc://krabby-hal-client-control-{int(next(_control_ids))}'
            control_rx = make(zmq.PAIR)
            control_rx.bind(endpoint)
            control_tx = make(zmq.PAIR)
            control_tx.connect(endpoint)
        except Exception:
            if len(created) > 1:
                created[0].disable_monitor()
            for socket in created:
                socket.close(linger=0)
            raise
        return sub, monitor, control_rx, control_tx

    def stop(self, timeout_s: float) -> bool:
        """
        Wake and join the thread, close the control sender; return True when it ended.

        The thread closes its sockets as it ends; if it did not end within
        ``timeout_s`` the caller must not terminate their context.
        """
        self._stop.set()
        control, self._control = self._control, None
        thread, self._thread = self._thread, None
        if control is not None:
            try:
                control.send(b'stop', flags=zmq.NOBLOCK)  # wakes the thread's poll
            except zmq.ZMQError:
                pass  # the poll timeout and the stop event end the thread anyway
        if thread is not None:
            thread.join(timeout_s)
        if control is not None:
            control.close(linger=0)
        return thread is None or not thread.is_alive()

    def stats(self) -> dict[str, Any]:
        """
        Return ``reconnects``, ``handshake_failures``, ``receiver_error``.

        Also ``receiver_scheduler``: ``'default'`` or ``'fifo:<priority>'``.
        """
        with self._lock:
            return {
                'reconnects': self._reconnects,
                'handshake_failures': self._handshake_failures,
                'receiver_error': self._error,
                'receiver_scheduler': self.scheduler,
            }

    # -- the thread ----------------------------------------------------------

    def _run(self, sub: zmq.Socket, monitor: zmq.Socket, control: zmq.Socket) -> None:
        self.scheduler = request_fifo(self._realtime_priority, 'HAL client receiver')
        poller = zmq.Poller()
        for socket in (sub, monitor, control):
            poller.register(socket, zmq.POLLIN)
        try:
            while not self._stop.is_set():
                events = dict(poller.poll(_POLL_TIMEOUT_MS))
                if control in events:
                    _drain(control)
                if sub in events:
                    self._receive_batch(sub)
                if monitor in events:
                    self._on_monitor_event(sub, monitor)
                self._reconnect_if_due(sub)
        except zmq.ZMQError as exc:
            if not self._stop.is_set():
                logger.error('HAL client receiver stopped: %s', exc)
                with self._lock:
                    self._error = str(exc)
        finally:
            try:
                sub.disable_monitor()
            except zmq.ZMQError:
                pass  # the context is being terminated: closing is all that is left
            for socket in (monitor, sub, control):
                socket.close(linger=0)

    def _receive_batch(self, sub: zmq.Socket) -> None:
        """Receive every queued message, check them in order, publish the newest valid."""
        newest: HalObservation | None = None
        accepted = 0
        for _ in range(_MAX_BATCH):
            try:
                frames, count = recv_frames(sub)
            except zmq.Again:
                break
            receive_ns = time.monotonic_ns()
            wall_ns = time.time_ns()
            tap = self.tap
            if tap is not None:
                tap(frames, receive_ns, wall_ns)
            observation = self._intake.check(frames, receive_ns, count, wall_ns)
            if observation is not None:
                newest = observation
                accepted += 1
        if newest is not None:
            self._publish(newest, accepted)
            # Counted once in the slot: a test that waits for received_count can poll() it.
            self._intake.record_accepted(accepted)

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
            with self._lock:
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
        with self._lock:
            self._reconnects += 1
        self._log.warning(
            'reconnect',
            f'HAL client: observation connection to {endpoint} dropped (HAL restart, network, or a'
            f' frame over {int(self._config.frame_limit_bytes)} bytes: raise'
            ' max_camera_height/max_camera_width for a larger camera); reconnecting',
        )


def _drain(control: zmq.Socket) -> None:
    # 'stop' is also signalled by the stop event: the message is only a wake-up.
    while True:
        try:
            control.recv(flags=zmq.NOBLOCK)
        except zmq.Again:
            return

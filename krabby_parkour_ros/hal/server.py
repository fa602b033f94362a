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
The HAL side of the link: publish observations, receive commands.

:class:`HalServer` is what a simulator or a test harness uses to stand in
for the Krabby HAL. It is configured like the deployed HAL: a PUB socket
(SNDHWM 1) that binds for observations and a PULL socket (RCVHWM 5) that
binds for commands. Each socket must be used by one thread at a time
(publishing and receiving may happen in two different threads).

With CurveZMQ configured (``curve_secret_key``), both sockets encrypt and
authenticate, and a ZAP authenticator thread on the server's context admits
only the listed client keys (see :mod:`krabby_parkour_ros.hal.security`).
"""

from collections.abc import Sequence
import logging
import time
from types import TracebackType
from typing import Any

import zmq

from krabby_parkour_ros.hal import security
from krabby_parkour_ros.hal.codec import decode_command, encode_observation, Frame
from krabby_parkour_ros.hal.config import HalServerConfig
from krabby_parkour_ros.hal.errors import HalNotConnectedError, HalProtocolError, HalTransportError
from krabby_parkour_ros.hal.messages import HalCommand

logger = logging.getLogger(__name__)


class HalServer:
    """
    Bind the HAL sockets: PUB for observations, PULL for commands.

    :param config: validated settings.
    :param context: ZeroMQ context to use; when None the server creates
        its own (exposed as :attr:`transport_context` for ``inproc://``
        clients) and terminates it in :meth:`close`. Close inproc clients
        before the server: a context with open sockets cannot terminate.
    """

    def __init__(self, config: HalServerConfig, context: zmq.Context | None = None) -> None:
        self._config = config
        self._external_context = context
        self._context: zmq.Context | None = context
        self._pub: zmq.Socket | None = None
        self._pull: zmq.Socket | None = None
        self._bound_observation: str | None = None
        self._bound_command: str | None = None
        self._published_count = 0
        self._publish_dropped = 0
        self._commands_received = 0
        self._rejections: dict[str, int] = {}
        self._last_rejection: str | None = None
        self._authenticator: security.CurveAuthenticator | None = None
        self._curve_denied = 0
        age = config.max_command_age_s
        self._max_command_age_ns = int(age * 1e9) if age else 0
        self._stale_logged_ns = 0

    @property
    def config(self) -> HalServerConfig:
        """Return the settings."""
        return self._config

    @property
    def transport_context(self) -> zmq.Context:
        """Return the ZeroMQ context (inproc clients must share it); created on demand."""
        if self._context is None:
            self._context = zmq.Context()
        return self._context

    def get_transport_context(self) -> zmq.Context:
        """Return :attr:`transport_context` (the deployed Krabby HAL server's name)."""
        return self.transport_context

    @property
    def bound(self) -> bool:
        """Return True between :meth:`bind` and :meth:`close`."""
        return self._pub is not None

    @property
    def bound_observation_endpoint(self) -> str:
        """Return the resolved observation endpoint (real port for ``*`` or 0)."""
        if self._bound_observation is None:
            raise HalNotConnectedError('bound_observation_endpoint: expected a bound server')
        return self._bound_observation

    @property
    def bound_command_endpoint(self) -> str:
        """Return the resolved command endpoint (real port for ``*`` or 0)."""
        if self._bound_command is None:
            raise HalNotConnectedError('bound_command_endpoint: expected a bound server')
        return self._bound_command

    def bind(self) -> None:
        """
        Create and bind both sockets (idempotent).

        :raises HalTransportError: if an endpoint cannot be bound (e.g. in use).
        """
        if self._pub is not None:
            return
        context = self.transport_context
        server_keys = self._start_authenticator(context)
        created: list[zmq.Socket] = []
        field = 'observation_endpoint'
        try:
            pub = context.socket(zmq.PUB)
            created.append(pub)
            pub.setsockopt(zmq.LINGER, 0)
            pub.setsockopt(zmq.SNDHWM, self._config.observation_sndhwm)
            if server_keys is not None:
                security.configure_server_socket(pub, server_keys)
            pub.bind(self._config.observation_endpoint)
            field = 'command_endpoint'
            pull = context.socket(zmq.PULL)
            created.append(pull)
            pull.setsockopt(zmq.LINGER, 0)
            pull.setsockopt(zmq.RCVHWM, self._config.command_rcvhwm)
            pull.setsockopt(zmq.MAXMSGSIZE, self._config.max_command_bytes)
            if self._config.command_rcvbuf > 0:
                pull.setsockopt(zmq.RCVBUF, self._config.command_rcvbuf)
            if server_keys is not None:
                security.configure_server_socket(pull, server_keys)
            pull.bind(self._config.command_endpoint)
        except zmq.ZMQError as exc:
            for socket in created:
                socket.close(linger=0)
            self._stop_authenticator()
            self._terminate_own_context()
            raise HalTransportError(
                f'{field}: could not bind {getattr(self._config, field)!r}: {exc}'
            ) from exc
        self._pub, self._pull = pub, pull
        self._bound_observation = pub.getsockopt_string(zmq.LAST_ENDPOINT)
        self._bound_command = pull.getsockopt_string(zmq.LAST_ENDPOINT)
        logger.info(
            'HAL server bound: observations %s, commands %s',
            self._bound_observation,
            self._bound_command,
        )

    def _start_authenticator(self, context: zmq.Context) -> tuple[bytes, bytes] | None:
        """Start the ZAP authenticator when CurveZMQ is configured; return the key pair."""
        if not self._config.curve_enabled:
            return None
        server_keys, clients = self._config.curve_keys()
        authenticator = security.CurveAuthenticator(context, clients)
        try:
            authenticator.start()
        except zmq.ZMQError as exc:
            authenticator.stop()
            self._terminate_own_context()
            raise HalTransportError(
                f'curve_secret_key: could not start the ZAP authenticator ({exc}); a context holds'
                ' one authenticator: give each encrypted HAL server its own context'
            ) from exc
        self._authenticator = authenticator
        logger.info('HAL server: CurveZMQ on, %d authorized client key(s)', len(clients))
        return server_keys

    def _stop_authenticator(self) -> None:
        authenticator, self._authenticator = self._authenticator, None
        if authenticator is not None:
            self._curve_denied += authenticator.denied
            authenticator.stop()

    def _terminate_own_context(self) -> None:
        context = self._context
        if self._external_context is not None or context is None:
            return
        self._context = None
        if any(not s.closed for s in list(getattr(context, '_sockets', ()))):
            # term() would block until those (client) sockets close.
            logger.warning(
                'HAL server: sockets of other users are still open on its '
                'transport context; close inproc clients before the server'
            )
            return
        context.term()

    def close(self) -> None:
        """Close both sockets (linger 0) and the own context; idempotent."""
        for socket in (self._pub, self._pull):
            if socket is not None:
                socket.close(linger=0)
        self._pub = self._pull = None
        self._bound_observation = self._bound_command = None
        self._stop_authenticator()
        self._terminate_own_context()

    def __enter__(self) -> 'HalServer':
        self.bind()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _require(self, socket: zmq.Socket | None, operation: str) -> zmq.Socket:
        if socket is None:
            raise HalNotConnectedError(f'{operation}: expected a bound server, got a closed one')
        return socket

    def publish_frames(self, frames: Sequence[Frame]) -> bool:
        """
        Publish raw frames (any content: tests use it for malformed messages).

        :return: False if the socket refused the message (counted); a PUB
            socket drops silently per subscriber at its HWM, which the
            sender cannot see.
        """
        pub = self._require(self._pub, 'publish_frames')
        try:
            pub.send_multipart(list(frames), flags=zmq.NOBLOCK, copy=False)
        except zmq.Again:
            self._publish_dropped += 1
            return False
        self._published_count += 1
        return True

    def publish_observation(
        self,
        timestamp_ns: int,
        joint_positions: Any,
        rgb_camera_1: Any,
        rgb_camera_2: Any,
        depth_map: Any,
        confidence_map: Any,
        extensions: Any | None = None,
    ) -> bool:
        """
        Encode (see :func:`~krabby_parkour_ros.hal.codec.encode_observation`) and publish.

        :raises HalProtocolError: a subclass if an input would be malformed.
        """
        return self.publish_frames(
            encode_observation(
                timestamp_ns,
                joint_positions,
                rgb_camera_1,
                rgb_camera_2,
                depth_map,
                confidence_map,
                extensions,
            )
        )

    def _decode(self, frames: list[zmq.Frame]) -> HalCommand | None:
        try:
            command = decode_command(frames)
        except HalProtocolError as exc:
            self._rejections[exc.reason] = self._rejections.get(exc.reason, 0) + 1
            self._last_rejection = str(exc)
            logger.warning('HAL server rejected a command (%s): %s', exc.reason, exc)
            return None
        if self._max_command_age_ns:
            age_ns = time.time_ns() - command.timestamp_ns
            if age_ns > self._max_command_age_ns:
                self._reject_stale(age_ns)
                return None
        self._commands_received += 1
        return command

    def _reject_stale(self, age_ns: int) -> None:
        # A stalled reader finds hundreds of these at once: log once a second.
        self._rejections['stale'] = self._rejections.get('stale', 0) + 1
        self._last_rejection = (
            f'timestamp_ns: expected at most {self._max_command_age_ns * 1e-09:.3f} s old, got'
            f' {age_ns * 1e-09:.3f} s'
        )
        now = time.monotonic_ns()
        if now - self._stale_logged_ns >= 1_000_000_000:
            self._stale_logged_ns = now
            logger.warning(
                'HAL server dropped a stale command (%d so far): %s',
                self._rejections['stale'],
                self._last_rejection,
            )

    def recv_command(self, timeout_ms: int = 0) -> HalCommand | None:
        """
        Receive one command, waiting up to ``timeout_ms``.

        :return: the command, or None at the timeout or when the message was
            invalid or older than ``max_command_age_s`` (counted in
            :attr:`rejections`; never raises for it).
        """
        pull = self._require(self._pull, 'recv_command')
        if timeout_ms < 0:
            raise ValueError(f'timeout_ms: expected >= 0, got {int(timeout_ms)}')
        if timeout_ms > 0 and not pull.poll(timeout_ms, zmq.POLLIN):
            return None
        try:
            frames = pull.recv_multipart(flags=zmq.NOBLOCK, copy=False)
        except zmq.Again:
            return None
        return self._decode(frames)

    def drain_commands(self) -> list[HalCommand]:
        """Return every valid, fresh command queued now, oldest first (others counted)."""
        pull = self._require(self._pull, 'drain_commands')
        commands: list[HalCommand] = []
        while True:
            try:
                frames = pull.recv_multipart(flags=zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return commands
            command = self._decode(frames)
            if command is not None:
                commands.append(command)

    @property
    def published_count(self) -> int:
        """Return the number of messages handed to the PUB socket."""
        return self._published_count

    @property
    def publish_dropped(self) -> int:
        """Return the number of messages the PUB socket refused."""
        return self._publish_dropped

    @property
    def commands_received(self) -> int:
        """Return the number of valid commands received."""
        return self._commands_received

    @property
    def rejections(self) -> dict[str, int]:
        """Return a copy of the rejected-command counts by reason."""
        return dict(self._rejections)

    @property
    def last_rejection(self) -> str | None:
        """Return the message of the latest command rejection, or None."""
        return self._last_rejection

    @property
    def curve_denied(self) -> int:
        """Return how many client handshakes were refused for an unlisted CurveZMQ key."""
        current = self._authenticator.denied if self._authenticator is not None else 0
        return self._curve_denied + current

    def stats(self) -> dict[str, Any]:
        """Return every counter."""
        return {
            'bound': self.bound,
            'curve': self._config.curve_enabled,
            'curve_denied': self.curve_denied,
            'published_count': self._published_count,
            'publish_dropped': self._publish_dropped,
            'commands_received': self._commands_received,
            'rejections': dict(self._rejections),
            'last_rejection': self._last_rejection,
        }

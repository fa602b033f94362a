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
Configuration of the HAL client and server (frozen, validated dataclasses).

Both validate on construction (and on :func:`dataclasses.replace`) and
expose :meth:`validate`, which raises
:class:`~krabby_parkour_ros.hal.errors.HalConfigError` naming the field,
the expected and the actual value. Endpoints are ``inproc://name`` or
``tcp://host:port``; the tcp defaults are loopback, so nothing is exposed
to the network unless a wildcard host is configured explicitly.
"""

from dataclasses import dataclass
import math
import re
from typing import Any

from krabby_parkour_ros.hal import security
from krabby_parkour_ros.hal.errors import HalConfigError

DEFAULT_OBSERVATION_ENDPOINT = 'tcp://127.0.0.1:6001'
DEFAULT_COMMAND_ENDPOINT = 'tcp://127.0.0.1:6002'
#: 0: derive the per-frame limit from the camera size (HalClientConfig.frame_limit_bytes).
DEFAULT_MAX_MESSAGE_BYTES = 0
#: Camera size of the deployed Isaac Sim HAL; a HAL with larger images needs larger values.
DEFAULT_MAX_CAMERA_HEIGHT = 480
DEFAULT_MAX_CAMERA_WIDTH = 640
#: Largest legal frame per camera pixel: an RGB image may be float32 (3 channels x 4 bytes).
MAX_FRAME_BYTES_PER_PIXEL = 12
#: Largest legal metadata frame (the decoder's bound, codec.MAX_METADATA_BYTES).
METADATA_FRAME_BOUND = 1 << 20
#: Added to the largest legal frame, so a legal frame is never refused by rounding.
FRAME_LIMIT_MARGIN = 64 * 1024
#: Commands older than this (own ``timestamp_ns``) must not be acted on.
DEFAULT_MAX_COMMAND_AGE_S = 0.1

#: Inclusive ranges of the numeric client settings, the one source of truth:
#: :class:`HalClientConfig` checks them and the node's ROS parameter
#: descriptors (``hal.*``) are built from them.
CLIENT_RANGES: dict[str, tuple[int | float, int | float]] = {
    'max_message_bytes': (0, 1 << 30),  # bytes; 0: derived from the camera size
    'max_camera_height': (1, 16384),  # rows
    'max_camera_width': (1, 16384),  # columns
    'max_command_age_s': (0.001, 10.0),  # s
    'max_observation_age_s': (0.0, 3600.0),  # s; 0 or None: off
}

_INPROC = re.compile(r'inproc://[^\s]+')
_TCP = re.compile(r'tcp://(?P<host>\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]]+):(?P<port>\*|[0-9]{1,5})')


def validate_endpoint(field: str, endpoint: Any, bind: bool) -> None:
    """
    Check one ZeroMQ endpoint.

    :param field: configuration field name, for the error message.
    :param endpoint: ``inproc://name`` or ``tcp://host:port``.
    :param bind: True for a server (binding) endpoint, which may use the
        wildcard host ``*`` and port ``*`` or 0 (any free port); a client
        endpoint names a concrete host and a port in 1..65535.
    :raises HalConfigError: if the endpoint is not valid for its side.
    """
    if not isinstance(endpoint, str):
        raise HalConfigError(f'{field}: expected an endpoint string, got {endpoint!r}')
    if _INPROC.fullmatch(endpoint):
        return
    match = _TCP.fullmatch(endpoint)
    if match is None:
        raise HalConfigError(
            f"{field}: expected 'inproc://name' or 'tcp://host:port', got {endpoint!r}"
        )
    host, port = match.group('host'), match.group('port')
    if not bind and host == '*':
        raise HalConfigError(
            f'{field}: expected a concrete host to connect to, got wildcard {endpoint!r}'
        )
    lowest = 0 if bind else 1
    or_any = " or '*'" if bind else ''
    if port == '*' and not bind or port != '*' and not lowest <= int(port) <= 65535:
        raise HalConfigError(
            f'{field}: expected a port in {lowest}..65535{or_any}, got {endpoint!r}'
        )


def _require_int(field: str, value: Any, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise HalConfigError(f'{field}: expected an integer >= {int(minimum)}, got {value!r}')


def _require_in_range(field: str, value: Any, *, integer: bool) -> None:
    low, high = CLIENT_RANGES[field]
    kind = 'an integer' if integer else 'a finite number'
    if (
        isinstance(value, bool)
        or not isinstance(value, int if integer else (int, float))
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        raise HalConfigError(f'{field}: expected {kind} in [{low}, {high}], got {value!r}')


def _require_bool(field: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise HalConfigError(f'{field}: expected a bool, got {value!r}')


def _require_positive_float(field: str, value: Any) -> None:
    if (
        not isinstance(value, (int, float))
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise HalConfigError(f'{field}: expected a finite number > 0, got {value!r}')


def _require_optional_int(field: str, value: Any, minimum: int) -> None:
    if value is not None:
        _require_int(field, value, minimum)


def _require_optional_age(field: str, value: Any) -> None:
    if value is not None and (
        not isinstance(value, (int, float))
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value < 0
    ):
        raise HalConfigError(f'{field}: expected None or a finite number >= 0, got {value!r}')


def _require_str(field: str, value: Any) -> None:
    if not isinstance(value, str):
        raise HalConfigError(f'{field}: expected a string, got {value!r}')


def _validate_endpoint_pair(observation: str, command: str, bind: bool) -> None:
    """Check both endpoints of a HAL link and that they differ."""
    validate_endpoint('observation_endpoint', observation, bind=bind)
    validate_endpoint('command_endpoint', command, bind=bind)
    _require_distinct(observation, command)


def _require_tcp_for_curve(field: str, endpoints: tuple[str, str]) -> None:
    # inproc:// carries no security handshake: keys there would protect nothing.
    for endpoint in endpoints:
        if not endpoint.startswith('tcp://'):
            raise HalConfigError(f'{field}: CurveZMQ needs tcp:// endpoints, got {endpoint!r}')


def _require_distinct(first: str, second: str) -> None:
    # Two binds to 'any free port' resolve to different ports.
    if first == second and not first.endswith((':*', ':0')):
        raise HalConfigError(
            'command_endpoint: expected an endpoint other than observation_endpoint, got'
            f' {first!r} for both'
        )


@dataclass(frozen=True)
class HalClientConfig:
    """
    Settings of :class:`~krabby_parkour_ros.hal.client.HalClient`.

    :param observation_endpoint: where the SUB socket connects.
    :param command_endpoint: where the PUSH socket connects.
    :param max_message_bytes: explicit per-frame limit in bytes; 0
        (default): derived from the camera size (:attr:`frame_limit_bytes`).
        The limit is set as ZeroMQ ``MAXMSGSIZE`` on the SUB (a tcp peer
        sending a larger frame is disconnected before the frame is buffered)
        and used as the decoder's per-image limit (``'oversize'``
        rejections, also over inproc).
    :param max_camera_height: largest camera height (rows) the HAL may send.
    :param max_camera_width: largest camera width (columns) the HAL may send.
    :param max_command_age_s: a command is never sent later than this after
        it was stamped; the client's own queue is bounded accordingly, and a
        HAL must drop commands older than its own limit (docs/hal.md).
    :param command_send_hwm: SNDHWM of the PUSH socket (protocol: 5).
    :param require_monotonic_timestamps: reject observations whose
        ``timestamp_ns`` is not newer than the last accepted one.
    :param timestamp_resync_count: after this many consecutive backwards
        observations that increase among themselves (a HAL restart with an
        earlier clock), accept the new stream instead of rejecting forever.
    :param connect_timeout_s: tcp connect timeout (ZeroMQ
        ``CONNECT_TIMEOUT``); a reconnect follows automatically.
    :param observation_rcvhwm: RCVHWM of the SUB socket; bounds how many
        complete observations the client buffers (memory) while its
        receiver thread drains continuously.
    :param curve_server_key: the HAL's CurveZMQ public key (Z85 string or
        ``.key`` certificate file); empty (default): no encryption.
    :param curve_secret_key: this client's CurveZMQ secret key (Z85 string
        or ``.key_secret`` certificate file); required with
        ``curve_server_key``. Its public key must be listed by the HAL.
    :param expected_height_scan_length: required length of the
        ``height_scan`` extension key (the policy card's scan points); None:
        protocol-level checks only. Set by the control runtime.
    :param expected_foot_count: required length of ``foot_contacts`` (the
        joint map's feet); None: protocol-level checks only.
    :param max_observation_age_s: reject (``too_old`` / ``from_future``) an
        observation whose ``timestamp_ns`` is further than this from the
        local wall clock at reception; None or 0: off. Only for HALs whose
        clock is synchronised with this host (chrony/PTP).
    """

    observation_endpoint: str = DEFAULT_OBSERVATION_ENDPOINT
    command_endpoint: str = DEFAULT_COMMAND_ENDPOINT
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    max_camera_height: int = DEFAULT_MAX_CAMERA_HEIGHT
    max_camera_width: int = DEFAULT_MAX_CAMERA_WIDTH
    max_command_age_s: float = DEFAULT_MAX_COMMAND_AGE_S
    command_send_hwm: int = 5
    require_monotonic_timestamps: bool = True
    timestamp_resync_count: int = 20
    connect_timeout_s: float = 1.0
    observation_rcvhwm: int = 8
    curve_server_key: str = ''
    curve_secret_key: str = ''
    expected_height_scan_length: int | None = None
    expected_foot_count: int | None = None
    max_observation_age_s: float | None = None

    def __post_init__(self) -> None:
        self._validate()

    @property
    def curve_enabled(self) -> bool:
        """Return True when the link is encrypted (CurveZMQ keys configured)."""
        return bool(self.curve_server_key)

    @property
    def frame_limit_bytes(self) -> int:
        """
        Return the largest accepted frame in bytes (ZeroMQ ``MAXMSGSIZE``).

        ``max_message_bytes`` when set, else the largest legal frame of the
        configured camera size (a float32 RGB image, or the metadata bound
        when larger) plus :data:`FRAME_LIMIT_MARGIN`.
        """
        if self.max_message_bytes:
            return self.max_message_bytes
        pixels = self.max_camera_height * self.max_camera_width
        return max(MAX_FRAME_BYTES_PER_PIXEL * pixels, METADATA_FRAME_BOUND) + FRAME_LIMIT_MARGIN

    @property
    def max_observation_age_ns(self) -> int | None:
        """Return the maximum observation age in nanoseconds, or None when off."""
        if not self.max_observation_age_s:
            return None
        return int(self.max_observation_age_s * 1e9)

    def _validate(self) -> None:
        """
        Check every field.

        :raises HalConfigError: naming the first invalid field.
        """
        _validate_endpoint_pair(self.observation_endpoint, self.command_endpoint, bind=False)
        _require_in_range('max_message_bytes', self.max_message_bytes, integer=True)
        if 0 < self.max_message_bytes < 1024:
            raise HalConfigError(
                'max_message_bytes: expected 0 (derive from the camera size) or an integer >='
                f' 1024, got {self.max_message_bytes!r}'
            )
        _require_in_range('max_camera_height', self.max_camera_height, integer=True)
        _require_in_range('max_camera_width', self.max_camera_width, integer=True)
        _require_in_range('max_command_age_s', self.max_command_age_s, integer=False)
        _require_int('command_send_hwm', self.command_send_hwm, 1)
        _require_bool('require_monotonic_timestamps', self.require_monotonic_timestamps)
        _require_int('timestamp_resync_count', self.timestamp_resync_count, 1)
        _require_positive_float('connect_timeout_s', self.connect_timeout_s)
        _require_int('observation_rcvhwm', self.observation_rcvhwm, 1)
        _require_str('curve_server_key', self.curve_server_key)
        _require_str('curve_secret_key', self.curve_secret_key)
        _require_optional_int('expected_height_scan_length', self.expected_height_scan_length, 1)
        _require_optional_int('expected_foot_count', self.expected_foot_count, 1)
        if self.max_observation_age_s is not None:
            _require_in_range('max_observation_age_s', self.max_observation_age_s, integer=False)
        if bool(self.curve_server_key) != bool(self.curve_secret_key):
            raise HalConfigError(
                'curve_secret_key: expected both curve_server_key and curve_secret_key or'
                ' neither, got only'
                f' {"curve_server_key" if self.curve_server_key else "curve_secret_key"}'
            )
        if self.curve_enabled:
            security.require_curve('curve_server_key')
            _require_tcp_for_curve(
                'curve_server_key', (self.observation_endpoint, self.command_endpoint)
            )
            self.curve_keys()

    def curve_keys(self) -> tuple[bytes, tuple[bytes, bytes]]:
        """
        Return (server public key, (client public, client secret)) as Z85 bytes.

        :raises HalConfigError: if a key or certificate file is invalid.
        """
        return (
            security.public_key('curve_server_key', self.curve_server_key),
            security.key_pair('curve_secret_key', self.curve_secret_key),
        )


@dataclass(frozen=True)
class HalServerConfig:
    """
    Settings of :class:`~krabby_parkour_ros.hal.server.HalServer`.

    :param observation_endpoint: where the PUB socket binds; loopback by
        default, ``tcp://*:6001`` exposes it on every interface.
    :param command_endpoint: where the PULL socket binds.
    :param observation_sndhwm: SNDHWM of the PUB (deployed HAL: 1).
    :param command_rcvhwm: RCVHWM of the PULL (deployed HAL: 5).
    :param max_command_bytes: ZeroMQ ``MAXMSGSIZE`` of the PULL; a command
        is about 170 bytes.
    :param command_rcvbuf: SO_RCVBUF of the PULL in bytes (0: the OS
        default, which Linux grows to megabytes); small, so a client sees
        back-pressure soon when the HAL stops reading.
    :param max_command_age_s: drop (``stale``) a received command whose
        ``timestamp_ns`` is older than this by the local wall clock; None or
        0 (default, as the deployed HAL): off. Needs synchronised clocks
        across machines.
    :param curve_secret_key: the HAL's CurveZMQ secret key (Z85 string or
        ``.key_secret`` certificate file); empty (default): no encryption.
    :param curve_authorized_keys: public keys of the clients admitted when
        ``curve_secret_key`` is set (Z85 strings, ``.key`` files or
        directories of them); every other client is refused.
    """

    observation_endpoint: str = DEFAULT_OBSERVATION_ENDPOINT
    command_endpoint: str = DEFAULT_COMMAND_ENDPOINT
    observation_sndhwm: int = 1
    command_rcvhwm: int = 5
    max_command_bytes: int = 65536
    command_rcvbuf: int = 4096
    max_command_age_s: float | None = None
    curve_secret_key: str = ''
    curve_authorized_keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self._validate()

    @property
    def curve_enabled(self) -> bool:
        """Return True when the link is encrypted (CurveZMQ keys configured)."""
        return bool(self.curve_secret_key)

    def _validate(self) -> None:
        """
        Check every field.

        :raises HalConfigError: naming the first invalid field.
        """
        _validate_endpoint_pair(self.observation_endpoint, self.command_endpoint, bind=True)
        _require_int('observation_sndhwm', self.observation_sndhwm, 1)
        _require_int('command_rcvhwm', self.command_rcvhwm, 1)
        _require_int('max_command_bytes', self.max_command_bytes, 256)
        _require_int('command_rcvbuf', self.command_rcvbuf, 0)
        _require_optional_age('max_command_age_s', self.max_command_age_s)
        _require_str('curve_secret_key', self.curve_secret_key)
        if not isinstance(self.curve_authorized_keys, tuple):
            raise HalConfigError(
                'curve_authorized_keys: expected a tuple of keys, got'
                f' {self.curve_authorized_keys!r}'
            )
        if not self.curve_enabled:
            if self.curve_authorized_keys:
                raise HalConfigError(
                    'curve_authorized_keys: expected none without curve_secret_key, got'
                    f' {len(self.curve_authorized_keys)}'
                )
            return
        security.require_curve('curve_secret_key')
        _require_tcp_for_curve(
            'curve_secret_key', (self.observation_endpoint, self.command_endpoint)
        )
        if not self.curve_authorized_keys:
            raise HalConfigError(
                'curve_authorized_keys: expected at least one client public '
                'key with curve_secret_key set, got none'
            )
        self.curve_keys()

    def curve_keys(self) -> tuple[tuple[bytes, bytes], frozenset]:
        """
        Return ((server public, server secret), authorized client public keys) as Z85 bytes.

        :raises HalConfigError: if a key, certificate file or directory is invalid.
        """
        return (
            security.key_pair('curve_secret_key', self.curve_secret_key),
            security.authorized_keys('curve_authorized_keys', self.curve_authorized_keys),
        )

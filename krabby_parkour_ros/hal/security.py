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
Optional CurveZMQ encryption and authentication of a cross-machine HAL link.

Off by default (empty key settings): the link is plain ZeroMQ on loopback.
With keys configured, both HAL sockets (observations and commands) are
CurveZMQ servers on the HAL side, the policy client's sockets are CurveZMQ
clients, every message is encrypted and authenticated, and the HAL's ZAP
authenticator admits only the client public keys it lists: a client with
the wrong server key or an unlisted key completes no handshake, so it
receives nothing and its commands never arrive.

Keys are given either as 40-character Z85 strings or as paths to the
certificate files ``zmq.auth.create_certificates(directory, name)`` writes
(``name.key`` holds the public key, ``name.key_secret`` both keys); a list of
authorized client keys may also name a directory of ``.key`` files.
"""

from __future__ import annotations

from collections.abc import Iterable
import logging
import os
from pathlib import Path
import threading

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator
from zmq.utils import z85

from krabby_parkour_ros.hal.errors import HalConfigError

logger = logging.getLogger(__name__)

#: Length of a Z85-encoded 32-byte CurveZMQ key.
Z85_KEY_LENGTH = 40


def curve_available() -> bool:
    """Return True when libzmq was built with CurveZMQ."""
    return bool(zmq.has('curve'))


def _z85_key(field: str, text: str) -> bytes:
    try:
        raw = z85.decode(text.encode('ascii'))
    except (ValueError, UnicodeEncodeError) as exc:
        raise HalConfigError(
            f'{field}: expected a Z85 key of {int(Z85_KEY_LENGTH)} characters, got an invalid one'
            f' ({exc})'
        ) from exc
    if len(raw) != 32:
        raise HalConfigError(f'{field}: expected a 32-byte key, got {len(raw)} bytes')
    return text.encode('ascii')


def _is_z85_literal(value: str) -> bool:
    return len(value) == Z85_KEY_LENGTH and not os.path.exists(value)


def _certificate(field: str, path: str) -> tuple[bytes, bytes | None]:
    if not os.path.isfile(path):
        raise HalConfigError(
            f'{field}: expected a Z85 key or a certificate file, got {path!r} (no such file)'
        )
    try:
        public, secret = zmq.auth.load_certificate(path)
    except (ValueError, OSError) as exc:
        raise HalConfigError(
            f'{field}: expected a certificate file written by zmq.auth.create_certificates, got'
            f' {path!r} ({exc})'
        ) from exc
    if public is None:
        raise HalConfigError(f'{field}: expected a public-key entry in {path!r}, found none')
    return public, secret


def public_key(field: str, value: str) -> bytes:
    """Return the Z85 public key of ``value`` (a Z85 key or a certificate file path)."""
    if _is_z85_literal(value):
        return _z85_key(field, value)
    public, _ = _certificate(field, value)
    return _z85_key(field, public.decode('ascii'))


def key_pair(field: str, value: str) -> tuple[bytes, bytes]:
    """
    Return (public, secret) Z85 keys from a secret key or a ``.key_secret`` file.

    :raises HalConfigError: naming ``field`` when the value is not a secret key.
    """
    if _is_z85_literal(value):
        secret = _z85_key(field, value)
        return zmq.curve_public(secret), secret
    public, stored_secret = _certificate(field, value)
    if stored_secret is None:
        raise HalConfigError(
            f'{field}: expected a secret key (a .key_secret file), got {value!r}, which holds only'
            ' a public key'
        )
    return _z85_key(field, public.decode('ascii')), _z85_key(field, stored_secret.decode('ascii'))


def authorized_keys(field: str, values: Iterable[str]) -> frozenset[bytes]:
    """Return the Z85 public keys of keys, certificate files and directories of ``.key`` files."""
    keys: set[bytes] = set()
    for value in values:
        if not isinstance(value, str):
            raise HalConfigError(f'{field}: expected key strings or paths, got {value!r}')
        if os.path.isdir(value):
            found = sorted(Path(value).glob('*.key'))
            if not found:
                raise HalConfigError(
                    f'{field}: expected .key files in directory {value!r}, found none'
                )
            keys.update(public_key(field, str(path)) for path in found)
        else:
            keys.add(public_key(field, value))
    return frozenset(keys)


def require_curve(field: str) -> None:
    """Raise HalConfigError when CurveZMQ is configured but libzmq lacks it."""
    if not curve_available():
        raise HalConfigError(
            f'{field}: CurveZMQ keys are configured but this libzmq was built without CURVE'
            ' support'
        )


def configure_client_socket(
    socket: zmq.Socket, server_key: bytes, client_keys: tuple[bytes, bytes]
) -> None:
    """Make ``socket`` a CurveZMQ client of the server with public key ``server_key``."""
    socket.curve_serverkey = server_key
    socket.curve_publickey, socket.curve_secretkey = client_keys


def configure_server_socket(socket: zmq.Socket, server_keys: tuple[bytes, bytes]) -> None:
    """Make ``socket`` a CurveZMQ server with the HAL's key pair."""
    socket.curve_server = True
    socket.curve_publickey, socket.curve_secretkey = server_keys


class _AllowList:
    """ZAP credentials provider: admit the listed client keys, count the others."""

    def __init__(self, keys: frozenset[bytes]) -> None:
        self._keys = keys
        self._lock = threading.Lock()
        self.denied = 0

    def callback(self, domain: str, key: bytes) -> bool:
        if key in self._keys:
            return True
        with self._lock:
            self.denied += 1
        logger.warning(
            'HAL refused a CurveZMQ client with unlisted public key %s',
            key.decode('ascii', 'replace'),
        )
        return False


class CurveAuthenticator:
    """
    The ZAP handler of a HAL server's context, admitting listed client keys only.

    One per ZeroMQ context (ZAP is per context); start it before binding.

    :param context: the server's context.
    :param keys: Z85 public keys of the admitted clients.
    """

    def __init__(self, context: zmq.Context, keys: frozenset[bytes]) -> None:
        self._allow = _AllowList(keys)
        self._auth = ThreadAuthenticator(context, log=logger)

    def start(self) -> None:
        """Start the ZAP thread and install the allow list for every domain."""
        self._auth.start()
        self._auth.configure_curve_callback(domain='*', credentials_provider=self._allow)

    def stop(self) -> None:
        """Stop the ZAP thread (before the context terminates)."""
        self._auth.stop()

    @property
    def denied(self) -> int:
        """Return how many handshakes were refused for an unlisted key."""
        return self._allow.denied

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
Exposure and CurveZMQ: loopback defaults, and an encrypted, authenticated HAL link.

- Every default endpoint (HAL client, HAL server, node parameters, the
  shipped YAML, the simulator) is loopback; a default server cannot be
  reached through another interface of the host.
- With CurveZMQ keys (Z85 strings or certificate files), observations and
  commands flow; a client with the wrong server key, an unlisted key or no
  keys at all completes no handshake: it receives nothing and none of its
  commands reach the HAL.
- Invalid key settings are refused with a message naming the field.
"""

from pathlib import Path
import socket
import time

import numpy as np
import pytest
import yaml
import zmq
import zmq.auth

from krabby_parkour_ros.hal.client import HalClient
from krabby_parkour_ros.hal.config import HalClientConfig, HalServerConfig
from krabby_parkour_ros.hal.errors import HalConfigError
from krabby_parkour_ros.hal.messages import HalObservation
from krabby_parkour_ros.hal.server import HalServer

from .harness import ObservationTemplate

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not zmq.has('curve'), reason='libzmq built without CURVE')


def _keys() -> tuple[str, str]:
    public, secret = zmq.curve_keypair()
    return public.decode(), secret.decode()


def test_every_default_endpoint_is_loopback() -> None:
    from krabby_parkour_ros.node.parameters import SPECS
    from krabby_parkour_ros.sim.hal_server import SimHalConfig

    defaults = [
        HalClientConfig().observation_endpoint,
        HalClientConfig().command_endpoint,
        HalServerConfig().observation_endpoint,
        HalServerConfig().command_endpoint,
        SimHalConfig().observation_endpoint,
        SimHalConfig().command_endpoint,
        SPECS['hal.observation_endpoint'].default,
        SPECS['hal.command_endpoint'].default,
    ]
    shipped = yaml.safe_load((REPO / 'config' / 'parkour.yaml').read_text())
    hal = shipped['/**']['ros__parameters']['hal']
    defaults += [hal['observation_endpoint'], hal['command_endpoint']]
    assert all(e.startswith('tcp://127.0.0.1:') for e in defaults), defaults
    assert not HalClientConfig().curve_enabled and not HalServerConfig().curve_enabled


def _outward_address() -> str | None:
    """Return an IPv4 address of this host other than loopback, if it has one."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(('192.0.2.1', 9))  # TEST-NET-1: no packet is sent for UDP connect
        address = probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith('127.') else address


def test_a_default_server_is_not_reachable_from_another_interface() -> None:
    address = _outward_address()
    if address is None:
        pytest.skip('this host has no non-loopback IPv4 address')
    with HalServer(HalServerConfig('tcp://127.0.0.1:*', 'tcp://127.0.0.1:*')) as server:
        port = server.bound_observation_endpoint.rsplit(':', 1)[1]
        probe = socket.socket()
        probe.settimeout(1.0)
        try:
            assert probe.connect_ex((address, int(port))) != 0, (
                f'{address}:{port} accepted a connection to a loopback-only HAL'
            )
        finally:
            probe.close()
        with pytest.raises(HalConfigError, match='wildcard'):
            HalClientConfig('tcp://*:6001', 'tcp://127.0.0.1:6002')


class Link:
    """An encrypted (or not) HAL server and client over tcp loopback."""

    def __init__(self, server_config: HalServerConfig, client_kwargs: dict | None = None) -> None:
        self.server = HalServer(server_config)
        self.server.bind()
        self.client = HalClient(
            HalClientConfig(
                self.server.bound_observation_endpoint,
                self.server.bound_command_endpoint,
                **(client_kwargs or {}),
            )
        )
        self.client.connect()
        self.template = ObservationTemplate(2, 3)

    def close(self) -> None:
        self.client.close()
        self.server.close()

    def exchange(self, seconds: float) -> tuple[list[HalObservation], int]:
        """Publish and command for ``seconds``; return (observations received, commands)."""
        received: list[HalObservation] = []
        commands = 0
        end = time.monotonic() + seconds
        stamp = time.time_ns()
        while time.monotonic() < end:
            stamp += 1_000_000
            self.server.publish_frames(self.template.frames(stamp))
            observation = self.client.wait_for_observation(0.01)
            if observation is not None:
                received.append(observation)
            self.client.put_joint_command(np.zeros(18), stamp)
            while self.server.recv_command(timeout_ms=0) is not None:
                commands += 1
        return received, commands


def _server_config(secret: str, clients: tuple[str, ...]) -> HalServerConfig:
    return HalServerConfig(
        'tcp://127.0.0.1:*',
        'tcp://127.0.0.1:*',
        curve_secret_key=secret,
        curve_authorized_keys=clients,
    )


def test_encrypted_link_with_z85_keys_carries_observations_and_commands() -> None:
    server_public, server_secret = _keys()
    client_public, client_secret = _keys()
    link = Link(
        _server_config(server_secret, (client_public,)),
        {'curve_server_key': server_public, 'curve_secret_key': client_secret},
    )
    try:
        received, commands = link.exchange(1.0)
        stats = link.client.stats()
    finally:
        link.close()
    assert len(received) > 10 and commands > 10
    assert stats['handshake_failures'] == 0 and stats['rejected_count'] == 0
    assert link.server.stats()['curve'] is True


def test_encrypted_link_with_certificate_files(tmp_path: Path) -> None:
    server_public, server_secret = zmq.auth.create_certificates(str(tmp_path), 'hal')
    clients = tmp_path / 'clients'
    clients.mkdir()
    client_public, client_secret = zmq.auth.create_certificates(str(clients), 'robot')
    link = Link(
        _server_config(server_secret, (str(clients),)),
        {'curve_server_key': server_public, 'curve_secret_key': client_secret},
    )
    try:
        received, commands = link.exchange(1.0)
    finally:
        link.close()
    assert len(received) > 10 and commands > 10
    assert Path(client_public).name == 'robot.key'


@pytest.mark.parametrize('case', ['wrong_server_key', 'unlisted_client', 'plain_client'])
def test_a_client_without_the_right_keys_receives_nothing_and_cannot_command(case: str) -> None:
    server_public, server_secret = _keys()
    client_public, client_secret = _keys()
    other_public, other_secret = _keys()
    kwargs = {
        'wrong_server_key': {'curve_server_key': other_public, 'curve_secret_key': client_secret},
        'unlisted_client': {'curve_server_key': server_public, 'curve_secret_key': other_secret},
        'plain_client': {},
    }[case]
    link = Link(_server_config(server_secret, (client_public,)), kwargs)
    try:
        received, commands = link.exchange(1.5)
        stats = link.client.stats()
        denied = link.server.curve_denied
    finally:
        link.close()
    assert received == [] and commands == 0
    assert stats['accepted_count'] == 0 and stats['commands_sent'] == 0
    assert stats['commands_dropped'] > 10  # never queued for a HAL it cannot reach
    if case != 'plain_client':
        assert stats['handshake_failures'] >= 1
    if case == 'unlisted_client':
        assert denied >= 1


def test_curve_settings_are_validated(tmp_path: Path) -> None:
    server_public, server_secret = _keys()
    public_file, secret_file = zmq.auth.create_certificates(str(tmp_path), 'x')
    tcp = ('tcp://127.0.0.1:6001', 'tcp://127.0.0.1:6002')
    bad_client = [
        ({'curve_server_key': server_public}, 'curve_secret_key: expected both'),
        ({'curve_secret_key': server_secret}, 'curve_secret_key: expected both'),
        (
            {'curve_server_key': 'x' * 39, 'curve_secret_key': server_secret},
            'curve_server_key: expected a Z85 key or a certificate file',
        ),
        (
            {'curve_server_key': server_public, 'curve_secret_key': public_file},
            'curve_secret_key: expected a secret key',
        ),
        (
            {'curve_server_key': str(tmp_path / 'missing.key'), 'curve_secret_key': secret_file},
            'no such file',
        ),
    ]
    for kwargs, message in bad_client:
        with pytest.raises(HalConfigError, match=message):
            HalClientConfig(*tcp, **kwargs)
    with pytest.raises(HalConfigError, match='needs tcp'):
        HalClientConfig(
            'inproc://a',
            'inproc://b',
            curve_server_key=server_public,
            curve_secret_key=server_secret,
        )
    with pytest.raises(HalConfigError, match='at least one client'):
        HalServerConfig(*tcp, curve_secret_key=server_secret)
    with pytest.raises(HalConfigError, match='without curve_secret_key'):
        HalServerConfig(*tcp, curve_authorized_keys=(server_public,))
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(HalConfigError, match='found none'):
        HalServerConfig(*tcp, curve_secret_key=server_secret, curve_authorized_keys=(str(empty),))
    config = HalClientConfig(*tcp, curve_server_key=public_file, curve_secret_key=secret_file)
    server_key, (client_public, client_secret) = config.curve_keys()
    assert zmq.curve_public(client_secret) == client_public and len(server_key) == 40

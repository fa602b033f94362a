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

"""HalServer: binding, resolved endpoints, command reception and rejection counting."""

from collections.abc import Iterator
import json
import logging

import numpy as np
import pytest
import zmq

from krabby_parkour_ros.hal.client import HalClient
from krabby_parkour_ros.hal.codec import decode_observation, encode_command
from krabby_parkour_ros.hal.config import HalClientConfig, HalServerConfig
from krabby_parkour_ros.hal.errors import HalNotConnectedError, HalTransportError
from krabby_parkour_ros.hal.messages import HalCommand
from krabby_parkour_ros.hal.server import HalServer

from .conftest import ZmqTracker


@pytest.fixture
def server() -> Iterator[HalServer]:
    hal = HalServer(HalServerConfig('tcp://127.0.0.1:0', 'tcp://127.0.0.1:*'))
    hal.bind()
    yield hal
    hal.close()


@pytest.fixture
def push(server: HalServer) -> Iterator[zmq.Socket]:
    socket = server.transport_context.socket(zmq.PUSH)
    socket.setsockopt(zmq.LINGER, 0)
    socket.connect(server.bound_command_endpoint)
    yield socket
    socket.close(linger=0)


def test_bound_endpoints_resolve_the_real_port(server: HalServer) -> None:
    for endpoint in (server.bound_observation_endpoint, server.bound_command_endpoint):
        assert endpoint.startswith('tcp://127.0.0.1:')
        assert 0 < int(endpoint.rsplit(':', 1)[1]) <= 65535
    assert server.bound_observation_endpoint != server.bound_command_endpoint


def test_inproc_endpoints_and_context_manager(zmq_leak_check: ZmqTracker) -> None:
    config = HalServerConfig('inproc://hal_observation', 'inproc://hal_commands')
    with HalServer(config) as hal:
        assert hal.bound
        assert hal.bound_observation_endpoint == 'inproc://hal_observation'
        assert hal.bound_command_endpoint == 'inproc://hal_commands'
        assert hal.transport_context is zmq_leak_check.contexts[0]
    assert not hal.bound
    assert zmq_leak_check.contexts[0].closed
    with pytest.raises(HalNotConnectedError):
        _ = hal.bound_observation_endpoint
    with pytest.raises(HalNotConnectedError):
        hal.publish_frames([b'observation'])
    with pytest.raises(HalNotConnectedError):
        hal.recv_command()


def test_bind_conflict_raises_transport_error_naming_the_field(server: HalServer) -> None:
    taken = server.bound_command_endpoint
    second = HalServer(HalServerConfig('tcp://127.0.0.1:*', taken))
    with pytest.raises(HalTransportError, match='command_endpoint: could not bind'):
        second.bind()
    assert not second.bound
    second.close()


def test_server_sockets_are_configured_like_the_deployed_hal(server: HalServer) -> None:
    assert server._pub is not None and server._pull is not None
    assert server._pub.getsockopt(zmq.SNDHWM) == 1
    assert server._pull.getsockopt(zmq.RCVHWM) == 5
    assert server._pub.getsockopt(zmq.LINGER) == 0
    assert server._pull.getsockopt(zmq.MAXMSGSIZE) == 65536


def test_recv_command_waits_up_to_the_timeout(server: HalServer, push: zmq.Socket) -> None:
    assert server.recv_command() is None
    assert server.recv_command(timeout_ms=10) is None
    with pytest.raises(ValueError, match='timeout_ms'):
        server.recv_command(timeout_ms=-1)
    push.send_multipart(encode_command(np.full(18, 2.0), 100, 200))
    command = server.recv_command(timeout_ms=5000)
    assert command is not None
    assert (command.observation_timestamp_ns, command.timestamp_ns) == (100, 200)
    np.testing.assert_array_equal(command.joint_positions, np.full(18, 2.0, np.float32))
    assert server.commands_received == 1


def test_drain_returns_every_queued_command_oldest_first(
    server: HalServer, push: zmq.Socket
) -> None:
    for k in range(4):
        push.send_multipart(encode_command(np.full(18, k), 100 + k, 200 + k))
    commands: list[HalCommand] = []
    while len(commands) < 4:
        assert server._pull is not None and server._pull.poll(5000)
        commands += server.drain_commands()
    assert [c.observation_timestamp_ns for c in commands] == [100, 101, 102, 103]
    np.testing.assert_array_equal(commands[3].joint_positions, np.full(18, 3.0))


def _bad_commands() -> list[list[bytes]]:
    good = encode_command(np.zeros(18), 1, 2)
    meta = json.loads(good[0])
    meta['joint_positions']['shape'] = [12]
    return [
        good + [b'extra'],
        [b'not json', good[1]],
        [good[0], good[1][:-4]],
        [good[0], np.full(18, np.nan, np.float32).tobytes()],
        [json.dumps(meta).encode(), good[1][:48]],
    ]


def test_invalid_commands_are_counted_and_never_raise(server: HalServer, push: zmq.Socket) -> None:
    for frames in _bad_commands():
        push.send_multipart(frames)
    push.send_multipart(encode_command(np.ones(18), 7, 8))
    received = []
    while server.commands_received == 0:
        command = server.recv_command(timeout_ms=5000)
        if command is not None:
            received.append(command)
    assert [c.observation_timestamp_ns for c in received] == [7]
    assert server.rejections == {
        'frame_count': 1,
        'json': 1,
        'byte_length': 1,
        'non_finite': 1,
        'shape': 1,
    }
    assert 'joint_positions.shape: expected [18], got [12]' == server.last_rejection
    assert server.stats()['commands_received'] == 1


def test_publish_observation_sends_a_decodable_message(server: HalServer) -> None:
    sub = server.transport_context.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b'observation')
    sub.connect(server.bound_observation_endpoint)
    try:
        frames = None
        for timestamp in range(1, 2000):
            assert server.publish_observation(
                timestamp,
                np.zeros(18),
                np.zeros((2, 3, 3), np.uint8),
                np.zeros((2, 3, 3), np.uint8),
                np.ones((2, 3)),
                np.ones((2, 3)),
                {'foot_contacts': [1, 1, 0, 0, 1, 1]},
            )
            if sub.poll(5):
                frames = sub.recv_multipart(copy=False)
                break
        assert frames is not None
        observation = decode_observation(frames)
        np.testing.assert_array_equal(observation.extensions.foot_contacts, [1, 1, 0, 0, 1, 1])
        assert server.published_count == timestamp
        assert server.publish_dropped == 0
    finally:
        sub.close(linger=0)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_closing_the_server_before_an_inproc_client_does_not_block(
    zmq_leak_check: ZmqTracker,
) -> None:
    server = HalServer(HalServerConfig('inproc://early_observation', 'inproc://early_commands'))
    server.bind()
    context = server.transport_context
    client = HalClient(
        HalClientConfig('inproc://early_observation', 'inproc://early_commands'), context
    )
    client.connect()
    records = _Records()
    logger = logging.getLogger('krabby_parkour_ros.hal.server')
    logger.addHandler(records)
    try:
        server.close()  # zmq_ctx_term would block while the client's sockets are open
    finally:
        logger.removeHandler(records)
        client.close()
    assert any('close inproc clients before the server' in m for m in records.messages)
    assert not context.closed
    context.term()

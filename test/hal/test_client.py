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

"""HalClient over inproc and tcp: round trips, command checks, waiting, restarts."""

import socket
import threading

import numpy as np
import pytest
import zmq

from krabby_parkour_ros.hal.client import HalClient
from krabby_parkour_ros.hal.config import HalClientConfig, HalServerConfig
from krabby_parkour_ros.hal.errors import CommandError, HalNotConnectedError
from krabby_parkour_ros.hal.messages import HalObservation
from krabby_parkour_ros.hal.server import HalServer

from .conftest import LinkFactory, ZmqTracker
from .helpers import send_until_received, small_frames

TRANSPORTS = ['inproc', 'tcp']


@pytest.mark.parametrize('transport', TRANSPORTS)
def test_observation_to_command_round_trip(make_link: LinkFactory, transport: str) -> None:
    link = make_link(transport)
    observation = link.sync()
    assert observation.receive_time_ns > 0
    np.testing.assert_array_equal(observation.depth_map, np.full((4, 5), 1.5, np.float32))
    target = np.linspace(-0.5, 0.5, 18)
    command = send_until_received(link, target, observation.timestamp_ns)
    assert command.observation_timestamp_ns == observation.timestamp_ns
    assert command.joint_positions.dtype == np.float32
    np.testing.assert_array_equal(command.joint_positions, target.astype(np.float32))
    stats = link.client.stats()
    assert stats['commands_sent'] >= 1
    assert link.server.commands_received == 1


@pytest.mark.parametrize('transport', TRANSPORTS)
def test_invalid_commands_are_never_sent(make_link: LinkFactory, transport: str) -> None:
    link = make_link(transport)
    observation = link.sync()
    send_until_received(link, np.zeros(18), observation.timestamp_ns)  # connected now
    sent_before = link.client.stats()['commands_sent']
    bad_commands: list[object] = [
        np.full(18, np.nan),
        np.r_[np.zeros(17), np.inf],
        np.r_[np.zeros(17), -np.inf],
        np.zeros(17),
        np.zeros(19),
        np.full(18, 1e39),
        ['a'] * 18,
        None,
    ]
    for joints in bad_commands:
        with pytest.raises(CommandError):
            link.client.put_joint_command(joints, observation.timestamp_ns)
    with pytest.raises(CommandError):
        link.client.put_joint_command(np.zeros(18), -1)
    link.client.put_joint_command(np.full(18, 0.25), 424242)
    command = link.server.recv_command(timeout_ms=5000)
    assert command is not None and command.observation_timestamp_ns == 424242
    np.testing.assert_array_equal(command.joint_positions, np.full(18, 0.25, np.float32))
    assert link.server.drain_commands() == []
    assert link.server.rejections == {}
    assert link.client.stats()['commands_sent'] == sent_before + 1


def test_put_joint_command_needs_a_connection() -> None:
    client = HalClient(HalClientConfig())
    with pytest.raises(CommandError):
        client.put_joint_command(np.zeros(3), 1)  # checked before anything else
    with pytest.raises(HalNotConnectedError):
        client.put_joint_command(np.zeros(18), 1)
    assert client.poll() is None
    assert client.wait_for_observation(1.0) is None  # not connected: returns at once


def _free_tcp_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def test_command_without_hal_is_dropped_and_counted() -> None:
    observation_port, command_port = _free_tcp_port(), _free_tcp_port()
    config = HalClientConfig(
        observation_endpoint=f'tcp://127.0.0.1:{int(observation_port)}',
        command_endpoint=f'tcp://127.0.0.1:{int(command_port)}',
    )
    with HalClient(config) as client:
        client.put_joint_command(np.zeros(18), 1)  # never blocks, even with no HAL
        assert client.stats()['commands_dropped'] == 1
        assert client.stats()['commands_sent'] == 0
        assert client.poll() is None
        assert client.wait_for_observation(0.01) is None


@pytest.mark.parametrize('transport', TRANSPORTS)
def test_poll_returns_only_the_newest_and_counts_superseded(
    make_link: LinkFactory, transport: str
) -> None:
    link = make_link(transport)
    link.sync()
    before = link.client.stats()['superseded_count']
    timestamps = []
    for _ in range(3):
        timestamps.append(link.next_timestamp_ns)
        link.publish_and_wait(small_frames(link.next_timestamp_ns))
        link.next_timestamp_ns += 1
    observation = link.client.poll()
    assert observation is not None and observation.timestamp_ns == timestamps[-1]
    assert link.client.stats()['superseded_count'] == before + 2
    assert link.client.poll() is None
    assert link.client.wait_for_observation(0.0) is None


def test_wait_returns_a_waiting_observation_without_blocking(make_link: LinkFactory) -> None:
    link = make_link('inproc')
    link.sync()
    timestamp = link.next_timestamp_ns
    link.publish_and_wait(small_frames(timestamp))
    # publish_and_wait sees the receive counter, which moves just before the
    # slot is filled: allow that instant (the call returns as soon as it is).
    observation = link.client.wait_for_observation(0.5)
    assert observation is not None and observation.timestamp_ns == timestamp
    assert link.client.wait_for_observation(0.02) is None
    with pytest.raises(ValueError, match='timeout_s'):
        link.client.wait_for_observation(-1.0)


def _waiter(
    client: HalClient, timeout_s: float, out: list[HalObservation | None], started: threading.Event
) -> None:
    started.set()
    out.append(client.wait_for_observation(timeout_s))


@pytest.mark.parametrize('transport', TRANSPORTS)
def test_wait_wakes_on_arrival(make_link: LinkFactory, transport: str) -> None:
    link = make_link(transport)
    link.sync()
    out: list[HalObservation | None] = []
    started = threading.Event()
    thread = threading.Thread(target=_waiter, args=(link.client, 30.0, out, started))
    thread.start()
    started.wait(5.0)
    timestamp = link.publish_good()
    thread.join(10.0)
    assert not thread.is_alive()
    assert out[0] is not None and out[0].timestamp_ns == timestamp


def test_close_wakes_a_waiting_thread(make_link: LinkFactory) -> None:
    link = make_link('inproc')
    link.sync()
    out: list[HalObservation | None] = []
    started = threading.Event()
    thread = threading.Thread(target=_waiter, args=(link.client, 30.0, out, started))
    thread.start()
    started.wait(5.0)
    link.client.close()
    thread.join(10.0)
    assert not thread.is_alive()
    assert out == [None]


@pytest.mark.parametrize('transport', TRANSPORTS)
def test_connect_close_restart_cycles(
    make_link: LinkFactory, zmq_leak_check: ZmqTracker, transport: str
) -> None:
    link = make_link(transport)
    link.sync()
    link.client.connect()  # idempotent: no second receiver thread
    assert [t.name for t in threading.enumerate()].count('hal-client-receiver') == 1
    for _ in range(5):
        link.client.close()
        link.client.close()  # idempotent
        assert not link.client.connected
        assert link.client.poll() is None
        link.client.connect()
        assert link.client.poll() is None  # nothing stale from before the restart
        observation = link.sync()
        command = send_until_received(link, np.ones(18), observation.timestamp_ns)
        assert command.observation_timestamp_ns == observation.timestamp_ns
    own_contexts = 6 if transport == 'tcp' else 0
    # One server context plus, over tcp, one own context per client connect.
    assert len(zmq_leak_check.contexts) == 1 + own_contexts


def test_client_leaves_a_given_context_open(zmq_leak_check: ZmqTracker) -> None:
    context = zmq.Context()
    server = HalServer(HalServerConfig('tcp://127.0.0.1:*', 'tcp://127.0.0.1:*'), context)
    with server:
        config = HalClientConfig(server.bound_observation_endpoint, server.bound_command_endpoint)
        with HalClient(config, context) as client:
            assert client.connected
        assert not context.closed
    assert not context.closed
    assert all(s.closed for s in zmq_leak_check.sockets)
    context.term()


def test_hal_restart_with_earlier_clock_over_tcp(make_link: LinkFactory) -> None:
    link = make_link('tcp', timestamp_resync_count=3)
    link.next_timestamp_ns = 10**15
    first = link.sync()
    endpoint = link.server.bound_observation_endpoint
    command_endpoint = link.server.bound_command_endpoint
    link.server.close()
    link.server = HalServer(HalServerConfig(endpoint, command_endpoint))
    link.server.bind()
    link.next_timestamp_ns = 1000  # the restarted HAL's clock is far behind
    observation = link.sync(timeout_s=10.0)
    assert observation.timestamp_ns < first.timestamp_ns
    stats = link.client.stats()
    assert stats['rejections'] == {'timestamp': 2}
    assert stats['timestamp_resyncs'] == 1
    assert stats['reconnects'] >= 1
    command = send_until_received(link, np.zeros(18), observation.timestamp_ns)
    assert command.observation_timestamp_ns == observation.timestamp_ns

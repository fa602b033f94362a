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
Fixtures of the HAL tests: ZeroMQ leak checks and a server/client factory.

Every test in this folder runs under :func:`zmq_leak_check`: each context
and socket created through ``zmq.Context`` is recorded, and a test fails if
any is left open or any HAL receiver thread is still running at its end.
"""

from collections.abc import Callable, Iterator
import threading
from typing import Any

import pytest
import zmq

from krabby_parkour_ros.hal.client import HalClient
from krabby_parkour_ros.hal.config import HalClientConfig, HalServerConfig
from krabby_parkour_ros.hal.server import HalServer

from .helpers import endpoints, Link


class ZmqTracker:
    """Record the contexts and sockets a test creates."""

    def __init__(self) -> None:
        self.contexts: list[zmq.Context] = []
        self.sockets: list[zmq.Socket] = []


@pytest.fixture(autouse=True)
def zmq_leak_check(monkeypatch: pytest.MonkeyPatch) -> Iterator[ZmqTracker]:
    """Fail the test if a ZeroMQ context, socket or receiver thread leaks."""
    tracker = ZmqTracker()

    class TrackingSocket(zmq.Socket):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            tracker.sockets.append(self)

    class TrackingContext(zmq.Context):
        _socket_class = TrackingSocket

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            tracker.contexts.append(self)

    monkeypatch.setattr(zmq, 'Context', TrackingContext)
    yield tracker
    open_sockets = [s for s in tracker.sockets if not s.closed]
    live_contexts = [c for c in tracker.contexts if not c.closed]
    receivers = [
        t for t in threading.enumerate() if t.name == 'hal-client-receiver' and t.is_alive()
    ]
    for socket in open_sockets:
        socket.close(linger=0)
    for context in live_contexts:
        context.term()
    assert not open_sockets, f'sockets left open: {open_sockets}'
    assert not live_contexts, f'contexts left unterminated: {len(live_contexts)}'
    assert not receivers, f'receiver threads still running: {receivers}'


LinkFactory = Callable[..., Link]


@pytest.fixture
def make_link() -> Iterator[LinkFactory]:
    """Return a factory of bound server + connected client pairs (closed at teardown)."""
    created: list[Link] = []

    def factory(
        transport: str = 'inproc', realtime_priority: int = 0, **client_kwargs: Any
    ) -> Link:
        observation, command = endpoints(transport)
        server = HalServer(
            HalServerConfig(observation_endpoint=observation, command_endpoint=command)
        )
        server.bind()
        config = HalClientConfig(
            observation_endpoint=server.bound_observation_endpoint,
            command_endpoint=server.bound_command_endpoint,
            **client_kwargs,
        )
        context = server.transport_context if transport == 'inproc' else None
        client = HalClient(config, context, realtime_priority=realtime_priority)
        link = Link(server, client)
        created.append(link)
        client.connect()
        return link

    yield factory
    for link in created:
        link.client.close()
        link.server.close()

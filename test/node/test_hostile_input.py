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
No message and no parameter value ends the node process.

The node runs as its own process (``python -m krabby_parkour_ros.node.main
--autostart``) against a scripted HAL; a peer in the test process sends
10,000 random, NaN, +-Inf and +-1e308 ``cmd_vel`` messages, hostile
parameter values of every kind for every declared parameter through the real
``set_parameters`` services (one with a parameter type rclpy itself cannot
decode), and garbage ``/clock`` messages after ``use_sim_time`` is switched
on. Afterwards the process still runs, answers ``get_state``, commands the
HAL and takes a valid ``cmd_vel``; the invalid input is counted in
``/diagnostics``.
"""

import math
import random
import time

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Twist
from lifecycle_msgs.srv import GetState
import pytest
from rcl_interfaces.msg import Parameter as ParameterMsg, ParameterType, ParameterValue
from rcl_interfaces.srv import GetParameters, SetParameters, SetParametersAtomically
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock

from krabby_parkour_ros.node.parameters import PARAMETERS
from krabby_parkour_ros.node.qos import STATUS_QOS

from .node_process import NodeProcess
from ..support.waiting import wait_for

#: Multi-second runs: behind the slow marker (colcon test skips it; CI runs it).
pytestmark = pytest.mark.slow

MESSAGES = 10_000
#: Values every field of a hostile Twist is drawn from (besides random finite ones).
HOSTILE_FLOATS = (math.nan, math.inf, -math.inf, 1e308, -1e308)
INT64_MAX = (1 << 63) - 1


def hostile_twist(rng: random.Random) -> Twist:
    """Return a Twist: a third fully valid and random, the rest with hostile fields mixed in."""
    valid = rng.random() < 1 / 3

    def value() -> float:
        if valid or rng.random() < 0.3:
            return rng.uniform(-3.0, 3.0)
        return rng.choice(HOSTILE_FLOATS)

    msg = Twist()
    for vector in (msg.linear, msg.angular):
        vector.x, vector.y, vector.z = value(), value(), value()
    return msg


def _value(type_: int, **fields) -> ParameterValue:
    return ParameterValue(type=type_, **fields)


def hostile_values(default) -> list[ParameterValue]:
    """Return values of the wrong type or out of every range for a parameter of ``default``."""
    values = [
        _value(ParameterType.PARAMETER_DOUBLE, double_value=math.nan),
        _value(ParameterType.PARAMETER_DOUBLE, double_value=math.inf),
        _value(ParameterType.PARAMETER_DOUBLE, double_value=-math.inf),
        _value(ParameterType.PARAMETER_DOUBLE, double_value=1e308),
        _value(ParameterType.PARAMETER_DOUBLE, double_value=-1e308),
        _value(ParameterType.PARAMETER_INTEGER, integer_value=INT64_MAX),
        _value(ParameterType.PARAMETER_INTEGER, integer_value=-INT64_MAX - 1),
        _value(ParameterType.PARAMETER_STRING, string_value='\x00' + 'x' * 10_000),
        _value(ParameterType.PARAMETER_BYTE_ARRAY, byte_array_value=[b'\xff'] * 8),
        _value(ParameterType.PARAMETER_DOUBLE_ARRAY, double_array_value=[math.nan, math.inf]),
        _value(ParameterType.PARAMETER_STRING_ARRAY, string_array_value=['a', 'b']),
        # NOT_SET would undeclare the parameter.
        _value(ParameterType.PARAMETER_NOT_SET),
    ]
    if not isinstance(default, bool):
        # A bool is valid for the bool parameters (shadow_mode is refused while
        # active anyway, tested in test_shadow_mode.py).
        values.append(_value(ParameterType.PARAMETER_BOOL, bool_value=True))
    return values


class Peer:
    """A node in the test's own ROS context: publishers, clients, a diagnostics listener."""

    def __init__(self, context) -> None:
        self.node = rclpy.create_node('hostile_peer', context=context)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)
        self.diagnostics: list[DiagnosticArray] = []
        self.node.create_subscription(
            DiagnosticArray, '/diagnostics', self.diagnostics.append, STATUS_QOS
        )
        reliable = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        self.cmd_vel = self.node.create_publisher(Twist, '/cmd_vel', reliable)
        self.clock = self.node.create_publisher(Clock, '/clock', reliable)
        self._clients: dict[str, object] = {}

    def spin(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.01)

    def call(self, srv_type, name: str, request, timeout: float = 10.0):
        """Call a service; return the response, or None if none came in time."""
        client = self._clients.get(name)
        if client is None:
            client = self._clients[name] = self.node.create_client(srv_type, name)
        deadline = time.monotonic() + 30.0
        while not client.service_is_ready() and time.monotonic() < deadline:
            self.spin(0.1)
        assert client.service_is_ready(), f'{name} not available'
        future = client.call_async(request)
        self.executor.spin_until_future_complete(future, timeout_sec=timeout)
        return future.result() if future.done() else None

    def counters(self) -> dict[str, str]:
        return (
            {kv.key: kv.value for kv in self.diagnostics[-1].status[0].values}
            if self.diagnostics
            else {}
        )

    def fresh_counters(self) -> dict[str, str]:
        """Return the values of a /diagnostics message that arrives from now on."""
        count = len(self.diagnostics)
        deadline = time.monotonic() + 10.0
        while len(self.diagnostics) <= count and time.monotonic() < deadline:
            self.spin(0.05)
        assert len(self.diagnostics) > count, 'no /diagnostics'
        return self.counters()

    def state(self) -> str | None:
        response = self.call(GetState, '/parkour_node/get_state', GetState.Request())
        return None if response is None else response.current_state.label

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()


@pytest.fixture
def peer(peer_context):
    peer = Peer(peer_context)
    yield peer
    peer.close()


@pytest.fixture
def node(hal):
    process = NodeProcess(hal=hal, autostart=True)
    yield process
    process.close()


def _set_parameters(peer: Peer, parameters: list[ParameterMsg], timeout: float = 10.0):
    request = SetParameters.Request(parameters=parameters)
    return peer.call(SetParameters, '/parkour_node/set_parameters', request, timeout)


def _assert_running(node: NodeProcess, peer: Peer, hal, where: str) -> None:
    assert node.alive(), f'{where}: the node process ended:\n{node.output[-3000:]}'
    assert peer.state() == 'active', where
    count = len(hal.commands)
    assert hal.wait_commands(count + 20), f'{where}: the node stopped commanding the HAL'


@pytest.mark.parametrize('hal', ['tcp'], indirect=True)
def test_hostile_cmd_vel_parameters_and_clock_never_end_the_process(node, peer, hal):
    assert hal.wait_commands(100, timeout=60.0), node.output[-3000:]
    assert wait_for(lambda: peer.cmd_vel.get_subscription_count() > 0, 30.0), 'no cmd_vel sub'

    # 1. cmd_vel: 10,000 messages, valid random ones mixed with NaN, +-Inf, +-1e308.
    rng = random.Random(13)
    sent_invalid = 0
    for index in range(MESSAGES):
        msg = hostile_twist(rng)
        used = (msg.linear.x, msg.linear.y, msg.angular.z)
        sent_invalid += not all(math.isfinite(v) for v in used)
        peer.cmd_vel.publish(msg)
        if index % 10 == 9:
            time.sleep(0.004)  # about 2000 messages/s: the node's queue can keep up
    assert node.alive(), node.output[-3000:]
    values = peer.fresh_counters()
    received, invalid = int(values['cmd_vel_received']), int(values['invalid_cmd_vel'])
    print(
        f'cmd_vel: sent {MESSAGES} ({sent_invalid} invalid in the used fields), '
        f'received {received}, counted invalid {invalid}'
    )
    assert received > MESSAGES // 10 and invalid > 0, values
    assert invalid <= received
    _assert_running(node, peer, hal, 'after cmd_vel')
    # A valid command still steers.
    twist = Twist()
    twist.linear.x = 0.4
    for _ in range(20):
        peer.cmd_vel.publish(twist)
        peer.spin(0.02)
    assert wait_for(
        lambda: peer.fresh_counters()['navigation_command'].startswith('vx=0.400'), 10.0
    ), peer.counters()

    # 2. Parameters: every declared one, values of every wrong type and range.
    before = int(peer.fresh_counters()['parameters_refused'])
    parameters = [
        ParameterMsg(name=spec.name, value=value)
        for spec in PARAMETERS
        for value in hostile_values(spec.default)
    ]
    parameters.append(
        ParameterMsg(
            name='not.declared',
            value=_value(ParameterType.PARAMETER_DOUBLE, double_value=math.nan),
        )
    )
    response = _set_parameters(peer, parameters, timeout=30.0)
    assert response is not None, 'set_parameters did not answer'
    accepted = [p.name for p, r in zip(parameters, response.results) if r.successful]
    assert accepted == [] and len(response.results) == len(parameters), accepted
    atomic = peer.call(
        SetParametersAtomically,
        '/parkour_node/set_parameters_atomically',
        SetParametersAtomically.Request(parameters=parameters[:20]),
    )
    assert atomic is not None and not atomic.result.successful
    # A type rclpy cannot decode raises inside rclpy's own service: no answer,
    # the executor loop of the node logs and counts it.
    garbage = ParameterMsg(name='stale_timeout', value=ParameterValue(type=99))
    assert _set_parameters(peer, [garbage], timeout=2.0) is None
    values = peer.fresh_counters()
    assert int(values['parameters_refused']) > before
    assert int(values['callback_errors']) >= 1, values
    got = peer.call(
        GetParameters,
        '/parkour_node/get_parameters',
        GetParameters.Request(names=['stale_timeout', 'control_rate', 'shadow_mode']),
    )
    assert [v.double_value for v in got.values[:2]] == [0.1, 100.0]
    assert got.values[2].type == ParameterType.PARAMETER_BOOL and not got.values[2].bool_value
    _assert_running(node, peer, hal, 'after hostile parameters')

    # 3. use_sim_time on (accepted: rclpy's own parameter), then garbage /clock.
    sim_time = ParameterMsg(
        name='use_sim_time', value=_value(ParameterType.PARAMETER_BOOL, bool_value=True)
    )
    assert _set_parameters(peer, [sim_time]).results[0].successful
    assert wait_for(lambda: peer.clock.get_subscription_count() > 0, 20.0), 'no /clock sub'
    for index in range(500):
        msg = Clock()
        msg.clock.sec = rng.choice((-1, -(1 << 31), (1 << 31) - 1, rng.randrange(1 << 31)))
        msg.clock.nanosec = rng.randrange(1 << 32)
        peer.clock.publish(msg)
        if index % 10 == 9:
            time.sleep(0.004)
    sim_time.value.bool_value = False
    assert _set_parameters(peer, [sim_time]).results[0].successful
    _assert_running(node, peer, hal, 'after /clock')
    output = node.output
    assert 'Traceback' not in output, output[-3000:]
    # The controller's log records reach the node's output (mode changes with their cause).
    assert 'mode waiting -> soft_start: ' in output, output[-3000:]
    assert 'cmd_vel ignored: ' in output and 'invalid so far' in output

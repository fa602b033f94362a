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
SIGINT and SIGTERM end the node process within 1 s, exit 0, in every lifecycle state.

Each case starts ``python -m krabby_parkour_ros.node.main`` as its own
process, brings it into the state (through ``--autostart``, the real
``change_state`` service or a HAL whose data makes the policy fail), then
measures from the signal to the process's exit, polling every 10 ms.
"""

import signal
import time

from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState
import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor

from krabby_parkour_ros.hal.scripted_hal import ObservationTemplate, standing_extensions

from .conftest import scripted_hal
from .node_process import NodeProcess

#: Multi-second runs: behind the slow marker (colcon test skips it; CI runs it).
pytestmark = pytest.mark.slow

#: The issue's acceptance: the process is gone within a second of the signal.
EXIT_LIMIT_S = 1.0
SIGNALS = [signal.SIGINT, signal.SIGTERM]


def imu_less_template() -> ObservationTemplate:
    """Return observations without IMU keys: with ``missing_imu: refuse`` every step fails."""
    extensions = standing_extensions()
    del extensions['imu_orientation_xyzw'], extensions['imu_angular_velocity']
    return ObservationTemplate(height=4, width=6, extensions=extensions)


@pytest.fixture
def tcp_hal(request):
    """Yield a scripted HAL over tcp (without IMU keys with the parameter ``imu_less``)."""
    imu_less = getattr(request, 'param', '') == 'imu_less'
    hal = scripted_hal(template=imu_less_template() if imu_less else None)
    yield hal
    hal.close()


def _exits_in_time(node: NodeProcess, signum: int) -> None:
    assert node.alive(), node.output[-3000:]
    elapsed = node.signal_and_time_exit(signum)
    output = node.close()
    assert elapsed is not None, f'still running 10 s after {signum!r}:\n{output[-3000:]}'
    assert node.process.returncode == 0, output[-3000:]
    assert f'{signal.Signals(signum).name} received: shutting down' in output, output[-3000:]
    print(f'{signal.Signals(signum).name}: exit {elapsed:.3f} s after the signal')
    assert elapsed < EXIT_LIMIT_S, f'exit took {elapsed:.3f} s'


#: The state each transition used here leads to.
_GOAL = {Transition.TRANSITION_CONFIGURE: 'inactive', Transition.TRANSITION_ACTIVATE: 'active'}


def _change_state(peer_context, transition_id: int) -> bool:
    """
    Request a transition from another process; True when the node reached its goal.

    A request sent right after discovery can be lost (the client's writer
    not yet matched: volatile samples are not resent), so a request without
    an answer is judged by ``get_state`` and sent again only if nothing
    happened. Deadlines are generous: configure loads the policy.
    """
    node = rclpy.create_node('signal_test_client', context=peer_context)
    executor = SingleThreadedExecutor(context=peer_context)
    executor.add_node(node)
    goal = _GOAL[transition_id]
    try:
        client = node.create_client(ChangeState, '/parkour_node/change_state')
        states = node.create_client(GetState, '/parkour_node/get_state')
        assert client.wait_for_service(timeout_sec=30.0), 'change_state not available'
        assert states.wait_for_service(timeout_sec=30.0), 'get_state not available'

        def state() -> str:
            future = states.call_async(GetState.Request())
            executor.spin_until_future_complete(future, timeout_sec=20.0)
            return future.result().current_state.label if future.done() else ''

        for _ in range(5):
            request = ChangeState.Request()
            request.transition.id = transition_id
            future = client.call_async(request)
            # get_state below waits for a transition still under way (the
            # node's executor answers it afterwards), so a short wait here only
            # decides how soon a lost request is sent again.
            executor.spin_until_future_complete(future, timeout_sec=5.0)
            if future.done():
                return future.result().success and state() == goal
            current = state()
            if current == goal:
                return True
            if current not in ('unconfigured', 'inactive'):
                return False
        return False
    finally:
        executor.shutdown()
        node.destroy_node()


@pytest.mark.parametrize('signum', SIGNALS)
def test_signal_ends_an_unconfigured_node(signum):
    node = NodeProcess()
    try:
        assert node.wait_output('DDS discovery range'), node.output
        time.sleep(0.5)  # spinning, no timer
    finally:
        _exits_in_time(node, signum)


@pytest.mark.parametrize('signum', SIGNALS)
def test_signal_ends_a_node_whose_configure_failed(signum):
    node = NodeProcess(autostart=True, parameters=['checkpoint:=/nonexistent/model.pt'])
    try:
        assert node.wait_output('autostart: configure failed'), node.output
    finally:
        _exits_in_time(node, signum)


@pytest.mark.parametrize('signum', SIGNALS)
def test_signal_ends_an_inactive_node(signum, tcp_hal, peer_context):
    node = NodeProcess(hal=tcp_hal)
    try:
        assert node.wait_output('DDS discovery range'), node.output
        assert _change_state(peer_context, Transition.TRANSITION_CONFIGURE), node.output
        assert 'configured: policy' in node.output
        time.sleep(0.3)
        assert len(tcp_hal.commands) == 0, 'an inactive node commanded the HAL'
    finally:
        _exits_in_time(node, signum)


@pytest.mark.parametrize('signum', SIGNALS)
def test_signal_ends_an_active_node_holding(signum, tcp_hal):
    node = NodeProcess(hal=tcp_hal, autostart=True)
    try:
        assert tcp_hal.wait_commands(100, timeout=60.0), node.output
    finally:
        _exits_in_time(node, signum)
    count = len(tcp_hal.commands)
    time.sleep(0.3)
    assert len(tcp_hal.commands) == count, 'commands after the process exited'


@pytest.mark.parametrize('tcp_hal', ['imu_less'], indirect=True)
@pytest.mark.parametrize('signum', SIGNALS)
def test_signal_ends_a_node_after_its_error_transition(signum, tcp_hal):
    # No IMU keys with missing_imu: refuse -> every policy step fails -> the
    # fault latches -> lifecycle error transition -> unconfigured, no timer.
    node = NodeProcess(
        hal=tcp_hal,
        autostart=True,
        parameters=['max_consecutive_failures:=2', 'missing_imu:=refuse'],
    )
    try:
        assert node.wait_output('error processed', timeout=90.0), node.output[-3000:]
        time.sleep(0.3)
    finally:
        _exits_in_time(node, signum)

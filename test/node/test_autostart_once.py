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
Issue #14 part 2: autostart acts once.

After the automatic configure -> activate, a manual deactivate stays
deactivated (the launch file's activation used to follow every transition
ending in inactive, so ``ros2 lifecycle set /parkour_node deactivate`` was
undone 10 ms later); a manual activate then activates again. Checked with
``ros2 launch`` (colcon install, ``ros2 lifecycle``) and with the pure
rclpy entry point ``parkour_node --autostart``.
"""

import time

from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState
import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor

from krabby_parkour_ros.hal.scripted_hal import ScriptedHal

from .conftest import scripted_hal
from .node_process import NodeProcess
from .test_ros2_launch import _shell, _stop_launch, _tools_missing, installed  # noqa: F401

#: How long a deactivated node must stay inactive (the issue's acceptance).
STAY_INACTIVE_S = 5.0


@pytest.fixture
def tcp_hal():
    """Yield a scripted HAL over tcp on random loopback ports."""
    hal = scripted_hal()
    yield hal
    hal.close()


def _commands_stop(hal: ScriptedHal, quiet_s: float = 0.5, timeout: float = 10.0) -> bool:
    """Wait until no command arrived for ``quiet_s``; False on timeout."""
    deadline = time.monotonic() + timeout
    count, since = len(hal.commands), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        if len(hal.commands) != count:
            count, since = len(hal.commands), time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return True
    return False


# -- ros2 launch --------------------------------------------------------------------------


def _ros2_lifecycle(install, *arguments: str) -> str:
    """Run ``ros2 lifecycle ...`` without the daemon; return its output."""
    process = _shell(install, 'ros2 lifecycle ' + ' '.join(arguments))
    return process.communicate(timeout=60)[0]


def _lifecycle(install, verb: str, node: str, *rest: str, expect: str) -> str:
    # Discovery of a fresh CLI process can take a while on a loaded machine:
    # no daemon (it may belong to another domain), a generous spin time, retries.
    output = ''
    for _ in range(3):
        output = _ros2_lifecycle(install, verb, '--no-daemon', '--spin-time', '5', node, *rest)
        if expect in output:
            break
    return output


@pytest.mark.slow
@pytest.mark.skipif(bool(_tools_missing()), reason=_tools_missing() or 'ok')
def test_ros2_launch_autostart_then_deactivate_stays_inactive(installed, tcp_hal):  # noqa: F811
    server = tcp_hal.server
    launch = _shell(
        installed,
        'ros2 launch krabby_parkour parkour.launch.py '
        f'observation_endpoint:={server.bound_observation_endpoint} '
        f'command_endpoint:={server.bound_command_endpoint} '
        'namespace:=krabby',
    )
    node = '/krabby/parkour_node'
    try:
        assert tcp_hal.wait_commands(100, timeout=90.0), 'ros2 launch did not reach active'
        output = _lifecycle(
            installed, 'set', node, 'deactivate', expect='Transitioning successful'
        )
        assert 'Transitioning successful' in output, output
        assert _commands_stop(tcp_hal), 'the node kept commanding after deactivate'
        stopped = len(tcp_hal.commands)
        time.sleep(STAY_INACTIVE_S)
        state = _lifecycle(installed, 'get', node, expect='inactive')
        assert state.startswith('inactive'), state
        assert len(tcp_hal.commands) == stopped, 're-activated after a manual deactivate'
        output = _lifecycle(installed, 'set', node, 'activate', expect='Transitioning successful')
        assert 'Transitioning successful' in output, output
        assert tcp_hal.wait_commands(stopped + 50, timeout=30.0), 'activate did not resume'
        state = _lifecycle(installed, 'get', node, expect='active')
        assert state.startswith('active'), state
    finally:
        launch_output = _stop_launch(launch)
    # One automatic activation; the second is the manual one.
    assert launch_output.count('activated: soft start') == 2, launch_output[-3000:]


# -- parkour_node --autostart ---------------------------------------------------------------


def _call(peer_context, service_type, name: str, request):
    node = rclpy.create_node('autostart_test_client', context=peer_context)
    executor = SingleThreadedExecutor(context=peer_context)
    executor.add_node(node)
    try:
        client = node.create_client(service_type, name)
        assert client.wait_for_service(timeout_sec=30.0), f'{name} not available'
        future = client.call_async(request)
        executor.spin_until_future_complete(future, timeout_sec=60.0)
        assert future.done(), f'{name}: no answer'
        return future.result()
    finally:
        executor.shutdown()
        node.destroy_node()


def _change_state(peer_context, transition_id: int) -> bool:
    request = ChangeState.Request()
    request.transition.id = transition_id
    return _call(peer_context, ChangeState, '/parkour_node/change_state', request).success


def _state(peer_context) -> str:
    return _call(
        peer_context, GetState, '/parkour_node/get_state', GetState.Request()
    ).current_state.label


@pytest.mark.slow
def test_entry_point_autostart_then_deactivate_stays_inactive(tcp_hal, peer_context):
    node = NodeProcess(hal=tcp_hal, autostart=True)
    try:
        assert tcp_hal.wait_commands(100, timeout=60.0), node.output[-3000:]
        assert _change_state(peer_context, Transition.TRANSITION_DEACTIVATE), node.output
        assert _commands_stop(tcp_hal), 'the node kept commanding after deactivate'
        stopped = len(tcp_hal.commands)
        time.sleep(STAY_INACTIVE_S)
        assert _state(peer_context) == 'inactive', node.output[-3000:]
        assert len(tcp_hal.commands) == stopped, 're-activated after a manual deactivate'
        assert _change_state(peer_context, Transition.TRANSITION_ACTIVATE), node.output
        assert tcp_hal.wait_commands(stopped + 50, timeout=30.0), 'activate did not resume'
        assert _state(peer_context) == 'active'
    finally:
        output = node.close()
    assert output.count('activated: soft start') == 2, output[-3000:]

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
``shadow_mode`` through the real ``set_parameters`` service, and request logging.

Entering shadow mode mid-gait would stop the commands while the HAL holds a
gait target: refused while active, accepted while unconfigured or inactive;
leaving it while active restarts through the soft start. Hold, release and
shadow requests are logged once with their cause.
"""

import logging
import time

import pytest
from rcl_interfaces.msg import Parameter as ParameterMsg, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from rclpy.lifecycle import TransitionCallbackReturn
from std_srvs.srv import Trigger

from .test_parkour_node import Listener, make_node, wait_for

SUCCESS = TransitionCallbackReturn.SUCCESS
#: Modes in which the node commands the robot on its own (the policy runs, or
#: it stands on a zero navigation command).
CONTROLLING = ('running', 'stand')


@pytest.fixture
def listener(peer_context, spin):
    node = Listener(peer_context)
    yield node
    spin.retire(node.node)


def _set_shadow(listener: Listener, value: bool):
    request = SetParameters.Request(
        parameters=[
            ParameterMsg(
                name='shadow_mode',
                value=ParameterValue(type=ParameterType.PARAMETER_BOOL, bool_value=value),
            )
        ]
    )
    # Not retried: a lost response is judged by the node's state instead.
    response = listener.call(SetParameters, '/parkour_node/set_parameters', request, timeout=10.0)
    assert response is not None, 'set_parameters did not answer'
    return response.results[0]


@pytest.mark.parametrize('hal', ['inproc'], indirect=True)
def test_shadow_mode_is_refused_while_active_and_accepted_otherwise(
    ros_context, spin, hal, listener
):
    node = make_node(ros_context, hal)
    spin(node, listener.node)
    # Unconfigured: accepted (read by the next configure), and back.
    assert _set_shadow(listener, True).successful
    assert node.get_parameter('shadow_mode').value is True
    assert _set_shadow(listener, False).successful
    assert node.trigger_configure() == SUCCESS and node.trigger_activate() == SUCCESS
    assert wait_for(lambda: listener.mode() in CONTROLLING)

    # Active: refused with the reason; mode, parameter and commands unchanged.
    result = _set_shadow(listener, True)
    assert not result.successful
    assert 'refused while active' in result.reason, result.reason
    assert node.get_parameter('shadow_mode').value is False
    assert not node._runtime.step.shadow
    assert node._runtime.step.mode.value in CONTROLLING
    count = len(hal.commands)
    assert hal.wait_commands(count + 30), 'commands stopped after the refused request'
    assert node.node_counters['parameters_refused'] >= 1

    # Inactive: accepted; activated in shadow mode the HAL receives nothing.
    assert node.trigger_deactivate() == SUCCESS
    assert _set_shadow(listener, True).successful
    assert node._runtime.step.shadow
    assert node.trigger_activate() == SUCCESS
    time.sleep(0.1)
    count = len(hal.commands)
    actions = len(listener.messages['actions'])
    assert wait_for(lambda: len(listener.messages['actions']) > actions + 10)
    assert len(hal.commands) == count, 'shadow mode commanded the HAL'

    # Leaving shadow mode while active is allowed: commands resume (soft start).
    assert _set_shadow(listener, False).successful
    assert not node._runtime.step.shadow
    assert hal.wait_commands(count + 30), 'no commands after leaving shadow mode'
    assert wait_for(lambda: node._runtime.step.mode.value in CONTROLLING), (
        node._runtime.step.mode,
        node._runtime.step.last_error,
    )
    node.trigger_shutdown()
    spin.retire(node)


@pytest.mark.parametrize('hal', ['inproc'], indirect=True)
def test_hold_and_release_are_logged_once_with_their_cause(
    ros_context, spin, hal, listener, caplog
):
    # The launch_testing plugin makes every later logger non-propagating
    # (launch's LaunchLogger class): listen on the controller's logger itself.
    step_logger = logging.getLogger('krabby_parkour_ros.control.step')
    step_logger.addHandler(caplog.handler)
    caplog.set_level(logging.INFO, logger=step_logger.name)
    try:
        _hold_and_release(ros_context, spin, hal, listener)
    finally:
        step_logger.removeHandler(caplog.handler)
    messages = [r.getMessage() for r in caplog.records]
    # Each request once, each mode change once, with the cause.
    for text in (
        'hold requested (~/hold service) in mode',
        'release requested (~/release service) in mode',
        '-> hold_user: hold requested (~/hold service)',
        'hold_user -> soft_start: released (~/release service)',
    ):
        assert sum(text in m for m in messages) == 1, (text, messages)


def _hold_and_release(ros_context, spin, hal, listener) -> None:
    node = make_node(ros_context, hal)
    spin(node, listener.node)
    assert node.trigger_configure() == SUCCESS and node.trigger_activate() == SUCCESS
    assert wait_for(lambda: node._runtime.step.mode.value in CONTROLLING)
    response = listener.call(Trigger, '/parkour_node/hold', Trigger.Request())
    assert response is not None and response.success
    response = listener.call(Trigger, '/parkour_node/release', Trigger.Request())
    assert response is not None and response.success
    assert wait_for(lambda: node._runtime.step.mode.value in CONTROLLING)
    node.trigger_shutdown()
    spin.retire(node)

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

"""The node over a CurveZMQ-encrypted HAL link, keys given as ROS parameters."""

import time

import pytest
import zmq
import zmq.auth

from krabby_parkour_ros.hal.config import HalServerConfig

from .conftest import scripted_hal
from .test_parkour_node import make_node, SUCCESS

pytestmark = pytest.mark.skipif(not zmq.has('curve'), reason='libzmq built without CURVE')


@pytest.fixture
def curve_hal(tmp_path):
    """Yield (scripted encrypted HAL, key directory) admitting only clients/robot."""
    for folder, name in (('hal', 'hal'), ('clients', 'robot'), ('other', 'intruder')):
        (tmp_path / folder).mkdir()
        zmq.auth.create_certificates(str(tmp_path / folder), name)
    scripted = scripted_hal(
        server_config=HalServerConfig(
            observation_endpoint='tcp://127.0.0.1:*',
            command_endpoint='tcp://127.0.0.1:*',
            curve_secret_key=str(tmp_path / 'hal' / 'hal.key_secret'),
            curve_authorized_keys=(str(tmp_path / 'clients'),),
        )
    )
    yield scripted, tmp_path
    scripted.close()


def _node(ros_context, hal, keys, client: str):
    return make_node(
        ros_context,
        hal,
        **{
            'hal.curve_server_key': str(keys / 'hal' / 'hal.key'),
            'hal.curve_secret_key': str(keys / client),
        },
    )


def test_authorized_node_commands_over_an_encrypted_link(ros_context, spin, curve_hal):
    hal, keys = curve_hal
    node = _node(ros_context, hal, keys, 'clients/robot.key_secret')
    spin(node)
    assert node.trigger_configure() == SUCCESS
    assert node._runtime.config.hal.curve_enabled
    assert node.trigger_activate() == SUCCESS
    assert hal.wait_commands(30), 'no commands over the encrypted link'
    published = set(hal.published)
    assert all(c.observation_timestamp_ns in published for c in hal.commands[:30])
    assert node.trigger_shutdown() == SUCCESS
    spin.retire(node)


def test_unlisted_node_key_never_commands(ros_context, spin, curve_hal):
    hal, keys = curve_hal
    node = _node(ros_context, hal, keys, 'other/intruder.key_secret')
    spin(node)
    assert node.trigger_configure() == SUCCESS and node.trigger_activate() == SUCCESS
    time.sleep(1.5)
    assert len(hal.commands) == 0
    assert node._runtime.step.mode.value == 'waiting'
    assert node._runtime.step.counters['commands_sent'] == 0
    assert node.trigger_shutdown() == SUCCESS
    spin.retire(node)


def test_half_configured_curve_refuses_to_configure(ros_context, spin, curve_hal):
    hal, keys = curve_hal
    node = make_node(ros_context, hal, **{'hal.curve_server_key': str(keys / 'hal' / 'hal.key')})
    spin(node)
    from rclpy.lifecycle import TransitionCallbackReturn

    assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
    assert node._runtime is None
    spin.retire(node)

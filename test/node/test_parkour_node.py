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

"""The lifecycle node end to end against the project's HAL server."""

import threading
import time

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Twist
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState
import numpy as np
import pytest
import rclpy
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import JointState
from std_msgs.msg import Float32MultiArray, String
from std_srvs.srv import Trigger

from krabby_parkour_ros.hal.scripted_hal import ScriptedHal
from krabby_parkour_ros.hal.server import HalServer
from krabby_parkour_ros.node.parkour_node import ParkourNode
from krabby_parkour_ros.node.qos import STATUS_QOS
from krabby_parkour_ros.sim.hal_server import SimHal

from ..support.waiting import wait_for

SUCCESS = TransitionCallbackReturn.SUCCESS


def make_node(ros_context, hal: ScriptedHal | SimHal | HalServer, **overrides) -> ParkourNode:
    """Return a node connected to a scripted HAL, a simulator or a bound HAL server (a replay)."""
    server = hal if isinstance(hal, HalServer) else hal.server
    params = {
        'hal.observation_endpoint': server.bound_observation_endpoint,
        'hal.command_endpoint': server.bound_command_endpoint,
        'soft_start_duration': 0.2,
        'recovery_ramp_duration': 0.1,
        'diagnostics_period': 0.2,
        # These tests follow the policy with a zero cmd_vel (no standing).
        'stand_on_zero_command': False,
    }
    params.update(overrides)
    context = (
        server.transport_context
        if str(params['hal.observation_endpoint']).startswith('inproc')
        else None
    )
    return ParkourNode(
        'parkour_node',
        transport_context=context,
        context=ros_context,
        parameter_overrides=[Parameter(k, value=v) for k, v in params.items()],
    )


class Listener:
    """Subscribes to every output of the node and keeps what arrives."""

    def __init__(self, ros_context) -> None:
        self.node = rclpy.create_node('listener', context=ros_context)
        self.messages = {
            'joint_states': [],
            'commands': [],
            'actions': [],
            'modes': [],
            'diagnostics': [],
            'observations': [],
        }
        sub = self.node.create_subscription
        sub(JointState, '/joint_states', self._keep('joint_states'), qos_profile_sensor_data)
        sub(
            JointState,
            '/parkour_node/joint_commands',
            self._keep('commands'),
            qos_profile_sensor_data,
        )
        sub(
            Float32MultiArray,
            '/parkour_node/policy_action',
            self._keep('actions'),
            qos_profile_sensor_data,
        )
        sub(
            Float32MultiArray,
            '/parkour_node/policy_observation',
            self._keep('observations'),
            qos_profile_sensor_data,
        )
        sub(String, '/parkour_node/mode', self._keep('modes'), STATUS_QOS)
        sub(DiagnosticArray, '/diagnostics', self._keep('diagnostics'), STATUS_QOS)
        self.cmd_vel = self.node.create_publisher(Twist, '/cmd_vel', qos_profile_sensor_data)
        self._clients = {}
        #: Services that wait_for_service never reported available (called anyway).
        self.unavailable: list[str] = []

    def _keep(self, key: str):
        def callback(msg) -> None:
            self.messages[key].append(msg)

        return callback

    def mode(self) -> str:
        return self.messages['modes'][-1].data if self.messages['modes'] else ''

    def call(self, srv_type, name: str, request, timeout: float = 5.0, attempts: int = 1):
        """
        Call a service; return the response, or None if none came in time.

        ``attempts`` > 1 only for idempotent requests: a new client's first
        response can be lost while DDS discovery of the response topic is
        still under way (wait_for_service only sees the request side).

        The call goes out even when ``wait_for_service`` keeps saying no.
        rmw_fastrtps reports a server available only while the request
        readers and the response writers of that name are equal in number
        across the whole domain (rmw_service_server_is_available.cpp), so
        another participant's half-discovered or half-removed server of the
        same name holds it false, while a server in this participant still
        receives the request. Whether one answered is the test's judgement:
        a missing server gives no response (None).
        """
        client = self._clients.get(name)
        if client is None:
            client = self._clients[name] = self.node.create_client(srv_type, name)
        # Discovery is slow on a loaded machine (seconds): wait generously, and
        # if one client's discovery stalls, a fresh client re-announces itself.
        discovery = max(timeout, 30.0)
        if not client.wait_for_service(timeout_sec=discovery / 2):
            self.node.destroy_client(client)
            client = self._clients[name] = self.node.create_client(srv_type, name)
            if not client.wait_for_service(timeout_sec=discovery / 2):
                self.unavailable.append(name)
        for _ in range(attempts):
            future = client.call_async(request)
            if wait_for(future.done, timeout):
                return future.result()
        return None


@pytest.fixture
def listener(peer_context, spin):
    node = Listener(peer_context)
    yield node
    spin.retire(node.node)


def test_lifecycle_through_trigger_methods(ros_context, spin, hal, listener):
    node = make_node(ros_context, hal)
    spin(node, listener.node)
    assert node.trigger_configure() == SUCCESS
    time.sleep(0.3)
    assert len(hal.commands) == 0, 'inactive node sent commands'
    assert not node._loop.running, 'control thread running while inactive'
    assert node.trigger_activate() == SUCCESS
    assert node._loop.running, 'no control thread while active'
    assert hal.wait_commands(60), 'no commands while active'
    # Every command answers an observation the HAL published.
    published = set(hal.published)
    assert all(c.observation_timestamp_ns in published for c in hal.commands)
    assert all(np.all(np.isfinite(c.joint_positions)) for c in hal.commands)
    assert wait_for(lambda: listener.mode() == 'running')
    assert node.trigger_deactivate() == SUCCESS
    assert not node._loop.running, 'control thread still running after deactivate'
    time.sleep(0.1)
    count = len(hal.commands)
    time.sleep(0.3)
    assert len(hal.commands) == count, 'deactivated node kept sending'
    assert node.trigger_cleanup() == SUCCESS
    # Re-configurable without restarting the process.
    assert node.trigger_configure() == SUCCESS
    assert node.trigger_activate() == SUCCESS
    assert hal.wait_commands(count + 20)
    assert node.trigger_shutdown() == SUCCESS
    spin.retire(node)


def test_topics_carry_names_sizes_and_cmd_vel_reaches_observation(
    ros_context, spin, hal, listener
):
    node = make_node(ros_context, hal, publish_observation=True)
    spin(node, listener.node)
    assert node.trigger_configure() == SUCCESS and node.trigger_activate() == SUCCESS
    assert wait_for(lambda: listener.mode() == 'running')
    twist = Twist()
    twist.linear.x = 0.4
    for _ in range(30):
        listener.cmd_vel.publish(twist)
        time.sleep(0.02)
    assert wait_for(
        lambda: any(abs(o.data[10] - 0.4) < 1e-6 for o in listener.messages['observations'])
    )
    states = listener.messages['joint_states']
    assert states and list(states[-1].name) == list(node._runtime.joint_map.hardware_joint_names)
    assert len(states[-1].position) == 18
    np.testing.assert_allclose(states[-1].position, hal.template.joint_positions, atol=1e-6)
    assert listener.messages['commands'] and len(listener.messages['commands'][-1].position) == 18
    assert listener.messages['actions'] and len(listener.messages['actions'][-1].data) == 12
    labels = [d.label for d in listener.messages['observations'][-1].layout.dim]
    assert [label.split(':')[0] for label in labels] == [
        'proprio',
        'scan',
        'priv_explicit',
        'priv_latent',
        'history',
    ]
    assert wait_for(lambda: listener.messages['diagnostics'])
    values = {kv.key: kv.value for kv in listener.messages['diagnostics'][-1].status[0].values}
    for key in (
        'mode',
        'loop_rate_hz',
        'late_ticks',
        'latency_p50_ms',
        'latency_p99_ms',
        'stale_events',
        'commands_sent',
    ):
        assert key in values, key
    # realtime_priority defaults to 0: the control thread keeps the default scheduler.
    assert values['control_thread_scheduler'] == 'default'
    node.trigger_shutdown()
    spin.retire(node)


def test_stale_hold_and_recovery(ros_context, spin, hal, listener):
    node = make_node(ros_context, hal)
    spin(node, listener.node)
    assert node.trigger_configure() == SUCCESS and node.trigger_activate() == SUCCESS
    assert wait_for(lambda: listener.mode() == 'running')
    hal.pause()
    assert wait_for(lambda: node._runtime.step.mode.value == 'hold_stale')
    assert node._runtime.step.counters['stale_events'] >= 1
    held = node._runtime.step.last_command
    time.sleep(0.2)
    np.testing.assert_array_equal(node._runtime.step.last_command, held)
    hal.resume()
    # Back in control: the policy runs, or the robot stands on the zero command.
    assert wait_for(lambda: node._runtime.step.mode.value in ('running', 'stand'))
    node.trigger_shutdown()
    spin.retire(node)


def test_hold_release_services_and_shadow_mode(ros_context, spin, hal, listener):
    node = make_node(ros_context, hal)
    spin(node, listener.node)
    assert node.trigger_configure() == SUCCESS and node.trigger_activate() == SUCCESS
    assert wait_for(lambda: listener.mode() == 'running')
    # hold and release are idempotent: a lost first response may be retried.
    response = listener.call(Trigger, '/parkour_node/hold', Trigger.Request(), attempts=3)
    assert response is not None and response.success
    assert wait_for(lambda: listener.mode() == 'hold_user')
    time.sleep(0.1)
    before = len(hal.commands)
    assert hal.wait_commands(before + 5)
    held = hal.commands[before].joint_positions
    for command in hal.commands[before : before + 5]:
        np.testing.assert_array_equal(command.joint_positions, held)
    response = listener.call(Trigger, '/parkour_node/release', Trigger.Request(), attempts=3)
    assert response is not None and response.success
    assert wait_for(lambda: node._runtime.step.mode.value == 'running')
    # Shadow mode is refused while active (test_shadow_mode.py); inactive it is
    # accepted: then the policy runs and publishes, nothing reaches the HAL.
    assert not node.set_parameters([Parameter('shadow_mode', value=True)])[0].successful
    assert node.trigger_deactivate() == SUCCESS
    assert node.set_parameters([Parameter('shadow_mode', value=True)])[0].successful
    assert node.trigger_activate() == SUCCESS
    time.sleep(0.1)
    count = len(hal.commands)
    actions = len(listener.messages['actions'])
    assert wait_for(lambda: len(listener.messages['actions']) > actions + 10)
    assert len(hal.commands) == count
    node.trigger_shutdown()
    spin.retire(node)


def test_change_state_service_from_another_node(ros_context, spin, hal):
    node = make_node(ros_context, hal)
    # The calling node shares the node's DDS participant: the service calls go
    # through the real lifecycle services, without the inter-participant
    # discovery that stalls on a loaded VM (other processes' change_state
    # calls: test_signals.py, test_autostart_once.py).
    listener = Listener(ros_context)
    spin(node, listener.node)

    def state() -> str:
        response = listener.call(
            GetState, '/parkour_node/get_state', GetState.Request(), timeout=3.0, attempts=3
        )
        assert response is not None, 'get_state never answered'
        return response.current_state.label

    def transition(transition_id: int, target: str) -> bool:
        """Request a transition; True when it succeeded and the node is in ``target``."""
        request = ChangeState.Request()
        request.transition.id = transition_id
        # Generous: configure loads and warms the policy, slow on a busy machine.
        response = listener.call(ChangeState, '/parkour_node/change_state', request, timeout=60.0)
        if response is not None:
            return response.success and state() == target
        # Not retried (not idempotent): a lost response is judged by the state,
        # once the transition (which blocks get_state) is over.
        return wait_for(lambda: state() == target, 60.0)

    assert state() == 'unconfigured'
    assert transition(Transition.TRANSITION_CONFIGURE, 'inactive'), listener.unavailable
    assert transition(Transition.TRANSITION_ACTIVATE, 'active'), listener.unavailable
    assert hal.wait_commands(20)
    assert transition(Transition.TRANSITION_DEACTIVATE, 'inactive'), listener.unavailable
    assert transition(Transition.TRANSITION_CLEANUP, 'unconfigured'), listener.unavailable
    spin.retire(listener.node)
    spin.retire(node)


@pytest.mark.parametrize('hal', ['inproc'], indirect=True)
def test_card_mismatch_and_bad_parameters_refuse_configure(ros_context, spin, hal, listener):
    node = make_node(ros_context, hal, policy_decimation=4)
    spin(node)
    assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
    assert node._runtime is None
    spin.retire(node)
    node = make_node(ros_context, hal)
    result = node.set_parameters([Parameter('stale_timeout', value=-1.0)])[0]
    assert not result.successful
    result = node.set_parameters([Parameter('terrain', value='lava')])[0]
    assert not result.successful and 'terrain' in result.reason
    assert node.trigger_configure() == SUCCESS
    result = node.set_parameters([Parameter('checkpoint', value='/tmp/other.pt')])[0]
    assert not result.successful and 'on_configure' in result.reason
    node.trigger_shutdown()
    spin.retire(node)


@pytest.mark.parametrize('hal', ['inproc'], indirect=True)
def test_repeated_policy_failures_take_the_error_transition(ros_context, spin, hal, listener):
    node = make_node(ros_context, hal, max_consecutive_failures=3)
    spin(node, listener.node)
    assert node.trigger_configure() == SUCCESS and node.trigger_activate() == SUCCESS
    assert wait_for(lambda: listener.mode() == 'running')
    runtime = node._runtime
    calls: list[int] = []
    lock = threading.Lock()
    original = runtime.model.inference

    def failing(model_io):
        with lock:
            calls.append(1)
        response = original(model_io)
        response.success = False
        response.error_message = 'injected failure'
        return response

    runtime.model.inference = failing
    assert wait_for(lambda: node._state_machine.current_state[1] == 'unconfigured')
    assert len(calls) >= 3
    assert node._runtime is None
    # Everything the node sent was finite.
    assert all(np.all(np.isfinite(c.joint_positions)) for c in hal.commands)
    spin.retire(node)


@pytest.mark.parametrize('hal', ['inproc'], indirect=True)
def test_debug_topics_show_scan_markers_and_velocities(ros_context, spin, hal, listener):
    from geometry_msgs.msg import Vector3Stamped
    from sensor_msgs.msg import PointCloud2
    from visualization_msgs.msg import MarkerArray

    got = {'cloud': [], 'markers': [], 'velocity': [], 'command': []}
    sub = listener.node.create_subscription
    sub(PointCloud2, '/parkour_node/height_scan', got['cloud'].append, qos_profile_sensor_data)
    sub(MarkerArray, '/parkour_node/markers', got['markers'].append, qos_profile_sensor_data)
    sub(
        Vector3Stamped,
        '/parkour_node/base_velocity',
        got['velocity'].append,
        qos_profile_sensor_data,
    )
    sub(
        Vector3Stamped,
        '/parkour_node/command_velocity',
        got['command'].append,
        qos_profile_sensor_data,
    )
    node = make_node(ros_context, hal, publish_debug_topics=True)
    spin(node, listener.node)
    assert node.trigger_configure() == SUCCESS and node.trigger_activate() == SUCCESS
    assert wait_for(lambda: all(got.values()))
    cloud = got['cloud'][-1]
    # The scan grid is yaw-aligned around the base: the cloud is in the yaw-only frame.
    assert cloud.width * cloud.height == 132 and cloud.header.frame_id == 'base_yaw'
    namespaces = {m.ns for m in got['markers'][-1].markers}
    assert {'height_scan', 'foot_contacts', 'command'} <= namespaces
    assert got['velocity'][-1].vector.x == 0.0
    node.trigger_shutdown()
    spin.retire(node)


@pytest.mark.parametrize('hal', ['inproc'], indirect=True)
def test_node_records_hal_frames_and_its_topics(ros_context, spin, hal, listener, tmp_path):
    from krabby_parkour_ros.recording.reader import RecordingReader

    rosbags = pytest.importorskip('rosbags.highlevel', reason='rosbags is not installed')
    node = make_node(ros_context, hal, record_path=str(tmp_path))
    spin(node, listener.node)
    assert node.trigger_configure() == SUCCESS and node.trigger_activate() == SUCCESS
    assert wait_for(lambda: listener.mode() == 'running')
    twist = Twist()
    twist.linear.x = 0.3
    for _ in range(20):
        listener.cmd_vel.publish(twist)
        time.sleep(0.02)
    assert wait_for(lambda: len(listener.messages['diagnostics']) >= 2)
    assert node.trigger_shutdown() == SUCCESS
    spin.retire(node)
    files = sorted(tmp_path.glob('parkour_*.mcap'))
    assert len(files) == 1
    reader = RecordingReader(files[0])
    observations = list(reader.observations())
    commands = list(reader.commands())
    assert observations and commands and not reader.truncated
    published = set(hal.published)
    assert all(r.observation().timestamp_ns in published for r in observations)
    # An independent reader lists and decodes the ROS topics.
    with rosbags.AnyReader([files[0]]) as bag:
        topics = {c.topic: c.msgtype for c in bag.connections}
        assert topics['/joint_states'] == 'sensor_msgs/msg/JointState'
        assert topics['/parkour_node/joint_commands'] == 'sensor_msgs/msg/JointState'
        assert topics['/parkour_node/mode'] == 'std_msgs/msg/String'
        assert topics['/diagnostics'] == 'diagnostic_msgs/msg/DiagnosticArray'
        assert topics['/cmd_vel'] == 'geometry_msgs/msg/Twist'
        modes = [
            bag.deserialize(raw, c.msgtype).data
            for c, _, raw in bag.messages(
                [c for c in bag.connections if c.topic == '/parkour_node/mode']
            )
        ]
        assert 'running' in modes

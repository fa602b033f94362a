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
Issue #14 parts 4 and 6: odometry, /tf and TwistStamped, with the real node.

The walking run drives the node against the simulated Go2 (:class:`SimHal`
in lockstep over inproc, so every observation is answered by one tick) and
compares what arrives on ``/tf``, ``odom`` and ``joint_states`` with the
simulator's own state at each observation (recorded by a hook when the
observation is published). robot_state_publisher is not installed: its
transforms are computed here from the URDF's joints and each
``joint_states`` message, as it does (revolute: origin then rotation about
the axis; fixed: origin).
"""

import copy
import math
import os
import threading
import time
import xml.etree.ElementTree as ET

from geometry_msgs.msg import Twist, TwistStamped
import mujoco
from nav_msgs.msg import Odometry
import numpy as np
import pytest
import rclpy
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.qos import qos_profile_sensor_data, QoSProfile
from sensor_msgs.msg import JointState
from tf2_msgs.msg import TFMessage

from krabby_parkour_ros.description.urdf import PACKAGED_URDF
from krabby_parkour_ros.node.qos import JOINT_STATES_QOS, ODOM_QOS, TF_QOS
from krabby_parkour_ros.sim.go2_model import FOOT_NAMES
from krabby_parkour_ros.sim.hal_server import SimHal, SimHalConfig, SimHooks

from .conftest import _make_context, Spinner
from .test_parkour_node import make_node, wait_for

SUCCESS = TransitionCallbackReturn.SUCCESS
#: Transforms of the walking run compared with the simulator.
WALK_TRANSFORMS = 300


class StateLog(SimHooks):
    """Record the simulator's true state at every published observation."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.positions: list[np.ndarray] = []
        self.orientations: list[np.ndarray] = []
        self.velocities: list[list[float]] = []
        self.feet: list[np.ndarray] = []
        self._foot_geoms = None

    def observation(self, robot, observation):
        if self._foot_geoms is None:
            self._foot_geoms = [robot.model.geom(name).id for name in FOOT_NAMES]
            self._scratch = mujoco.MjData(robot.model)
        # After mj_step, data.geom_xpos belongs to the state before the last
        # integration; the feet of the published qpos come from its own kinematics
        # (on a scratch copy: the hook must not touch the simulation).
        self._scratch.qpos[:] = robot.data.qpos
        mujoco.mj_kinematics(robot.model, self._scratch)
        with self.lock:
            self.positions.append(robot.base_position())
            self.orientations.append(robot.orientation_xyzw())
            self.velocities.append(list(observation.extensions['base_linear_velocity']))
            self.feet.append(np.array([self._scratch.geom_xpos[g] for g in self._foot_geoms]))
        return observation


def _every_message(qos: QoSProfile) -> QoSProfile:
    """Return ``qos`` with a queue deep enough to keep every message of the run."""
    # The node's depth (10 for joint_states and odom, 100 for /tf) would drop
    # the oldest samples whenever this process's executor stalls for more
    # than depth ticks, and the topics would then lose different stamps.
    deep = copy.copy(qos)
    deep.depth = 2000
    return deep


class Listener:
    """Keeps /tf, odom and joint_states as they arrive (every message)."""

    def __init__(self, context) -> None:
        self.node = rclpy.create_node('odometry_listener', context=context)
        self.tf: list[TFMessage] = []
        self.odom: list[Odometry] = []
        self.joint_states: list[JointState] = []
        self.node.create_subscription(TFMessage, '/tf', self.tf.append, _every_message(TF_QOS))
        self.node.create_subscription(
            Odometry, '/odom', self.odom.append, _every_message(ODOM_QOS)
        )
        self.node.create_subscription(
            JointState, '/joint_states', self.joint_states.append, _every_message(JOINT_STATES_QOS)
        )

    def transforms(self, parent: str, child: str) -> list:
        return [
            t
            for msg in list(self.tf)
            for t in msg.transforms
            if t.header.frame_id == parent and t.child_frame_id == child
        ]


def _stamp_ns(stamp) -> int:
    return stamp.sec * 1_000_000_000 + stamp.nanosec


def _quat_matrix(x: float, y: float, z: float, w: float) -> np.ndarray:
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def _homogeneous(rotation: np.ndarray, translation) -> np.ndarray:
    matrix = np.eye(4)
    matrix[:3, :3] = rotation
    matrix[:3, 3] = translation
    return matrix


def _transform_matrix(transform) -> np.ndarray:
    r, t = transform.transform.rotation, transform.transform.translation
    return _homogeneous(_quat_matrix(r.x, r.y, r.z, r.w), [t.x, t.y, t.z])


def _rpy_matrix(roll: float, pitch: float, yaw: float) -> np.ndarray:
    cr, sr, cp, sp = math.cos(roll), math.sin(roll), math.cos(pitch), math.sin(pitch)
    cy, sy = math.cos(yaw), math.sin(yaw)
    return (
        np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]])
        @ np.array([[cp, 0, sp], [0, 1, 0], [-sp, 0, cp]])
        @ np.array([[1, 0, 0], [0, cr, -sr], [0, sr, cr]])
    )


def _axis_matrix(axis, angle: float) -> np.ndarray:
    k = np.asarray(axis, float) / np.linalg.norm(axis)
    cross = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(angle) * cross + (1 - math.cos(angle)) * cross @ cross


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.split()]


class RobotStatePublisher:
    """The transforms robot_state_publisher publishes, from the URDF and joint_states."""

    def __init__(self, urdf_text: str) -> None:
        root = ET.fromstring(urdf_text)
        self.links = [link.get('name') for link in root.findall('link')]
        self.joints = []
        for joint in root.findall('joint'):
            origin = joint.find('origin')
            axis = joint.find('axis')
            self.joints.append(
                (
                    joint.get('name'),
                    joint.get('type'),
                    joint.find('parent').get('link'),
                    joint.find('child').get('link'),
                    _homogeneous(
                        _rpy_matrix(*_floats(origin.get('rpy'))), _floats(origin.get('xyz'))
                    ),
                    None if axis is None else _floats(axis.get('xyz')),
                )
            )

    def edges(self, joint_state: JointState) -> dict[str, tuple[str, np.ndarray]]:
        """Return child -> (parent, parent_T_child); movable joints only when in joint_state."""
        positions = dict(zip(joint_state.name, joint_state.position))
        edges = {}
        for name, kind, parent, child, origin, axis in self.joints:
            if kind == 'fixed':
                edges[child] = (parent, origin)  # /tf_static
            elif name in positions:
                rotation = _homogeneous(_axis_matrix(axis, positions[name]), [0.0, 0.0, 0.0])
                edges[child] = (parent, origin @ rotation)
        return edges


def _pose_in(root: str, frame: str, edges: dict[str, tuple[str, np.ndarray]]) -> np.ndarray:
    """Return root_T_frame by composing edges from ``frame`` up to ``root`` (KeyError: no path)."""
    matrix = np.eye(4)
    while frame != root:
        parent, parent_t_frame = edges[frame]
        matrix = parent_t_frame @ matrix
        frame = parent
    return matrix


@pytest.fixture(scope='module')
def walk():
    """
    Run the node against the simulated Go2 until WALK_TRANSFORMS odom transforms arrived.

    Lockstep: the simulator waits for the command answering each observation,
    so every observation gets exactly one control tick. The policy walks on
    (stand_on_zero_command false, teacher gait ~0.25 m/s on a zero command).
    """
    ros_context, peer_context = _make_context(), _make_context()
    spin = Spinner()
    log = StateLog()
    name = f'inproc://odom_sim_obs_{os.getpid()}'
    sim = SimHal(
        SimHalConfig(
            observation_endpoint=name,
            command_endpoint=name.replace('obs', 'cmd'),
            pacing='lockstep',
            lockstep_timeout_s=2.0,
            depth_height=4,
            depth_width=6,
        ),
        hooks=log,
    )
    sim.bind()
    listener = Listener(peer_context)
    node = make_node(ros_context, sim, stand_on_zero_command=False, publish_debug_topics=True)
    spin(node, listener.node)
    try:
        assert node.trigger_configure() == SUCCESS
        # Every message is compared by stamp across the three topics: start
        # only when the listener is matched on each (volatile samples
        # published before a match are not resent, so one topic matching
        # later than another would miss the first ticks).
        publishers = [node._joint_state_pub, *node._odometry.publishers]
        assert wait_for(
            lambda: all(p.get_subscription_count() > 0 for p in publishers), timeout=30.0
        ), 'listener not matched on joint_states, odom and /tf'
        assert node.trigger_activate() == SUCCESS
        sim.start()
        started = time.monotonic()
        assert wait_for(
            lambda: len(listener.transforms('odom', 'base_link')) >= WALK_TRANSFORMS, timeout=60.0
        )
        elapsed = time.monotonic() - started
        assert node.trigger_deactivate() == SUCCESS
        time.sleep(0.2)  # the last messages in flight
        sim.stop()
        yield {'listener': listener, 'log': log, 'sim': sim, 'elapsed': elapsed}
    finally:
        node.trigger_shutdown()
        spin.retire(node)
        spin.retire(listener.node)
        spin.shutdown()
        sim.close()
        rclpy.shutdown(context=ros_context)
        rclpy.shutdown(context=peer_context)


def _match(walk) -> list[tuple[object, int, float, float]]:
    """Return (transform, observation index, position error m, angle error rad) per transform."""
    log = walk['log']
    with log.lock:
        positions = np.array(log.positions)
        orientations = np.array(log.orientations)
    matches = []
    for transform in walk['listener'].transforms('odom', 'base_link'):
        t, r = transform.transform.translation, transform.transform.rotation
        distance = np.linalg.norm(positions - [t.x, t.y, t.z], axis=1)
        index = int(np.argmin(distance))
        dot = abs(float(np.dot(orientations[index], [r.x, r.y, r.z, r.w])))
        matches.append((transform, index, float(distance[index]), 2.0 * math.acos(min(1.0, dot))))
    return matches


def test_tf_carries_the_simulator_base_pose_once_per_control_tick(walk) -> None:
    matches = _match(walk)
    assert len(matches) >= WALK_TRANSFORMS
    position_errors = [m[2] for m in matches]
    angle_errors = [m[3] for m in matches]
    # Equal to MuJoCo's base pose at the observation (1 mm required; exact in fact).
    assert max(position_errors) < 1e-3 and max(angle_errors) < 1e-6
    assert max(position_errors) < 1e-9, max(position_errors)
    # The robot walked: a constant or stale pose could not match.
    positions = np.array(walk['log'].positions)
    assert np.ptp(positions[:, 0]) > 0.2
    # One transform per observation, in order, none skipped: the control rate
    # (every tick with a new observation; the HAL publishes at 100 Hz).
    indices = [m[1] for m in matches]
    assert np.all(np.diff(indices) == 1), np.diff(indices)
    # Stamped like joint_states of the same tick (robot_state_publisher's legs).
    state_stamps = {_stamp_ns(s.header.stamp) for s in walk['listener'].joint_states}
    assert all(_stamp_ns(m[0].header.stamp) in state_stamps for m in matches)
    # odom carries the same pose and the body-frame velocity of the observation.
    odom = {_stamp_ns(o.header.stamp): o for o in walk['listener'].odom}
    velocities = walk['log'].velocities
    for transform, index, _, _ in matches:
        msg = odom[_stamp_ns(transform.header.stamp)]
        assert (msg.header.frame_id, msg.child_frame_id) == ('odom', 'base_link')
        p = msg.pose.pose.position
        assert (p.x, p.y, p.z) == (
            transform.transform.translation.x,
            transform.transform.translation.y,
            transform.transform.translation.z,
        )
        v = msg.twist.twist.linear
        assert [v.x, v.y, v.z] == pytest.approx(velocities[index], abs=1e-12)


def test_tree_is_complete_from_odom_to_every_foot_and_matches_mujoco(walk) -> None:
    rsp = RobotStatePublisher(PACKAGED_URDF.read_text(encoding='utf-8'))
    assert rsp.links[0] == 'base_link'
    listener = walk['listener']
    states = {_stamp_ns(s.header.stamp): s for s in listener.joint_states}
    yaw = {_stamp_ns(t.header.stamp): t for t in listener.transforms('base_link', 'base_yaw')}
    feet = [f'{leg}_foot' for leg in FOOT_NAMES]
    worst = 0.0
    for transform, index, _, _ in _match(walk):
        stamp = _stamp_ns(transform.header.stamp)
        edges = rsp.edges(states[stamp])
        edges['base_link'] = ('odom', _transform_matrix(transform))
        edges['base_yaw'] = ('base_link', _transform_matrix(yaw[stamp]))
        # Every URDF link and the scan frame are reachable from odom.
        for frame in rsp.links + ['base_yaw']:
            _pose_in('odom', frame, edges)
        for k, foot in enumerate(feet):
            position = _pose_in('odom', foot, edges)[:3, 3]
            worst = max(worst, float(np.linalg.norm(position - walk['log'].feet[index][k])))
        # The yaw frame: base origin, z up, x along the base's heading.
        base_yaw = _pose_in('odom', 'base_yaw', edges)
        np.testing.assert_allclose(
            base_yaw[:3, 3], _transform_matrix(transform)[:3, 3], atol=1e-12
        )
        np.testing.assert_allclose(base_yaw[:3, 2], [0.0, 0.0, 1.0], atol=1e-9)
    # joint_states carries float32 joint angles: micrometres, far below the few mm allowed.
    assert worst < 3e-3
    assert worst < 1e-4, worst


# -- the scripted HAL (no base_position key) ----------------------------------------------


class Talker:
    """Publishes cmd_vel (one type per participant: DDS refuses two) and keeps /tf, odom."""

    def __init__(self, context) -> None:
        self.node = rclpy.create_node('cmd_vel_talker', context=context)
        self.tf: list[TFMessage] = []
        self.odom: list[Odometry] = []
        self.node.create_subscription(TFMessage, '/tf', self.tf.append, TF_QOS)
        self.node.create_subscription(Odometry, '/odom', self.odom.append, ODOM_QOS)

    def cmd_vel(self, msg_type):
        return self.node.create_publisher(msg_type, '/cmd_vel', qos_profile_sensor_data)


@pytest.fixture
def talker(peer_context, spin):
    node = Talker(peer_context)
    yield node
    spin.retire(node.node)


@pytest.mark.parametrize('hal', ['inproc'], indirect=True)
def test_twist_stamped_drives_the_robot(ros_context, spin, hal, talker) -> None:
    node = make_node(ros_context, hal, cmd_vel_stamped=True)
    spin(node, talker.node)
    assert node.trigger_configure() == SUCCESS and node.trigger_activate() == SUCCESS
    assert node._cmd_vel_sub.msg_type is TwistStamped
    publisher = talker.cmd_vel(TwistStamped)
    msg = TwistStamped()
    msg.header.frame_id = 'base_link'
    msg.twist.linear.x = 0.5
    msg.twist.angular.z = -0.25

    def sent() -> bool:
        msg.header.stamp = node.get_clock().now().to_msg()
        publisher.publish(msg)
        command = node._runtime.step.navigation_command
        return command.vx == 0.5 and command.yaw_rate == -0.25

    assert wait_for(sent, timeout=10.0)
    # The same validation path as Twist: NaN is ignored and counted.
    invalid = node.node_counters['invalid_cmd_vel']
    msg.twist.linear.x = float('nan')
    for _ in range(20):
        publisher.publish(msg)
        time.sleep(0.01)
    assert wait_for(lambda: node.node_counters['invalid_cmd_vel'] > invalid)
    assert node._runtime.step.navigation_command.vx == 0.5
    node.trigger_shutdown()
    spin.retire(node)


@pytest.mark.parametrize('hal', ['inproc'], indirect=True)
def test_twist_stays_the_default(ros_context, spin, hal, talker) -> None:
    node = make_node(ros_context, hal)
    spin(node, talker.node)
    assert node.trigger_configure() == SUCCESS and node.trigger_activate() == SUCCESS
    assert node._cmd_vel_sub.msg_type is Twist
    publisher = talker.cmd_vel(Twist)
    twist = Twist()
    twist.linear.x = 0.5

    def sent() -> bool:
        publisher.publish(twist)
        return node._runtime.step.navigation_command.vx == 0.5

    assert wait_for(sent, timeout=10.0)
    node.trigger_shutdown()
    spin.retire(node)


@pytest.mark.parametrize('hal', ['inproc'], indirect=True)
def test_without_a_base_pose_no_odometry_but_the_scan_frame(
    ros_context, spin, hal, talker
) -> None:
    # The scripted HAL sends the IMU orientation but no base_position.
    node = make_node(ros_context, hal)
    spin(node, talker.node)
    assert node.trigger_configure() == SUCCESS and node.trigger_activate() == SUCCESS
    assert wait_for(lambda: node._odometry.counts['without_pose'] > 20)
    assert wait_for(lambda: len(talker.tf) > 20)
    pairs = {(t.header.frame_id, t.child_frame_id) for m in talker.tf for t in m.transforms}
    assert pairs == {('base_link', 'base_yaw')}
    assert talker.odom == [] and node._odometry.counts['with_pose'] == 0
    node.trigger_shutdown()
    spin.retire(node)


@pytest.mark.parametrize('hal', ['inproc'], indirect=True)
def test_odometry_off_and_bad_frames(ros_context, spin, hal, talker) -> None:
    node = make_node(ros_context, hal, publish_odometry=False)
    spin(node, talker.node)
    assert node.trigger_configure() == SUCCESS
    assert node._odometry is None
    topics = {publisher.topic_name for publisher in node.publishers}
    assert '/joint_states' in topics and not topics & {'/tf', '/odom'}
    assert node.trigger_cleanup() == SUCCESS
    spin.retire(node)
    bad = make_node(ros_context, hal, base_frame='/base_link')
    spin(bad, talker.node)
    assert bad.trigger_configure() == TransitionCallbackReturn.FAILURE
    assert bad._runtime is None
    same = make_node(ros_context, hal, yaw_frame='base_link')
    spin(same)
    assert same.trigger_configure() == TransitionCallbackReturn.FAILURE
    spin.retire(bad)
    spin.retire(same)

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
The ``parkour_node`` lifecycle node: a thin ROS shell around the control runtime.

- configure: read and check parameters, load the policy (warm-up) and check
  its card, connect the HAL, create publishers/services/timers.
- activate: start the control thread (:class:`ControlLoop`, paced at
  ``control_rate``); soft start.
- deactivate: stop and join the control thread, which sends the hold target
  once more (the HAL keeps holding it). A latched fault turns this into the
  error transition.
- cleanup / shutdown / error: hold, then release every resource.

The executor only serves ROS I/O (services, ``cmd_vel``, parameters, the
status timer); nothing in it blocks (docs/node.md).

Topics (names relative to the node's namespace): ``joint_states`` (measured),
``~/joint_commands`` (targets sent), ``~/policy_action`` (clipped raw action),
``~/mode`` (control mode), ``~/policy_observation`` (debug, off by default),
``/diagnostics``, ``odom`` and ``/tf`` (odometry, :mod:`.odometry`); input
``cmd_vel`` (``Twist``, or ``TwistStamped`` with ``cmd_vel_stamped``).
Services: ``~/hold``, ``~/release``.

No message and no parameter value ends the process: invalid ``cmd_vel``
messages are ignored, counted (``invalid_cmd_vel`` in ``/diagnostics``) and
logged rate-limited; hostile parameter values are refused with a reason; an
unexpected exception in any callback is logged and counted
(``callback_errors``), never propagated (docs/safety.md).

Length: about 710 lines, beyond the usual ~450. The lifecycle callbacks of one node with
their ROS entities and guarded callbacks; everything that is not ROS wiring lives in
:mod:`krabby_parkour_ros.control`, publishing helpers in the sibling modules.
"""

from __future__ import annotations

from collections.abc import Callable
import threading
from typing import Any, TypeVar

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Twist, TwistStamped
import numpy as np
from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    SetParametersResult,
)
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.publisher import Publisher
from rclpy.timer import Timer
from sensor_msgs.msg import JointState
from std_msgs.msg import Float32MultiArray, MultiArrayDimension, String
from std_srvs.srv import Trigger
import zmq

from krabby_parkour_ros.control.loop import ControlLoop
from krabby_parkour_ros.control.runtime import ControlRuntime, RuntimeConfig
from krabby_parkour_ros.control.step import ShadowModeError, TickResult
from krabby_parkour_ros.mapping.navigation import NavigationCommand, NavigationError
from krabby_parkour_ros.node.debug_publishers import DebugPublishers
from krabby_parkour_ros.node.diagnostics import (
    DiagnosticsMonitor,
    DiagnosticThresholds,
    robot_hardware_id,
)
from krabby_parkour_ros.node.odometry import frames_from_parameters, OdometryPublishers
from krabby_parkour_ros.node.parameters import (
    CONFIGURE,
    LIVE,
    PARAMETERS,
    ParamSpec,
    runtime_config_from_values,
    SPECS,
    WIRING,
)
from krabby_parkour_ros.node.qos import JOINT_STATES_QOS, SENSOR_QOS, STATUS_QOS
from krabby_parkour_ros.recording.recorder import HalRecorder
from krabby_parkour_ros.recording.session import detach_recorder, open_recorder

#: Seconds between two log lines of the same rate-limited warning.
LOG_THROTTLE_S = 5.0

_Result = TypeVar('_Result')
_Resource = TypeVar('_Resource')


class NodeNotConfiguredError(RuntimeError):
    """A resource that exists only while the node is configured was used without it."""


def _configured(resource: _Resource | None, what: str) -> _Resource:
    """
    Return ``resource``, created by ``on_configure``.

    :raises NodeNotConfiguredError: naming ``what`` when it is None.
    """
    if resource is None:
        raise NodeNotConfiguredError(
            f'{what}: expected it created by on_configure, got None (node not configured)'
        )
    return resource


def _descriptor(spec: ParamSpec) -> ParameterDescriptor:
    constraints = {
        WIRING: 'read-only: set at launch',
        CONFIGURE: 'changeable only while unconfigured (read in on_configure)',
        LIVE: 'applied immediately',
    }[spec.kind]
    if spec.choices is not None:
        constraints += '; one of: ' + ', '.join(spec.choices)
    descriptor = ParameterDescriptor(
        description=spec.description,
        additional_constraints=constraints,
        read_only=spec.kind == WIRING,
    )
    if spec.value_range is not None and isinstance(spec.default, float):
        descriptor.floating_point_range = [
            FloatingPointRange(
                from_value=float(spec.value_range[0]), to_value=float(spec.value_range[1])
            )
        ]
    elif (
        spec.value_range is not None
        and isinstance(spec.default, int)
        and not isinstance(spec.default, bool)
    ):
        descriptor.integer_range = [
            IntegerRange(from_value=int(spec.value_range[0]), to_value=int(spec.value_range[1]))
        ]
    return descriptor


class ParkourNode(LifecycleNode):
    """
    Lifecycle node running a parkour policy on the robot behind the Krabby HAL.

    :param node_name: ROS node name.
    :param transport_context: ZeroMQ context shared with an in-process HAL
        server (``inproc://`` endpoints); None for tcp.
    """

    def __init__(
        self,
        node_name: str = 'parkour_node',
        transport_context: zmq.Context | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(node_name, **kwargs)
        self._transport_context = transport_context
        for spec in PARAMETERS:
            self.declare_parameter(spec.name, spec.default, _descriptor(spec))
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self._runtime: ControlRuntime | None = None
        self._tick_lock = threading.Lock()
        # Held while status callbacks publish and while _release destroys the
        # entities, so a transition never destroys a publisher in use.
        self._status_lock = threading.RLock()
        self._status_group = MutuallyExclusiveCallbackGroup()
        self._loop: ControlLoop | None = None
        self._diagnostics_timer: Timer | None = None
        self._fault_timer: Timer | None = None
        self._entities: list[Any] = []
        self._mode_pub: Publisher | None = None
        self._debug: DebugPublishers | None = None
        self._odometry: OdometryPublishers | None = None
        self._recorder: HalRecorder | None = None
        self._diagnostics: DiagnosticsMonitor | None = None
        self._publish_observation = bool(self.get_parameter('publish_observation').value)
        self._joint_state_msg: JointState | None = None
        self._command_msg: JointState | None = None
        #: The node's own counters (shown in /diagnostics next to the controller's).
        self.node_counters: dict[str, int] = {
            'cmd_vel_received': 0,
            'invalid_cmd_vel': 0,
            'parameters_refused': 0,
            'callback_errors': 0,
        }

    # -- hostile input -------------------------------------------------------------------

    def record_unexpected(self, where: str, exc: BaseException) -> None:
        """
        Count and log (rate-limited) an unexpected exception of a callback.

        The callback's effect is lost, the process goes on: called by the
        guards around every callback of the node and by the entry point's
        executor loop for rclpy's own services.
        """
        self.node_counters['callback_errors'] += 1
        self.get_logger().error(
            f'{where}: unexpected {type(exc).__name__}: {exc} (ignored; '
            f'{self.node_counters["callback_errors"]} so far)',
            throttle_duration_sec=LOG_THROTTLE_S,
        )

    def _guarded(
        self, where: str, call: Callable[[], _Result], fallback: Callable[[], _Result]
    ) -> _Result:
        """Return ``call()``; on an unexpected exception record it and return ``fallback()``."""
        try:
            return call()
        except Exception as exc:  # noqa: B902 - a callback must never end the process
            self.record_unexpected(where, exc)
            return fallback()

    # -- parameters ----------------------------------------------------------------------

    def _on_set_parameters(self, params: list[Parameter]) -> SetParametersResult:
        result = self._guarded(
            'set_parameters',
            lambda: self._check_and_apply(params),
            lambda: SetParametersResult(successful=False, reason='internal error (logged)'),
        )
        if not result.successful:
            self.node_counters['parameters_refused'] += 1
            self.get_logger().warning(
                f'parameters refused: {result.reason}', throttle_duration_sec=LOG_THROTTLE_S
            )
        return result

    def _check_and_apply(self, params: list[Parameter]) -> SetParametersResult:
        configured = self._runtime is not None
        for param in params:
            spec = SPECS.get(param.name)
            if spec is None:
                continue
            problem = spec.check(param.value)
            if problem is not None:
                return SetParametersResult(successful=False, reason=problem)
            if spec.kind == CONFIGURE and configured:
                return SetParametersResult(
                    successful=False,
                    reason=f'{param.name} is read in on_configure: clean up the node, '
                    'change it, then configure again',
                )
        # shadow_mode first: it is the only change the controller may refuse.
        for param in params:
            if param.name == 'shadow_mode':
                problem = self._set_shadow(bool(param.value))
                if problem is not None:
                    return SetParametersResult(successful=False, reason=problem)
        for param in params:
            if param.name == 'publish_observation':
                self._publish_observation = bool(param.value)
        return SetParametersResult(successful=True)

    def _set_shadow(self, shadow: bool) -> str | None:
        """
        Apply ``shadow_mode``; return why it was refused, or None.

        Entering shadow mode is refused while active (the HAL would hold a
        mid-gait target and the robot falls); leaving it while active
        restarts through the soft start. Unconfigured, the value is read by
        the next configure.
        """
        if self._runtime is None:
            self.get_logger().info(
                f'shadow_mode {shadow} requested (parameter) while '
                'unconfigured: used by the next configure'
            )
            return None
        try:
            self._runtime.step.set_shadow(shadow, cause='shadow_mode parameter')
        except ShadowModeError as exc:
            return str(exc)
        return None

    # -- lifecycle -----------------------------------------------------------------------

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Load, check and connect everything; FAILURE (retryable) with the reason."""
        try:
            config = runtime_config_from_values(lambda n: self.get_parameter(n).value)
            self._open_recording(config)
            runtime = ControlRuntime.build(
                config, context=self._transport_context, recorder=self._recorder
            )
            self._runtime = runtime
            self._create_ros_entities(runtime)
        except (ValueError, OSError, RuntimeError, zmq.ZMQError) as exc:
            self.get_logger().error(f'configure failed: {exc}')
            self._release()
            return TransitionCallbackReturn.FAILURE
        self.get_logger().info(
            f'configured: policy {runtime.contract.name} ({runtime.model.backend}, '
            f'{"trained" if runtime.model.trained else "UNTRAINED"}), joint map '
            f'{runtime.joint_map.name}, {config.control.control_rate:g} Hz ticks, policy every '
            f'{config.control.policy_decimation} ticks, HAL {config.hal.observation_endpoint}'
        )
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Start the control thread; the soft start begins at the first fresh data."""
        result = super().on_activate(state)
        if result != TransitionCallbackReturn.SUCCESS:
            return result
        _configured(self._loop, 'control loop').start()
        self._publish_mode()
        self.get_logger().info('activated: soft start towards the default pose')
        return TransitionCallbackReturn.SUCCESS

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Stop ticking and hold; ERROR when a fault is latched."""
        faulted = self._stop_and_hold()
        super().on_deactivate(state)
        if faulted:
            self.get_logger().error('deactivated because of a latched fault: error transition')
            return TransitionCallbackReturn.ERROR
        self.get_logger().info('deactivated: the HAL holds the last safe target')
        return TransitionCallbackReturn.SUCCESS

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Release every resource; the node can be configured again."""
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Hold, then release everything (from any state)."""
        configured = self._runtime is not None
        self._stop_and_hold()
        self._release()
        self.get_logger().info(
            'shut down: the HAL holds the last safe target'
            if configured
            else 'shut down (unconfigured: no HAL link to hold)'
        )
        return TransitionCallbackReturn.SUCCESS

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Safe behaviour after an error: hold the last safe target, release."""
        self._stop_and_hold()
        self._release()
        self.get_logger().error('error processed: holding the last safe target, unconfigured')
        return TransitionCallbackReturn.SUCCESS

    def destroy_node(self) -> None:
        """Stop the control thread (it sends the hold target), release everything, destroy."""
        self._stop_and_hold()
        self._release()
        super().destroy_node()

    def _stop_and_hold(self) -> bool:
        """Stop the control thread (it sends the hold target); return True if faulted."""
        runtime = self._runtime
        if runtime is None:
            return False
        if self._loop is not None:
            try:
                self._loop.stop()
            except RuntimeError as exc:
                self.get_logger().error(f'{exc}: sending the hold target from here')
                self._loop.send_hold()
        self._publish_mode()
        return runtime.step.fault_latched

    # -- resources -----------------------------------------------------------------------

    def _create_ros_entities(self, runtime: ControlRuntime) -> None:
        frames = frames_from_parameters(self)  # checked before anything is created
        self._joint_state_pub = self.create_lifecycle_publisher(
            JointState, 'joint_states', JOINT_STATES_QOS
        )
        self._command_pub = self.create_lifecycle_publisher(
            JointState, '~/joint_commands', SENSOR_QOS
        )
        self._action_pub = self.create_lifecycle_publisher(
            Float32MultiArray, '~/policy_action', SENSOR_QOS
        )
        self._observation_pub = self.create_lifecycle_publisher(
            Float32MultiArray, '~/policy_observation', SENSOR_QOS
        )
        self._mode_pub = self.create_publisher(String, '~/mode', STATUS_QOS)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, '/diagnostics', STATUS_QOS)
        self._cmd_vel_sub = self.create_subscription(
            TwistStamped if self.get_parameter('cmd_vel_stamped').value else Twist,
            'cmd_vel',
            self._on_cmd_vel,
            SENSOR_QOS,
            callback_group=self._status_group,
        )
        self._hold_srv = self.create_service(
            Trigger, '~/hold', self._on_hold, callback_group=self._status_group
        )
        self._release_srv = self.create_service(
            Trigger, '~/release', self._on_release, callback_group=self._status_group
        )
        self._loop = ControlLoop(
            runtime.step,
            runtime.driver,
            runtime.hal,
            on_tick=self._on_tick,
            on_fault=self._on_fault_latched,
            name='parkour-control',
            realtime_priority=runtime.config.control.realtime_priority,
            model=runtime.model,
            warm_decoder=runtime.hal.warm_decoder,
        )
        self._diagnostics_timer = self.create_timer(
            float(self.get_parameter('diagnostics_period').value),
            self._on_diagnostics,
            callback_group=self._status_group,
        )
        names = list(runtime.joint_map.hardware_joint_names)
        self._joint_state_msg = JointState(name=names)
        self._command_msg = JointState(name=names)
        self._action_msg = Float32MultiArray()
        self._action_msg.layout.dim = [
            MultiArrayDimension(
                label='policy_joints:' + ','.join(runtime.joint_map.policy_joint_names),
                size=len(runtime.joint_map.policy_joint_names),
                stride=len(runtime.joint_map.policy_joint_names),
            )
        ]
        debug = bool(self.get_parameter('publish_debug_topics').value)
        self._debug = (
            DebugPublishers(self, runtime, recorder=self._recorder, frames=frames)
            if debug
            else None
        )
        odometry = bool(self.get_parameter('publish_odometry').value)
        self._odometry = (
            OdometryPublishers(self, frames, odometry, odometry or debug, publish=self._record)
            if odometry or debug
            else None
        )
        if self._recorder is not None:
            # Declared once: listed in the recording (with its QoS) before any message.
            self._recorder.register_topic(
                self._cmd_vel_sub.topic_name,
                self._cmd_vel_sub.msg_type,
                self._cmd_vel_sub.qos_profile,
            )
        self._diagnostics = DiagnosticsMonitor(
            self.get_name(),
            robot_hardware_id(self.get_parameter('robot_name').value, runtime.joint_map.name),
            DiagnosticThresholds.from_values(lambda n: self.get_parameter(n).value),
        )
        self._entities = [
            self._joint_state_pub,
            self._command_pub,
            self._action_pub,
            self._observation_pub,
            self._mode_pub,
            self._diagnostics_pub,
            self._cmd_vel_sub,
            self._hold_srv,
            self._release_srv,
            self._diagnostics_timer,
        ]

    def _open_recording(self, config: RuntimeConfig) -> None:
        path = self.get_parameter('record_path').value
        if not path:
            return
        recorder = open_recorder(
            path,
            int(self.get_parameter('record_max_file_mb').value) << 20,
            metadata={
                'node': self.get_fully_qualified_name(),
                'joint_map': config.joint_map,
                'robot': robot_hardware_id(
                    self.get_parameter('robot_name').value, config.joint_map
                ),
                'checkpoint': config.checkpoint or 'shipped go2_parkour_teacher',
            },
            compression=self.get_parameter('record_compression').value,
        )
        self._recorder = recorder
        self.get_logger().info(f'recording to {recorder.path}')

    def _record(self, publisher: Publisher, msg: Any) -> None:
        """Publish ``msg`` and, when recording, record it under the publisher's topic."""
        publisher.publish(msg)
        if self._recorder is not None:
            # The publisher's QoS is recorded with its topic (ros2 bag play replays it).
            self._recorder.record_published(publisher, msg)

    def _release(self) -> None:
        with self._tick_lock, self._status_lock:
            if self._recorder is not None:
                stats = detach_recorder(
                    self._runtime.hal if self._runtime else None, self._recorder
                )
                self.get_logger().info(
                    f'recording closed: {stats.get("written")} records, '
                    f'{stats.get("dropped")} dropped'
                )
                self._recorder = None
            self._destroy_entities()
            if self._runtime is not None:
                self._runtime.close()
                self._runtime = None

    def _destroy_entities(self) -> None:
        for entity in self._entities:
            if isinstance(entity, Timer):
                entity.cancel()
                self.destroy_timer(entity)
            elif entity in (
                self._joint_state_pub,
                self._command_pub,
                self._action_pub,
                self._observation_pub,
            ):
                self.destroy_lifecycle_publisher(entity)
            elif hasattr(entity, 'srv_type'):
                self.destroy_service(entity)
            elif hasattr(entity, 'msg_type') and hasattr(entity, 'callback'):
                self.destroy_subscription(entity)
            else:
                self.destroy_publisher(entity)
        self._entities = []
        if self._debug is not None:
            self._debug.destroy()
            self._debug = None
        if self._odometry is not None:
            self._odometry.destroy()
            self._odometry = None
        self._loop = None
        self._diagnostics_timer = None
        self._diagnostics = None

    # -- callbacks -----------------------------------------------------------------------

    def _on_tick(self, result: TickResult) -> None:
        """Publish one tick's results (called in the control thread)."""
        with self._tick_lock:
            if self._runtime is None:
                return
            self._publish_tick(result)
            if self._recorder is not None:
                # The writer runs between ticks, not during them (HalRecorder.kick).
                self._recorder.kick()

    def _on_fault_latched(self) -> None:
        # Called in the control thread, which stops next: the lifecycle
        # transition runs in the executor (deactivate joins this thread).
        if self._fault_timer is None:
            self._fault_timer = self.create_timer(
                0.0, self._on_fault, callback_group=self._status_group
            )

    def _on_fault(self) -> None:
        self._guarded('fault handling', self._handle_fault, lambda: None)

    def _handle_fault(self) -> None:
        timer, self._fault_timer = self._fault_timer, None
        if timer is not None:
            timer.cancel()
            self.destroy_timer(timer)
        failures = self._runtime.step.consecutive_failures if self._runtime else 0
        self.get_logger().error(
            f'fault latched after {failures} consecutive policy failures: '
            'taking the lifecycle error transition'
        )
        self.trigger_deactivate()

    def _publish_tick(self, result: TickResult) -> None:
        stamp = self.get_clock().now().to_msg()
        obs = result.observation
        if result.new_observation and obs is not None:
            msg = _configured(self._joint_state_msg, 'joint_states message')
            msg.header.stamp = stamp
            msg.position = obs.joint_positions.tolist()
            velocities = obs.extensions.joint_velocities
            msg.velocity = [] if velocities is None else velocities.tolist()
            self._record(self._joint_state_pub, msg)
            if self._odometry is not None:
                # Same stamp as joint_states: robot_state_publisher's leg transforms match.
                self._odometry.publish(obs, stamp)
        if result.command is not None:
            msg = _configured(self._command_msg, 'joint_commands message')
            msg.header.stamp = stamp
            msg.position = result.command.tolist()
            self._record(self._command_pub, msg)
        if result.action is not None:
            self._action_msg.data = result.action.tolist()
            self._record(self._action_pub, self._action_msg)
        if self._publish_observation and result.policy_observation is not None:
            self._record(
                self._observation_pub, self._observation_message(result.policy_observation)
            )
        if self._debug is not None:
            self._debug.publish(result)

    def _observation_message(self, vector: np.ndarray) -> Float32MultiArray:
        contract = _configured(self._runtime, 'control runtime').contract
        msg = Float32MultiArray()
        msg.layout.dim = [
            MultiArrayDimension(
                label=f'{name}:{s.start}:{s.stop}', size=s.stop - s.start, stride=s.stop - s.start
            )
            for name, s in contract.layout.slices().items()
        ]
        msg.data = vector.tolist()
        return msg

    def _on_cmd_vel(self, msg: Twist | TwistStamped) -> None:
        self._guarded('cmd_vel', lambda: self._apply_cmd_vel(msg), lambda: None)

    def _apply_cmd_vel(self, msg: Twist | TwistStamped) -> None:
        # Twist or TwistStamped (cmd_vel_stamped): one validation path for both.
        twist = msg.twist if isinstance(msg, TwistStamped) else msg
        self.node_counters['cmd_vel_received'] += 1
        with self._status_lock:
            if self._runtime is None:
                return
            if self._recorder is not None:
                self._recorder.record_ros(self._cmd_vel_sub.topic_name, msg)
            try:
                command = NavigationCommand(
                    vx=twist.linear.x, vy=twist.linear.y, yaw_rate=twist.angular.z
                )
            except NavigationError as exc:
                # The previous command stays in force until cmd_vel_timeout.
                self.node_counters['invalid_cmd_vel'] += 1
                self.get_logger().warning(
                    f'cmd_vel ignored: {exc} ({self.node_counters["invalid_cmd_vel"]} invalid '
                    'so far)',
                    throttle_duration_sec=LOG_THROTTLE_S,
                )
                return
            used = self._runtime.step.set_navigation_command(command)
        if (
            used.vx != twist.linear.x
            or used.vy != twist.linear.y
            or used.yaw_rate != twist.angular.z
        ):
            self.get_logger().warning(
                f'cmd_vel clamped to vx={used.vx:.3f} vy={used.vy:.3f} '
                f'yaw_rate={used.yaw_rate:.3f} (limits in nav.* parameters; vy is not a '
                'policy input)',
                throttle_duration_sec=LOG_THROTTLE_S,
            )

    def _on_hold(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        return self._user_request(response, 'hold', 'holding the last safe target')

    def _on_release(
        self, request: Trigger.Request, response: Trigger.Response
    ) -> Trigger.Response:
        return self._user_request(
            response, 'release', 'released: ramping to the default pose, then the policy resumes'
        )

    def _user_request(
        self, response: Trigger.Response, action: str, message: str
    ) -> Trigger.Response:
        def refuse(reason: str) -> Trigger.Response:
            response.success = False
            response.message = reason
            return response

        def apply() -> Trigger.Response:
            # ControlStep serialises hold/release with the ticks of the control
            # thread and logs the request and the mode change with the cause.
            with self._status_lock:
                if self._runtime is None:
                    self.get_logger().info(
                        f'{action} requested (~/{action} service) while unconfigured: refused'
                    )
                    return refuse('not configured')
                getattr(self._runtime.step, action)(cause=f'~/{action} service')
            self._publish_mode()
            response.success = True
            response.message = message
            return response

        return self._guarded(f'~/{action}', apply, lambda: refuse('internal error (logged)'))

    def _publish_mode(self) -> None:
        with self._status_lock:
            if self._runtime is None or self._mode_pub is None or not self.context.ok():
                return
            self._record(self._mode_pub, String(data=self._runtime.step.mode.value))

    def _on_diagnostics(self) -> None:
        self._guarded('diagnostics', self._publish_diagnostics, lambda: None)

    def _publish_diagnostics(self) -> None:
        with self._status_lock:
            runtime = self._runtime
            if runtime is None or self._diagnostics is None:
                return
            array = DiagnosticArray()
            array.header.stamp = self.get_clock().now().to_msg()
            scheduler = self._loop.scheduler if self._loop is not None else 'default'
            array.status = self._diagnostics.statuses(
                runtime,
                extra=[('control_thread_scheduler', scheduler)]
                + [(key, str(value)) for key, value in sorted(self.node_counters.items())],
                recorder_stats=self._recorder.stats() if self._recorder is not None else None,
            )
            self._record(self._diagnostics_pub, array)
            self._publish_mode()

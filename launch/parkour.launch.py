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
Launch the krabby_parkour lifecycle node.

``ros2 launch krabby_parkour parkour.launch.py [arg:=value ...]``; every
argument is listed by ``ros2 launch krabby_parkour parkour.launch.py -s``.
With ``autostart:=true`` (default) the node is configured at start and
activated when its configure ends in inactive, through lifecycle events.
Autostart acts once: a later ``ros2 lifecycle set <node> deactivate`` stays
deactivated (the activation follows only the configuring -> inactive
transition, never deactivating -> inactive).

DDS discovery is localhost-only by default (``discovery_range:=localhost``):
the lifecycle services, ``~/hold``, the parameters and ``cmd_vel`` are not
reachable from other hosts. ``discovery_range:=subnet`` opens them to the
LAN; do that with SROS2 (docs/hardening.md).
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchContext, LaunchDescription
from launch.actions import (
    DeclareLaunchArgument,
    EmitEvent,
    OpaqueFunction,
    RegisterEventHandler,
    SetEnvironmentVariable,
)
from launch.conditions import IfCondition
from launch.events import matches_action
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode, Node
from launch_ros.event_handlers import OnStateTransition
from launch_ros.events.lifecycle import ChangeState
from lifecycle_msgs.msg import Transition

#: Launch arguments that override one node parameter when not empty.
PARAMETER_ARGUMENTS = {
    'checkpoint': (
        'checkpoint',
        'Policy checkpoint path (empty: params file, else the shipped trained teacher).',
    ),
    'policy_card': (
        'policy_card',
        'Policy card YAML for a checkpoint without one beside it (empty: params file).',
    ),
    'observation_endpoint': (
        'hal.observation_endpoint',
        'HAL observation endpoint, e.g. tcp://robot:6001 (empty: params file).',
    ),
    'command_endpoint': (
        'hal.command_endpoint',
        'HAL command endpoint, e.g. tcp://robot:6002 (empty: params file).',
    ),
}


#: discovery_range argument -> (ROS_AUTOMATIC_DISCOVERY_RANGE (Jazzy and later),
#: ROS_LOCALHOST_ONLY (Humble, which ignores the former)).
DISCOVERY_RANGES = {
    'localhost': ('LOCALHOST', '1'),
    'subnet': ('SUBNET', '0'),
    'off': ('OFF', '1'),
    'system_default': ('SYSTEM_DEFAULT', '0'),
}


def _share(*parts: str) -> str:
    return os.path.join(get_package_share_directory('krabby_parkour'), *parts)


def _default_params_file() -> str:
    return _share('config', 'parkour.yaml')


def _visual_actions(context: LaunchContext) -> list:
    """Return robot_state_publisher and rviz2 (each only when asked for)."""
    namespace = LaunchConfiguration('namespace')
    actions = []
    if IfCondition(LaunchConfiguration('robot_state_publisher')).evaluate(context):
        urdf_path = LaunchConfiguration('urdf').perform(context) or _share('urdf', 'go2.urdf')
        with open(urdf_path, encoding='utf-8') as handle:
            description = handle.read()
        actions.append(
            Node(
                package='robot_state_publisher',
                executable='robot_state_publisher',
                name='robot_state_publisher',
                namespace=namespace,
                output='screen',
                parameters=[{'robot_description': description}],
            )
        )
    if IfCondition(LaunchConfiguration('rviz')).evaluate(context):
        config = LaunchConfiguration('rviz_config').perform(context) or _share(
            'config', 'parkour.rviz'
        )
        actions.append(
            Node(
                package='rviz2',
                executable='rviz2',
                name='rviz2',
                namespace=namespace,
                arguments=['-d', config],
                output='screen',
            )
        )
    return actions


def _discovery_actions(context: LaunchContext) -> list:
    """Return the environment settings of the DDS discovery range (before any node starts)."""
    automatic, localhost_only = DISCOVERY_RANGES[
        LaunchConfiguration('discovery_range').perform(context)
    ]
    return [
        SetEnvironmentVariable('ROS_AUTOMATIC_DISCOVERY_RANGE', automatic),
        SetEnvironmentVariable('ROS_LOCALHOST_ONLY', localhost_only),
    ]


def _node_actions(context: LaunchContext) -> list:
    overrides = {}
    for argument, (parameter, _) in PARAMETER_ARGUMENTS.items():
        value = LaunchConfiguration(argument).perform(context)
        if value:
            overrides[parameter] = value
    node = LifecycleNode(
        package='krabby_parkour',
        executable='parkour_node',
        name='parkour_node',
        namespace=LaunchConfiguration('namespace'),
        output='screen',
        parameters=[LaunchConfiguration('params_file'), overrides],
        arguments=['--ros-args', '--log-level', LaunchConfiguration('log_level')],
    )
    autostart = IfCondition(LaunchConfiguration('autostart'))
    configure = EmitEvent(
        event=ChangeState(
            lifecycle_node_matcher=matches_action(node),
            transition_id=Transition.TRANSITION_CONFIGURE,
        ),
        condition=autostart,
    )
    # Only the configure -> inactive transition activates: a deactivate also
    # ends in inactive, and a handler on goal_state alone would undo it.
    activate = RegisterEventHandler(
        OnStateTransition(
            target_lifecycle_node=node,
            start_state='configuring',
            goal_state='inactive',
            entities=[
                EmitEvent(
                    event=ChangeState(
                        lifecycle_node_matcher=matches_action(node),
                        transition_id=Transition.TRANSITION_ACTIVATE,
                    )
                )
            ],
        ),
        condition=autostart,
    )
    return [node, activate, configure]


def generate_launch_description() -> LaunchDescription:
    """Return the launch description of the parkour node."""
    arguments = [
        DeclareLaunchArgument(
            'params_file',
            default_value=_default_params_file(),
            description='ROS parameters YAML of the node.',
        ),
        DeclareLaunchArgument(
            'namespace', default_value='', description='Namespace of the node and its topics.'
        ),
        DeclareLaunchArgument(
            'autostart',
            default_value='true',
            choices=['true', 'false'],
            description='Configure and activate the node at start.',
        ),
        DeclareLaunchArgument(
            'discovery_range',
            default_value='localhost',
            choices=list(DISCOVERY_RANGES),
            description='DDS discovery of the started nodes: localhost (only '
            'this host can reach the node), subnet (the LAN: use '
            'SROS2, docs/hardening.md), off, system_default.',
        ),
        DeclareLaunchArgument(
            'log_level',
            default_value='info',
            choices=['debug', 'info', 'warn', 'error', 'fatal'],
            description='Logging level of the node.',
        ),
        DeclareLaunchArgument(
            'robot_state_publisher',
            default_value='false',
            choices=['true', 'false'],
            description='Start robot_state_publisher with the robot '
            'description (TF of the measured joint states).',
        ),
        DeclareLaunchArgument(
            'urdf',
            default_value='',
            description='Robot description for robot_state_publisher '
            '(empty: the installed urdf/go2.urdf).',
        ),
        DeclareLaunchArgument(
            'rviz',
            default_value='false',
            choices=['true', 'false'],
            description='Start rviz2 with the shipped display config '
            '(enable publish_debug_topics for scan and markers).',
        ),
        DeclareLaunchArgument(
            'rviz_config',
            default_value='',
            description='rviz2 config (empty: the installed config/parkour.rviz).',
        ),
    ]
    arguments += [
        DeclareLaunchArgument(name, default_value='', description=text)
        for name, (_, text) in PARAMETER_ARGUMENTS.items()
    ]
    # The discovery range goes first: the environment of a process is fixed when it starts.
    return LaunchDescription(
        arguments
        + [
            OpaqueFunction(function=_discovery_actions),
            OpaqueFunction(function=_node_actions),
            OpaqueFunction(function=_visual_actions),
        ]
    )

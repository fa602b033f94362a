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
The QoS of every topic the node publishes or subscribes, in one place.

Each profile matches what the standard publisher or consumer of that topic
uses, so rviz, rqt, Foxglove, robot_state_publisher, robot_localization and
nav2 connect without QoS overrides (``docs/node.md``). Streams that only the
newest sample matters for (debug topics, ``cmd_vel``) use rclpy's
``qos_profile_sensor_data`` (best effort, depth 5), re-exported as
:data:`SENSOR_QOS`.
"""

from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    qos_profile_sensor_data,
    QoSProfile,
    ReliabilityPolicy,
)


def _reliable(depth: int, durability: DurabilityPolicy) -> QoSProfile:
    return QoSProfile(
        depth=depth,
        history=HistoryPolicy.KEEP_LAST,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=durability,
    )


#: Debug streams and ``cmd_vel``: best effort, the newest sample wins.
SENSOR_QOS: QoSProfile = qos_profile_sensor_data
#: joint_states: reliable like joint_state_publisher, so robot_state_publisher,
#: rviz and best-effort tools all receive it.
JOINT_STATES_QOS = _reliable(10, DurabilityPolicy.VOLATILE)
#: Status topics (``~/mode``, ``/diagnostics``): late joiners get the last value.
STATUS_QOS = _reliable(1, DurabilityPolicy.TRANSIENT_LOCAL)
#: /tf as tf2_ros' TransformBroadcaster publishes it (reliable, volatile, depth 100).
TF_QOS = _reliable(100, DurabilityPolicy.VOLATILE)
#: odom: reliable, as robot_localization and nav2 publish and expect it.
ODOM_QOS = _reliable(10, DurabilityPolicy.VOLATILE)

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
Debug topics of the node (off by default): what the policy sees, for rviz and rqt.

- ``~/height_scan`` (``sensor_msgs/PointCloud2``, frame ``base_yaw``): the
  terrain under the policy's scan points, at the scan refresh rate. The
  policy's grid is yaw-aligned around the base, so the cloud is stamped in
  the yaw-only frame at the base origin (``base_link`` -> ``base_yaw``,
  published on ``/tf`` by :mod:`~krabby_parkour_ros.node.odometry`).
- ``~/markers`` (``visualization_msgs/MarkerArray``): scan points (frame
  ``base_yaw``), foot contacts (``<leg>_foot``) and the commanded motion
  (``base_yaw``: a planar heading).
- ``~/base_velocity`` and ``~/command_velocity`` (``geometry_msgs/Vector3Stamped``):
  measured body-frame base velocity and the navigation command (vx, vy,
  yaw rate) for ``rqt_plot`` curves (frame ``base_link``).
"""

from __future__ import annotations

from typing import Any

from geometry_msgs.msg import Vector3Stamped
from rclpy.lifecycle import LifecycleNode
from rclpy.publisher import Publisher
from sensor_msgs.msg import PointCloud2
from visualization_msgs.msg import MarkerArray

from krabby_parkour_ros.control.runtime import ControlRuntime
from krabby_parkour_ros.control.step import TickResult
from krabby_parkour_ros.node.debug_topics import (
    command_arrow_marker,
    foot_contact_markers,
    height_scan_cloud,
    merge,
    scan_markers,
)
from krabby_parkour_ros.node.odometry_messages import OdometryFrames
from krabby_parkour_ros.node.qos import SENSOR_QOS
from krabby_parkour_ros.recording.recorder import HalRecorder


class DebugPublishers:
    """
    Lifecycle publishers of the debug topics, fed from tick results.

    :param node: the lifecycle node that owns the publishers.
    :param runtime: the control runtime (scan grid, joint map).
    :param recorder: a ``HalRecorder`` that records every published message
        with its publisher's topic and QoS, or None.
    :param frames: frame names (``base``: velocities; ``yaw``: scan and command).
    """

    def __init__(
        self,
        node: LifecycleNode,
        runtime: ControlRuntime,
        recorder: HalRecorder | None = None,
        frames: OdometryFrames = OdometryFrames(),
    ) -> None:
        self._node = node
        self._runtime = runtime
        self._base_frame = frames.base
        self._scan_frame = frames.yaw
        self._recorder = recorder
        create = node.create_lifecycle_publisher
        self.publishers = [
            create(PointCloud2, '~/height_scan', SENSOR_QOS),
            create(MarkerArray, '~/markers', SENSOR_QOS),
            create(Vector3Stamped, '~/base_velocity', SENSOR_QOS),
            create(Vector3Stamped, '~/command_velocity', SENSOR_QOS),
        ]
        self._cloud, self._markers, self._velocity, self._command = self.publishers
        if recorder is not None:
            for publisher in self.publishers:
                # Listed in the recording with their QoS even before a first message.
                recorder.register_topic(
                    publisher.topic_name, publisher.msg_type, publisher.qos_profile
                )
        self._foot_frames = [f'{name}_foot' for name in runtime.joint_map.hardware_foot_names]
        self._refresh = max(1, runtime.contract.scan_refresh_steps)
        self._policy_steps = 0

    def publish(self, result: TickResult) -> None:
        """Publish what this tick shows (only on policy steps)."""
        obs = result.observation
        if not result.policy_ran or obs is None:
            return
        self._policy_steps += 1
        stamp = self._node.get_clock().now().to_msg()
        ext = obs.extensions
        nav = self._runtime.step.navigation_command
        command = Vector3Stamped()
        command.header.stamp = stamp
        command.header.frame_id = self._base_frame
        command.vector.x, command.vector.y, command.vector.z = nav.vx, nav.vy, nav.yaw_rate
        self._publish(self._command, command)
        if ext.base_linear_velocity is not None:
            velocity = Vector3Stamped()
            velocity.header = command.header
            (velocity.vector.x, velocity.vector.y, velocity.vector.z) = (
                float(v) for v in ext.base_linear_velocity
            )
            self._publish(self._velocity, velocity)
        if self._policy_steps % self._refresh != 1 % self._refresh:
            return
        grid = self._runtime.contract.scan_grid
        frame = self._scan_frame
        arrays = [command_arrow_marker(nav.vx, nav.yaw_rate, frame, stamp)]
        if ext.height_scan is not None and len(ext.height_scan) == grid.size:
            self._publish(self._cloud, height_scan_cloud(grid, ext.height_scan, frame, stamp))
            arrays.append(scan_markers(grid, ext.height_scan, frame, stamp))
        if ext.foot_contacts is not None and len(ext.foot_contacts) == len(self._foot_frames):
            arrays.append(foot_contact_markers(ext.foot_contacts, self._foot_frames, stamp))
        self._publish(self._markers, merge(arrays))

    def _publish(self, publisher: Publisher, msg: Any) -> None:
        publisher.publish(msg)
        if self._recorder is not None:
            self._recorder.record_published(publisher, msg)

    def destroy(self) -> None:
        """Destroy the publishers."""
        for publisher in self.publishers:
            self._node.destroy_lifecycle_publisher(publisher)
        self.publishers = []

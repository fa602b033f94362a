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
Odometry and ``/tf`` of the node, published at the control rate from the HAL's base pose.

- ``odom`` (``nav_msgs/Odometry``, frame ``odom``, child ``base_link``) and
  ``odom`` -> ``base_link`` on ``/tf``: with ``publish_odometry`` (default
  true), on every tick with a new observation that carries ``base_position``
  and ``imu_orientation_xyzw``, stamped like that tick's ``joint_states``
  (so robot_state_publisher's leg transforms and this one share a stamp).
  A HAL without a base pose gets no odometry and no transform; the node
  says so once.
- ``base_link`` -> ``base_yaw`` on ``/tf``: the yaw-only frame of the height
  scan, whenever the orientation is present and ``publish_odometry`` or
  ``publish_debug_topics`` is on.

The legs (``base_link`` -> ... -> ``<leg>_foot``) are robot_state_publisher's
job, from the URDF and ``joint_states``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nav_msgs.msg import Odometry
from rclpy.lifecycle import LifecycleNode
from rclpy.node import Node
from tf2_msgs.msg import TFMessage

from krabby_parkour_ros.hal.messages import HalObservation
from krabby_parkour_ros.node.odometry_messages import (
    base_transform,
    odometry_message,
    OdometryFrames,
    yaw_transform,
)
from krabby_parkour_ros.node.qos import ODOM_QOS, TF_QOS


def frames_from_parameters(node: Node) -> OdometryFrames:
    """
    Return the frame names of the node's ``odom_frame``, ``base_frame``, ``yaw_frame``.

    :raises FrameError: (a ``ValueError``) naming the unusable frame.
    """
    get = node.get_parameter
    return OdometryFrames(
        odom=get('odom_frame').value, base=get('base_frame').value, yaw=get('yaw_frame').value
    )


class OdometryPublishers:
    """
    Lifecycle publishers of ``odom`` and ``/tf``, fed from new observations.

    :param node: the lifecycle node that owns the publishers.
    :param frames: frame names.
    :param publish_odometry: publish ``odom`` and ``odom`` -> ``base_link``.
    :param publish_yaw_frame: publish ``base_link`` -> ``base_yaw``.
    :param publish: ``publish(publisher, msg)`` (the node's publish-and-record).
    """

    def __init__(
        self,
        node: LifecycleNode,
        frames: OdometryFrames,
        publish_odometry: bool,
        publish_yaw_frame: bool,
        publish: Callable[[Any, Any], None] | None = None,
    ) -> None:
        self._node = node
        self.frames = frames
        self._publish_odometry = publish_odometry
        self._publish_yaw_frame = publish_yaw_frame
        self._publish = publish if publish is not None else (lambda pub, msg: pub.publish(msg))
        create = node.create_lifecycle_publisher
        self._odom = create(Odometry, 'odom', ODOM_QOS) if publish_odometry else None
        self._tf = (
            create(TFMessage, '/tf', TF_QOS) if publish_odometry or publish_yaw_frame else None
        )
        self.publishers = [p for p in (self._odom, self._tf) if p is not None]
        #: Observations with a base pose / without one, since configure.
        self.counts = {'with_pose': 0, 'without_pose': 0}
        self._said_no_pose = False

    def publish(self, observation: HalObservation, stamp: Any) -> None:
        """Publish the odometry and transforms of one new observation."""
        if self._tf is None:
            return
        ext = observation.extensions
        orientation = ext.imu_orientation_xyzw
        transforms: list[Any] = []
        if self._publish_odometry:
            if ext.base_position is not None and orientation is not None:
                self.counts['with_pose'] += 1
                self._publish(
                    self._odom,
                    odometry_message(
                        self.frames,
                        stamp,
                        ext.base_position,
                        orientation,
                        ext.base_linear_velocity,
                        ext.imu_angular_velocity,
                    ),
                )
                transforms.append(
                    base_transform(self.frames, stamp, ext.base_position, orientation)
                )
            else:
                self.counts['without_pose'] += 1
                self._say_no_pose(ext.base_position is None, orientation is None)
        if self._publish_yaw_frame and orientation is not None:
            transforms.append(yaw_transform(self.frames, stamp, orientation))
        if transforms:
            self._publish(self._tf, TFMessage(transforms=transforms))

    def _say_no_pose(self, no_position: bool, no_orientation: bool) -> None:
        if self._said_no_pose:
            return
        self._said_no_pose = True
        keys = (('base_position', no_position), ('imu_orientation_xyzw', no_orientation))
        missing = ' and '.join(key for key, absent in keys if absent)
        self._node.get_logger().warning(
            f'the HAL sends no {missing}: no odometry on odom and no {self.frames.odom} -> '
            f'{self.frames.base} transform (said once; see docs/description.md)'
        )

    def destroy(self) -> None:
        """Destroy the publishers."""
        for publisher in self.publishers:
            self._node.destroy_lifecycle_publisher(publisher)
        self.publishers = []
        self._odom = self._tf = None

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
Odometry and transforms of the robot's base, as pure functions (no node needed).

From the HAL's base pose (the ``base_position`` extension key, world
frame, and ``imu_orientation_xyzw``) and body-frame velocities
(``base_linear_velocity``, ``imu_angular_velocity``):

- :func:`odometry_message`: ``nav_msgs/Odometry`` in the odom frame, child
  the base frame (REP-105: ``odom`` -> ``base_link``); the twist is in the
  child frame, as REP-105 and nav2 expect.
- :func:`base_transform`: the same pose as ``odom`` -> ``base_link``.
- :func:`yaw_transform`: ``base_link`` -> ``base_yaw``, the frame of the
  policy's height scan: the base origin with the base's yaw only (roll and
  pitch removed), as the scan grid is yaw-aligned around the base. It needs
  the orientation only, not the position.

Quaternions are (x, y, z, w) and normalised here (the decoder accepts a
norm within 0.01 of 1; tf2 wants unit quaternions). The HAL gives no
uncertainty: covariances are zero. Needs the ``nav_msgs`` and
``geometry_msgs`` message packages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import math

from geometry_msgs.msg import Quaternion, TransformStamped, Vector3
from nav_msgs.msg import Odometry
import numpy as np
import numpy.typing as npt

from krabby_parkour_ros.mapping.rotation import quaternion_multiply
from krabby_parkour_ros.node.debug_topics import Stamp, to_time

#: REP-105 names of the odometry frame and the base frame (the URDF's root link).
ODOM_FRAME = 'odom'
BASE_FRAME = 'base_link'
#: The yaw-only frame at the base origin in which the height scan is published.
YAW_FRAME = 'base_yaw'


class FrameError(ValueError):
    """A frame name cannot be used as a tf2 frame id."""


@dataclass(frozen=True)
class OdometryFrames:
    """
    Frame ids of the odometry and the transforms.

    :param odom: the fixed odometry frame (parent of ``base``).
    :param base: the robot's base frame (the URDF's root link).
    :param yaw: the yaw-only frame at the base origin (child of ``base``).
    :raises FrameError: for an empty name, a leading ``/`` (tf2 refuses
        it), white space, or two equal names.
    """

    odom: str = ODOM_FRAME
    base: str = BASE_FRAME
    yaw: str = YAW_FRAME

    def __post_init__(self) -> None:
        """Check that every name is a usable, distinct tf2 frame id."""
        for field_name in ('odom', 'base', 'yaw'):
            value = getattr(self, field_name)
            if (
                not isinstance(value, str)
                or not value
                or value.startswith('/')
                or any(c.isspace() for c in value)
            ):
                raise FrameError(
                    f'{field_name} frame: expected a non-empty tf2 frame id '
                    f'without a leading / or spaces, got {value!r}'
                )
        if len({self.odom, self.base, self.yaw}) != 3:
            raise FrameError(
                f'frames: expected three different names, got odom={self.odom!r}, '
                f'base={self.base!r}, yaw={self.yaw!r}'
            )


def unit_quaternion(xyzw: npt.ArrayLike) -> np.ndarray:
    """
    Return ``xyzw`` normalised (float64).

    :raises ValueError: for a zero or non-finite quaternion.
    """
    q = np.asarray(xyzw, dtype=np.float64).reshape(4)
    norm = float(np.linalg.norm(q))
    if not math.isfinite(norm) or norm == 0.0:
        raise ValueError(f'orientation: expected a finite non-zero quaternion, got {q.tolist()}')
    return q / norm


def yaw_of(xyzw: npt.ArrayLike) -> float:
    """Return the yaw (rad, ZYX Euler) of an (x, y, z, w) quaternion."""
    x, y, z, w = unit_quaternion(xyzw)
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def base_to_yaw_rotation(xyzw: npt.ArrayLike) -> np.ndarray:
    """
    Return the rotation of the yaw frame in the base frame, (x, y, z, w).

    ``q_base^-1 * q_yaw``: composed with the base orientation it gives the
    yaw-only orientation ``(0, 0, sin(yaw/2), cos(yaw/2))`` in the world.
    """
    q = unit_quaternion(xyzw)
    half = 0.5 * yaw_of(q)
    conjugate = np.array([-q[0], -q[1], -q[2], q[3]])
    return quaternion_multiply(conjugate, (0.0, 0.0, math.sin(half), math.cos(half)))


def _quaternion(xyzw: npt.ArrayLike) -> Quaternion:
    x, y, z, w = (float(v) for v in unit_quaternion(xyzw))
    return Quaternion(x=x, y=y, z=z, w=w)


def _vector(values: Sequence[float] | np.ndarray | None) -> Vector3:
    if values is None:
        return Vector3()
    x, y, z = (float(v) for v in values)
    return Vector3(x=x, y=y, z=z)


def odometry_message(
    frames: OdometryFrames,
    stamp: Stamp,
    position: Sequence[float] | np.ndarray,
    orientation_xyzw: npt.ArrayLike,
    linear_velocity: Sequence[float] | np.ndarray | None = None,
    angular_velocity: Sequence[float] | np.ndarray | None = None,
) -> Odometry:
    """
    Return the base's odometry: pose in the odom frame, twist in the base frame.

    :param position: base origin in the odom (HAL world) frame, metres.
    :param orientation_xyzw: base orientation in the odom frame.
    :param linear_velocity: body-frame linear velocity, m/s (None: zero).
    :param angular_velocity: body-frame angular velocity, rad/s (None: zero).
    """
    msg = Odometry()
    msg.header.stamp = to_time(stamp)
    msg.header.frame_id = frames.odom
    msg.child_frame_id = frames.base
    pose = msg.pose.pose
    pose.position.x, pose.position.y, pose.position.z = (float(v) for v in position)
    pose.orientation = _quaternion(orientation_xyzw)
    msg.twist.twist.linear = _vector(linear_velocity)
    msg.twist.twist.angular = _vector(angular_velocity)
    return msg


def base_transform(
    frames: OdometryFrames,
    stamp: Stamp,
    position: Sequence[float] | np.ndarray,
    orientation_xyzw: npt.ArrayLike,
) -> TransformStamped:
    """Return ``odom`` -> ``base_link``: the base pose in the odom frame."""
    transform = TransformStamped()
    transform.header.stamp = to_time(stamp)
    transform.header.frame_id = frames.odom
    transform.child_frame_id = frames.base
    transform.transform.translation = _vector(position)
    transform.transform.rotation = _quaternion(orientation_xyzw)
    return transform


def yaw_transform(
    frames: OdometryFrames, stamp: Stamp, orientation_xyzw: npt.ArrayLike
) -> TransformStamped:
    """Return ``base_link`` -> ``base_yaw``: same origin, the base's yaw only."""
    transform = TransformStamped()
    transform.header.stamp = to_time(stamp)
    transform.header.frame_id = frames.base
    transform.child_frame_id = frames.yaw
    transform.transform.rotation = _quaternion(base_to_yaw_rotation(orientation_xyzw))
    return transform

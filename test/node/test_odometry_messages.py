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

"""Odometry, odom -> base_link and base_link -> base_yaw messages (pure functions)."""

import math

from builtin_interfaces.msg import Time
import numpy as np
import pytest

from krabby_parkour_ros.node import odometry_messages as od
from krabby_parkour_ros.sim.robot import quat_wxyz_to_rotation

FRAMES = od.OdometryFrames()


def _xyzw(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """Return the (x, y, z, w) quaternion of ZYX Euler angles."""
    cr, sr = math.cos(roll / 2), math.sin(roll / 2)
    cp, sp = math.cos(pitch / 2), math.sin(pitch / 2)
    cy, sy = math.cos(yaw / 2), math.sin(yaw / 2)
    return np.array(
        [
            sr * cp * cy - cr * sp * sy,
            cr * sp * cy + sr * cp * sy,
            cr * cp * sy - sr * sp * cy,
            cr * cp * cy + sr * sp * sy,
        ]
    )


def _matrix(xyzw) -> np.ndarray:
    x, y, z, w = xyzw
    return quat_wxyz_to_rotation(np.array([w, x, y, z]))


def test_default_frames_are_rep_105() -> None:
    assert (FRAMES.odom, FRAMES.base, FRAMES.yaw) == ('odom', 'base_link', 'base_yaw')


@pytest.mark.parametrize(
    'kwargs, field',
    [
        ({'odom': ''}, 'odom'),
        ({'base': '/base_link'}, 'base'),
        ({'yaw': 'base yaw'}, 'yaw'),
        ({'yaw': 'base_link'}, 'frames'),
        ({'odom': 'base_link'}, 'frames'),
    ],
)
def test_unusable_frames_are_refused_with_the_name(kwargs, field: str) -> None:
    with pytest.raises(od.FrameError, match=field):
        od.OdometryFrames(**kwargs)


@pytest.mark.parametrize(
    'roll, pitch, yaw',
    [(0.0, 0.0, 0.0), (0.1, -0.2, 0.3), (-0.3, 0.25, 2.9), (0.2, 0.1, -3.0), (0.0, 0.0, -1.2)],
)
def test_yaw_frame_keeps_the_yaw_and_drops_roll_and_pitch(roll, pitch, yaw) -> None:
    q = _xyzw(roll, pitch, yaw)
    assert od.yaw_of(q) == pytest.approx(yaw, abs=1e-12)
    # world <- base <- base_yaw is a rotation about z by the yaw, nothing else.
    composed = _matrix(q) @ _matrix(od.base_to_yaw_rotation(q))
    c, s = math.cos(yaw), math.sin(yaw)
    np.testing.assert_allclose(composed, [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]], atol=1e-12)


def test_odometry_pose_twist_and_frames() -> None:
    q = _xyzw(0.05, -0.1, 0.7) * 1.004  # within the decoder's norm tolerance
    msg = od.odometry_message(
        FRAMES,
        1_700_000_000_250_000_000,
        [1.5, -2.0, 0.31],
        q,
        [0.4, 0.01, -0.02],
        [0.0, 0.1, 0.5],
    )
    assert msg.header.frame_id == 'odom' and msg.child_frame_id == 'base_link'
    assert msg.header.stamp == Time(sec=1_700_000_000, nanosec=250_000_000)
    pose = msg.pose.pose
    assert (pose.position.x, pose.position.y, pose.position.z) == (1.5, -2.0, 0.31)
    quaternion = [pose.orientation.x, pose.orientation.y, pose.orientation.z, pose.orientation.w]
    np.testing.assert_allclose(quaternion, q / np.linalg.norm(q), atol=1e-15)
    assert np.linalg.norm(quaternion) == pytest.approx(1.0, abs=1e-15)
    twist = msg.twist.twist
    assert (twist.linear.x, twist.linear.y, twist.linear.z) == (0.4, 0.01, -0.02)
    assert (twist.angular.x, twist.angular.y, twist.angular.z) == (0.0, 0.1, 0.5)
    assert list(msg.pose.covariance) == [0.0] * 36
    without = od.odometry_message(FRAMES, 0, [0.0, 0.0, 0.3], [0.0, 0.0, 0.0, 1.0])
    assert without.twist.twist.linear.x == 0.0 and without.twist.twist.angular.z == 0.0


def test_transforms_carry_the_pose_and_the_yaw() -> None:
    frames = od.OdometryFrames(odom='robot1/odom', base='robot1/base_link', yaw='robot1/base_yaw')
    q = _xyzw(0.2, 0.1, -0.4)
    stamp = Time(sec=12, nanosec=5)
    base = od.base_transform(frames, stamp, [0.25, 0.5, 0.3], q)
    assert (base.header.frame_id, base.child_frame_id) == ('robot1/odom', 'robot1/base_link')
    assert base.header.stamp == stamp
    t = base.transform.translation
    assert (t.x, t.y, t.z) == (0.25, 0.5, 0.3)
    yaw = od.yaw_transform(frames, stamp, q)
    assert (yaw.header.frame_id, yaw.child_frame_id) == ('robot1/base_link', 'robot1/base_yaw')
    t = yaw.transform.translation
    assert (t.x, t.y, t.z) == (0.0, 0.0, 0.0)
    r = yaw.transform.rotation
    np.testing.assert_allclose([r.x, r.y, r.z, r.w], od.base_to_yaw_rotation(q), atol=1e-15)


@pytest.mark.parametrize('bad', [[0.0, 0.0, 0.0, 0.0], [float('nan'), 0.0, 0.0, 1.0]])
def test_a_quaternion_without_orientation_is_refused(bad) -> None:
    with pytest.raises(ValueError, match='orientation'):
        od.unit_quaternion(bad)

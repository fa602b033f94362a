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
Angle conventions of training, on plain floats.

Training (Isaac Lab) computes roll, pitch and yaw with
``isaaclab.utils.math.euler_xyz_from_quat`` (angles returned in [0, 2*pi))
and then applies ``wrap_to_pi``. The functions here reproduce that on the
wire's (x, y, z, w) quaternion, so the observation sees the same numbers,
including at the +-pi boundary.
"""

from __future__ import annotations

from collections.abc import Sequence
import math

import numpy as np

TWO_PI = 2.0 * math.pi


def wrap_to_pi(angle: float) -> float:
    """
    Wrap an angle into [-pi, pi] as Isaac Lab's ``wrap_to_pi`` does.

    Positive odd multiples of pi map to +pi, everything else into [-pi, pi).
    """
    wrapped = (angle + math.pi) % TWO_PI
    if wrapped == 0.0 and angle > 0.0:
        return math.pi
    return wrapped - math.pi


def euler_xyz_from_quat_xyzw(x: float, y: float, z: float, w: float) -> tuple[float, float, float]:
    """
    Return (roll, pitch, yaw) of a unit quaternion, each wrapped to [-pi, pi].

    The convention is Isaac Lab's ``euler_xyz_from_quat`` (extrinsic X-Y-Z,
    i.e. R = Rz(yaw) Ry(pitch) Rx(roll)) followed by ``wrap_to_pi``, as the
    training observation does. The quaternion is body-to-world (the base
    orientation in the world frame), scalar last.
    """
    roll = math.atan2(2.0 * (w * x + y * z), 1.0 - 2.0 * (x * x + y * y))
    sin_pitch = 2.0 * (w * y - z * x)
    if abs(sin_pitch) >= 1.0:
        pitch = math.copysign(math.pi / 2.0, sin_pitch)
    else:
        pitch = math.asin(sin_pitch)
    yaw = math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
    # Isaac Lab returns each angle modulo 2*pi before the observation wraps it.
    return (wrap_to_pi(roll % TWO_PI), wrap_to_pi(pitch % TWO_PI), wrap_to_pi(yaw % TWO_PI))


def quaternion_multiply(
    a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray
) -> np.ndarray:
    """Return the Hamilton product ``a * b`` of two (x, y, z, w) quaternions."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return np.array(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ]
    )

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

"""Angle conventions (Isaac Lab euler_xyz_from_quat + wrap_to_pi) and navigation limits."""

from __future__ import annotations

import math

from hypothesis import given, settings, strategies as st
import numpy as np
import pytest

from krabby_parkour_ros.mapping.navigation import (
    NavigationCommand,
    NavigationError,
    NavigationLimits,
)
from krabby_parkour_ros.mapping.rotation import euler_xyz_from_quat_xyzw, wrap_to_pi

from .wire import quat_from_rpy


@pytest.mark.parametrize(
    'angle, wrapped',
    [
        (0.0, 0.0),
        (math.pi, math.pi),
        (-math.pi, -math.pi),
        (3 * math.pi, math.pi),
        (2 * math.pi, 0.0),
        (-3 * math.pi, -math.pi),
        (math.pi + 0.5, -math.pi + 0.5),
        (-math.pi - 0.5, math.pi - 0.5),
        (7.0, 7.0 - 2 * math.pi),
    ],
)
def test_wrap_to_pi(angle: float, wrapped: float) -> None:
    assert wrap_to_pi(angle) == pytest.approx(wrapped, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    roll=st.floats(-3.1, 3.1),
    pitch=st.floats(-1.5, 1.5),
    yaw=st.floats(-3.1, 3.1),
    flip=st.booleans(),
)
def test_euler_round_trip(roll: float, pitch: float, yaw: float, flip: bool) -> None:
    x, y, z, w = quat_from_rpy(roll, pitch, yaw)
    if flip:  # q and -q are the same rotation
        x, y, z, w = -x, -y, -z, -w
    got = euler_xyz_from_quat_xyzw(x, y, z, w)
    assert got == pytest.approx((roll, pitch, yaw), abs=1e-9)


def test_euler_against_rotation_matrix() -> None:
    """Roll and pitch seen by the policy are those of the body's up axis in the world."""
    rng = np.random.default_rng(3)
    for _ in range(50):
        q = rng.normal(size=4)
        x, y, z, w = q / np.linalg.norm(q)
        r20 = 2 * (x * z - w * y)
        r21 = 2 * (y * z + w * x)
        r22 = 1 - 2 * (x * x + y * y)
        r10 = 2 * (x * y + w * z)
        r00 = 1 - 2 * (y * y + z * z)
        roll, pitch, yaw = euler_xyz_from_quat_xyzw(x, y, z, w)
        assert roll == pytest.approx(math.atan2(r21, r22), abs=1e-9)
        assert pitch == pytest.approx(-math.asin(r20), abs=1e-9)
        assert yaw == pytest.approx(math.atan2(r10, r00), abs=1e-9)


def test_pitch_saturates_at_gimbal_lock() -> None:
    s = math.sqrt(0.5)
    assert euler_xyz_from_quat_xyzw(0.0, s * 1.0000001, 0.0, s * 1.0000001)[1] == pytest.approx(
        math.pi / 2
    )


def test_navigation_clamp() -> None:
    limits = NavigationLimits()
    assert limits.vx == (0.0, 0.8) and limits.vy == (0.0, 0.0)
    command = NavigationCommand(vx=0.5, vy=0.0, yaw_rate=0.3)
    assert limits.clamp(command) == (command, False)
    clamped, changed = limits.clamp(NavigationCommand(vx=1.5, vy=0.2, yaw_rate=-3.0))
    assert changed and clamped == NavigationCommand(vx=0.8, vy=0.0, yaw_rate=-1.0)
    clamped, changed = limits.clamp(NavigationCommand(vx=-0.3))
    assert changed and clamped.vx == 0.0


@pytest.mark.parametrize(
    'kwargs, message',
    [
        ({'vx': math.nan}, 'vx: expected a finite number'),
        ({'yaw_rate': math.inf}, 'yaw_rate: expected a finite number'),
        ({'vy': 'fast'}, "vy: expected a finite number, got 'fast'"),
    ],
)
def test_navigation_command_must_be_finite(kwargs: dict, message: str) -> None:
    with pytest.raises(NavigationError, match=message):
        NavigationCommand(**kwargs)


@pytest.mark.parametrize(
    'kwargs, message',
    [
        ({'vx': (0.5, 0.1)}, r'vx: expected low <= high, got \(0.5, 0.1\)'),
        ({'vx': (0.2, 0.8)}, 'vx: the range must contain 0'),
        ({'yaw_rate': (-1.0, math.nan)}, r'yaw_rate\[1\]: expected a finite number'),
        ({'vy': 0.5}, r'vy: expected a \(low, high\) pair'),
    ],
)
def test_navigation_limits_validation(kwargs: dict, message: str) -> None:
    with pytest.raises(NavigationError, match=message):
        NavigationLimits(**kwargs)

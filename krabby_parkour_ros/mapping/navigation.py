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
The navigation command a user gives the parkour policy, and its limits.

The extreme-parkour policy was trained with a forward speed command only:
``vx`` is proprio element 10, and proprio 8:10 (where a lateral command
would sit) are always 0. ``vy`` therefore is *not* a policy input; it
exists so that a generic velocity interface (``geometry_msgs/Twist``) maps
onto this type, and its default range (0, 0) clamps any lateral request to
zero and reports it. ``yaw_rate`` is not a policy input either: it steers
the heading target from which the observation builder computes the delta
yaw (proprio 6 and 7), see :mod:`krabby_parkour_ros.mapping.observation`.

Training sampled ``vx`` in [0.3, 0.8] m/s (commands below 0.2 m/s were
set to 0), so the default ``vx`` range is [0, 0.8] m/s: backwards walking
was never trained.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Any

#: Default ``vx`` range (m/s): 0 (stand) up to the top of the training range.
DEFAULT_VX_RANGE = (0.0, 0.8)
#: Default ``vy`` range: not a policy input, so any lateral request is clamped.
DEFAULT_VY_RANGE = (0.0, 0.0)
#: Default ``yaw_rate`` range (rad/s) for the heading target.
DEFAULT_YAW_RATE_RANGE = (-1.0, 1.0)


class NavigationError(ValueError):
    """A navigation command or limit is invalid."""


def _check_finite(field_name: str, value: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise NavigationError(f'{field_name}: expected a finite number, got {value!r}') from None
    if not math.isfinite(number):
        raise NavigationError(f'{field_name}: expected a finite number, got {number!r}')
    return number


@dataclass(frozen=True)
class NavigationCommand:
    """
    A navigation request, base frame.

    :param vx: forward speed, m/s (proprio element 10).
    :param vy: lateral speed, m/s: not a policy input (see the module notes).
    :param yaw_rate: rate of the heading target, rad/s (counter-clockwise).
    :raises NavigationError: a value is not a finite number.
    """

    vx: float = 0.0
    vy: float = 0.0
    yaw_rate: float = 0.0

    def __post_init__(self) -> None:
        """Reject non-finite values: a command is always finite."""
        for name in ('vx', 'vy', 'yaw_rate'):
            object.__setattr__(self, name, _check_finite(name, getattr(self, name)))


def _check_range(field_name: str, value: Any) -> tuple[float, float]:
    try:
        low, high = value
    except (TypeError, ValueError):
        raise NavigationError(
            f'{field_name}: expected a (low, high) pair, got {value!r}'
        ) from None
    low = _check_finite(f'{field_name}[0]', low)
    high = _check_finite(f'{field_name}[1]', high)
    if low > high:
        raise NavigationError(f'{field_name}: expected low <= high, got ({low}, {high})')
    if not low <= 0.0 <= high:
        raise NavigationError(
            f'{field_name}: the range must contain 0 (the stop command), got ({low}, {high})'
        )
    return (low, high)


@dataclass(frozen=True)
class NavigationLimits:
    """
    Allowed ranges of a :class:`NavigationCommand`, each a (low, high) pair.

    Every range must contain 0 so that stopping is always possible.

    :raises NavigationError: a range is malformed, inverted or excludes 0.
    """

    vx: tuple[float, float] = DEFAULT_VX_RANGE
    vy: tuple[float, float] = DEFAULT_VY_RANGE
    yaw_rate: tuple[float, float] = DEFAULT_YAW_RATE_RANGE

    def __post_init__(self) -> None:
        """Validate and normalise the ranges to float pairs."""
        for name in ('vx', 'vy', 'yaw_rate'):
            object.__setattr__(self, name, _check_range(name, getattr(self, name)))

    def clamp(self, command: NavigationCommand) -> tuple[NavigationCommand, bool]:
        """
        Clamp a command into the limits.

        :return: the clamped command and True when any field was changed.
        """
        vx = min(max(command.vx, self.vx[0]), self.vx[1])
        vy = min(max(command.vy, self.vy[0]), self.vy[1])
        yaw_rate = min(max(command.yaw_rate, self.yaw_rate[0]), self.yaw_rate[1])
        clamped = vx != command.vx or vy != command.vy or yaw_rate != command.yaw_rate
        if not clamped:
            return command, False
        return NavigationCommand(vx=vx, vy=vy, yaw_rate=yaw_rate), True

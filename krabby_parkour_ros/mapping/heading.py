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
The heading target behind the delta-yaw terms of the observation (proprio 6, 7).

Training steered towards goals ahead of a robot that started every episode
facing +x; at deployment the target is the yaw measured at the first build
after a reset, advanced by the commanded yaw rate each policy step. The delta
yaw is recomputed on refresh steps only (training's 10 Hz sub-rate) and held
in between. ``docs/observation.md`` ("Heading target", "Yaw frame") has the
reasons; :class:`~krabby_parkour_ros.mapping.observation.ObservationBuilder`
owns one :class:`HeadingTarget`.
"""

from __future__ import annotations

import math

from krabby_parkour_ros.mapping.rotation import wrap_to_pi


class HeadingTarget:
    """
    Heading target (rad, IMU yaw frame) and the held delta yaw.

    :param yaw_frame: 'reset' (yaws measured from the yaw at the reset) or
        'world' (the IMU's yaw as is; the literal training formula).
    :param max_lead: when set (rad), the target stays at most this far
        from the measured yaw; None integrates the command freely.
    :param period: the policy period (s), the time one update advances.
    """

    def __init__(self, yaw_frame: str, max_lead: float | None, period: float) -> None:
        self._reset_frame = yaw_frame == 'reset'
        self._max_lead = max_lead
        self._period = period
        self.reset()

    def reset(self) -> None:
        """Forget the target: the next measured yaw sets it."""
        self._target: float | None = None
        self._reference = 0.0
        self._delta = 0.0

    @property
    def target(self) -> float | None:
        """Return the target heading (rad); None before a measured yaw."""
        return self._target

    def update(self, yaw: float | None, yaw_rate: float, refresh: bool) -> float:
        """
        Advance the target by one policy step; return the delta yaw (rad).

        :param yaw: the measured yaw (rad, in [-pi, pi]); None when the IMU is
            absent: the robot is assumed on its heading (delta 0 at refresh).
        :param yaw_rate: the commanded yaw rate (rad/s).
        :param refresh: recompute the delta yaw (else hold the last one).
        """
        advance = yaw_rate * self._period
        if yaw is None:
            if self._target is not None:
                self._target = wrap_to_pi(self._target + advance)
            if refresh:
                self._delta = 0.0
            return self._delta
        target = self._target
        if target is None:
            target = yaw
            self._reference = yaw if self._reset_frame else 0.0
        target = wrap_to_pi(target + advance)
        if self._max_lead is not None:
            lead = wrap_to_pi(target - yaw)
            if abs(lead) > self._max_lead:
                target = wrap_to_pi(yaw + math.copysign(self._max_lead, lead))
        self._target = target
        if refresh:
            # Training's difference is not wrapped; the 'reset' frame keeps the
            # +-pi seam behind the robot as training's start facing +x did.
            if self._reset_frame:
                reference = self._reference
                self._delta = wrap_to_pi(target - reference) - wrap_to_pi(yaw - reference)
            else:
                self._delta = target - yaw
        return self._delta

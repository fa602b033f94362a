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
Decide when a zero navigation command means "stand still".

The parkour teacher never learnt to stand: training set commands below
0.2 m/s to zero and the policy walks on at about 0.25 m/s. With
``stand_on_zero_command`` the control step leaves the policy for the
standing pose while the command stays below ``stand_threshold`` for
``stand_dwell`` seconds, and gives control back when the command rises
above ``stand_threshold + stand_hysteresis``. :class:`StandGate` is that
decision alone (pure, clock injected); the ramps live in the control step.
"""

from __future__ import annotations


from krabby_parkour_ros.mapping.navigation import NavigationCommand


def command_magnitude(command: NavigationCommand) -> float:
    """Return max(|vx|, |vy|, |yaw_rate|): one number compared with the thresholds."""
    return max(abs(command.vx), abs(command.vy), abs(command.yaw_rate))


class StandGate:
    """
    Hysteresis and dwell on the navigation command's magnitude.

    :param enabled: False: never stand (the policy walks on a zero command,
        as trained).
    :param threshold: below this (m/s for vx/vy, rad/s for the yaw rate)
        a command counts as zero.
    :param hysteresis: a standing robot resumes only above threshold + this.
    :param dwell_s: the command must stay below the threshold this long.
    """

    def __init__(self, enabled: bool, threshold: float, hysteresis: float, dwell_s: float) -> None:
        self.enabled = enabled
        self._threshold = threshold
        self._resume = threshold + hysteresis
        self._dwell_ns = int(dwell_s * 1e9)
        self._below_since: int | None = None

    def reset(self) -> None:
        """Forget how long the command has been low (on activation)."""
        self._below_since = None

    def should_stand(self, command: NavigationCommand, now_ns: int, standing: bool) -> bool:
        """
        Return True when the robot should stand (or keep standing).

        :param command: the navigation command in force.
        :param now_ns: monotonic time of the tick.
        :param standing: whether the robot stands now (selects the threshold).
        """
        if not self.enabled:
            return False
        magnitude = command_magnitude(command)
        if standing:
            if magnitude > self._resume:
                self._below_since = None
                return False
            return True
        if magnitude >= self._threshold:
            self._below_since = None
            return False
        if self._below_since is None:
            self._below_since = now_ns
        return now_ns - self._below_since >= self._dwell_ns

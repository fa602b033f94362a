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

"""Configuration of the control loop: rates, freshness gate and safety timings."""

from __future__ import annotations

from dataclasses import dataclass
import math


class ControlConfigError(ValueError):
    """A control-loop setting is out of its valid range."""


#: Inclusive range of every numeric setting: the one source of truth. The
#: node's parameter descriptors (``node/parameters.py``) are derived from it.
#: Integer bounds mean an integer setting.
RANGES: dict[str, tuple[int | float, int | float]] = {
    'control_rate': (1.0, 2000.0),  # Hz
    'policy_decimation': (1, 100),
    'stale_timeout': (0.005, 5.0),  # s
    'soft_start_duration': (0.0, 30.0),  # s
    'recovery_ramp_duration': (0.0, 30.0),  # s
    'stale_resume_window': (0.0, 10.0),  # s
    'max_consecutive_failures': (1, 1000),
    'command_timeout': (0.01, 60.0),  # s
    'late_threshold': (0.0001, 0.1),  # s
    'realtime_priority': (0, 99),
    'activation_margin': (0.0, 1.0),  # rad
    'stand_threshold': (0.0, 1.0),  # m/s, rad/s
    'stand_hysteresis': (0.0, 1.0),  # m/s, rad/s
    'stand_dwell': (0.0, 10.0),  # s
    'stand_ramp_duration': (0.0, 30.0),  # s
}
#: The boolean settings.
BOOLEANS = ('shadow', 'sync_to_observations', 'stand_on_zero_command')


@dataclass(frozen=True)
class ControlConfig:
    """
    Timing and safety settings of the control loop.

    :param control_rate: command ticks per second (the control thread's rate).
    :param policy_decimation: the policy runs every this many ticks; the
        policy period policy_decimation / control_rate must equal the
        period the policy was trained at (checked against its card).
    :param stale_timeout: an observation older than this (seconds since it
        was received) is stale: the policy stops and the last safe target is
        held until fresh data returns.
    :param soft_start_duration: seconds of the ramp from the measured pose to
        the default pose on activation, before the policy takes over.
    :param recovery_ramp_duration: seconds of the ramp from the held target to
        the default pose after a hold (stale data, user hold) ends.
    :param stale_resume_window: a stale-data hold shorter than this (seconds)
        resumes the policy directly with its state intact, because the robot
        is still mid-gait and a ramp to the standing pose would trip it; a
        longer outage goes through the recovery ramp and a fresh history.
        0 always ramps.
    :param max_consecutive_failures: inference/mapping failures in a row
        after which the fault latches (the node takes its error transition).
    :param shadow: run the policy and publish everything, send no command.
    :param command_timeout: seconds after the last navigation command before
        it falls back to zero (stand still).
    :param sync_to_observations: tick when a new observation arrives (within
        the rate limit) instead of on the control thread's fixed clock grid, so the command
        answers the observation with minimal latency.
    :param late_threshold: a tick that runs more than this many seconds after
        its due time counts as late.
    :param activation_margin: radians a measured joint position may lie
        outside the joint map's position range and still be ramped from (its
        first target is clamped into the target limits); further out, or
        non-finite, the pose cannot be true (sensor, calibration or wiring
        fault) and activation is refused until a plausible pose arrives.
    :param stand_on_zero_command: True: a navigation command below
        ``stand_threshold`` for ``stand_dwell`` seconds leaves the policy
        through a ramp (``stand_ramp_duration``) to the standing pose and
        holds it (mode ``stand``); a command above ``stand_threshold +
        stand_hysteresis`` resumes the policy through the recovery ramp.
        False: the policy walks on a zero command, as trained (it never
        learnt to stand: about 0.25 m/s forward).
    :param stand_threshold: command magnitude max(|vx|, |vy|, |yaw_rate|)
        (m/s, rad/s) below which the command counts as zero.
    :param stand_hysteresis: a standing robot resumes only above
        ``stand_threshold`` plus this.
    :param stand_dwell: seconds the command must stay below the threshold.
    :param stand_ramp_duration: seconds of the ramp from the gait to the
        standing pose.
    :param realtime_priority: 0: the control thread and the HAL client's
        receiver thread keep the default scheduler; 1..99: both ask for
        ``SCHED_FIFO`` at this priority (needs CAP_SYS_NICE or an rtprio
        limit; when refused they run on with the default scheduler and say
        so once).
    """

    control_rate: float = 100.0
    policy_decimation: int = 2
    stale_timeout: float = 0.1
    soft_start_duration: float = 2.0
    recovery_ramp_duration: float = 0.5
    stale_resume_window: float = 0.5
    max_consecutive_failures: int = 5
    shadow: bool = False
    command_timeout: float = 0.5
    sync_to_observations: bool = True
    late_threshold: float = 0.002
    realtime_priority: int = 0
    activation_margin: float = 0.1
    stand_on_zero_command: bool = False
    stand_threshold: float = 0.1
    stand_hysteresis: float = 0.05
    stand_dwell: float = 0.5
    stand_ramp_duration: float = 0.5

    @property
    def period(self) -> float:
        """Return the tick period in seconds."""
        return 1.0 / self.control_rate

    @property
    def policy_period(self) -> float:
        """Return the policy period in seconds (decimation over rate)."""
        return self.policy_decimation / self.control_rate

    def __post_init__(self) -> None:
        """
        Check every field against :data:`RANGES` (and the cross-field rules).

        The one place these settings are validated: the instance is frozen, so
        a constructed config (also one made by :func:`dataclasses.replace`) is valid.

        :raises ControlConfigError: naming the field, its value and the range.
        """

        def need(name: str, ok: bool, expected: str) -> None:
            if not ok:
                raise ControlConfigError(
                    f'control.{name} must be {expected}, got {getattr(self, name)!r}'
                )

        for name, (low, high) in RANGES.items():
            value = getattr(self, name)
            if isinstance(low, int) and isinstance(high, int):
                ok = isinstance(value, int) and not isinstance(value, bool)
                kind = 'an integer'
            else:
                ok = (
                    isinstance(value, (int, float))
                    and not isinstance(value, bool)
                    and math.isfinite(value)
                )
                kind = 'a finite number'
            need(name, ok and low <= value <= high, f'{kind} in [{low}, {high}]')
        for name in BOOLEANS:
            need(name, isinstance(getattr(self, name), bool), 'True or False')
        need(
            'stale_timeout',
            self.stale_timeout >= self.period,
            f'at least one tick period ({self.period:.4f} s)',
        )

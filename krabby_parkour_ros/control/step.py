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
One control tick: gate inputs, run the policy at its rate, send a safe command.

:class:`ControlStep` is the single implementation of the control behaviour,
ticked by the control thread (:class:`~krabby_parkour_ros.control.loop.ControlLoop`)
of the ROS node and of the ROS-free
:class:`~krabby_parkour_ros.control.inference_client.ParkourInferenceClient`
alike. It owns the safety state machine (``docs/safety.md``):

``WAITING`` -> ``SOFT_START`` -> ``RUNNING``, with ``HOLD_STALE`` (inputs
stale), ``HOLD_USER`` (hold requested) and ``HOLD_FAULT`` (the last policy
step failed). It is the only owner of the last safe target (the last
command sent; the measured pose or the ramp before any): holds repeat it, and
each policy step gets it as the mapper's rate-limit reference, so the limit
is continuous across the ramp -> policy hand-over (the ramp ends on the
default pose, which is then the last command). Every command it sends is
finite, inside the joint map's target limits and continuous with the
previous one: every return to the policy goes through a ramp to the default
pose first. A ramp never starts from a measured pose that cannot be true
(non-finite, or further than ``activation_margin`` outside a joint's
position range): activation is refused and the step keeps waiting. The HAL
client enforces finiteness and the target limits once more at the wire
(:class:`~krabby_parkour_ros.hal.command_guard.CommandGuard`).

Length: about 630 lines, beyond the usual ~450. It is the mode machine
(wait, soft start, policy, hold, fault) and every transition's safety rule;
splitting the transitions apart would scatter the invariants stated above.
The policy's build, infer and map live in :mod:`.pipeline`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
import enum
import logging
import threading
import time
from typing import Any, Protocol

import numpy as np

from krabby_parkour_ros.control.config import ControlConfig
from krabby_parkour_ros.control.pipeline import PolicyOutcome, PolicyPipeline
from krabby_parkour_ros.control.stand import StandGate
from krabby_parkour_ros.control.stats import RollingSamples
from krabby_parkour_ros.finite import all_finite
from krabby_parkour_ros.hal.messages import HalObservation, JOINT_COUNT
from krabby_parkour_ros.mapping.navigation import NavigationCommand, NavigationLimits

_LOG = logging.getLogger(__name__)


class ControlMode(str, enum.Enum):
    """What the control loop is doing; published in diagnostics."""

    WAITING = 'waiting'
    SOFT_START = 'soft_start'
    RUNNING = 'running'
    HOLD_STALE = 'hold_stale'
    HOLD_USER = 'hold_user'
    HOLD_FAULT = 'hold_fault'
    #: Zero navigation command (``stand_on_zero_command``): ramp to the
    #: standing pose and hold it; the policy does not run.
    STAND = 'stand'


class ShadowModeError(ValueError):
    """Entering shadow mode was refused: the controller is active."""


class CommandSink(Protocol):
    """Where commands go (a HalClient)."""

    def put_joint_command(
        self, joint_positions: np.ndarray, observation_timestamp_ns: int
    ) -> np.ndarray | None:
        """Send 18 joint targets answering an observation; return what was encoded."""


@dataclass
class TickResult:
    """What one tick did (for topics, diagnostics and tests)."""

    mode: ControlMode
    #: The 18 hardware targets of this tick (None: nothing to command yet).
    command: np.ndarray | None = None
    #: True when the command went to the HAL (False in shadow mode or holds
    #: before the first observation).
    sent: bool = False
    #: True when the policy ran this tick.
    policy_ran: bool = False
    #: Clipped raw policy action when the policy ran successfully.
    action: np.ndarray | None = None
    #: The 753 observation the policy saw (a copy), when it ran.
    policy_observation: np.ndarray | None = None
    #: The newest observation (may be older than this tick).
    observation: HalObservation | None = None
    #: True when ``observation`` arrived since the previous tick.
    new_observation: bool = False
    #: Seconds from the observation's arrival to the command being sent.
    latency: float | None = None
    #: Why the policy step failed (empty on success).
    error: str = ''
    #: Seconds spent per stage when the policy ran.
    stage_times: dict[str, float] = field(default_factory=dict)


class ControlStep:
    """
    The control behaviour of one robot, independent of who drives the ticks.

    :param sink: the HAL client that sends commands.
    :param builder: an :class:`~krabby_parkour_ros.mapping.observation.ObservationBuilder`.
    :param mapper: an :class:`~krabby_parkour_ros.mapping.action.ActionMapper`.
    :param model: a :class:`~krabby_parkour_ros.policy.model.ParkourPolicyModel`.
    :param config: timing and safety settings (validated here).
    :param limits: navigation command limits.
    :param clock: monotonic nanoseconds (injectable for tests).
    """

    def __init__(
        self,
        sink: CommandSink,
        builder: Any,
        mapper: Any,
        model: Any,
        config: ControlConfig,
        limits: NavigationLimits | None = None,
        clock: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        self._sink = sink
        self._pipeline = PolicyPipeline(builder, model, mapper)
        self._config = config
        self._limits = limits if limits is not None else NavigationLimits()
        self._clock = clock
        # Ticks run in the control thread; hold/release/navigation/shadow come
        # from others (services, subscriptions): one lock keeps every
        # transition whole, so a hold is never overwritten by a policy step.
        self._lock = threading.RLock()
        self._stale_ns = int(config.stale_timeout * 1e9)
        self._joint_map = mapper.joint_map
        self._target_lower = np.asarray(self._joint_map.target_lower, dtype=np.float32)
        self._target_upper = np.asarray(self._joint_map.target_upper, dtype=np.float32)
        self._default_command = np.asarray(mapper.default_command(), dtype=np.float32).copy()
        self._refusal_logged = ''
        self._stand = StandGate(
            config.stand_on_zero_command,
            config.stand_threshold,
            config.stand_hysteresis,
            config.stand_dwell,
        )
        self._ramp_start = np.zeros(JOINT_COUNT, dtype=np.float32)
        self._ramp_buffer = np.zeros(JOINT_COUNT, dtype=np.float32)
        self._last_command: np.ndarray | None = None
        self._latest: HalObservation | None = None
        self._mode = ControlMode.WAITING
        self._active = False
        self._user_hold = False
        self._ramp_t0 = 0
        self._ramp_duration = 0.0
        self._stale_since = 0
        self._mode_before_stale = ControlMode.WAITING
        self._policy_ticks = 0
        self._last_policy_stamp = -1
        self._consecutive_failures = 0
        self.fault_latched = False
        self._shadow = config.shadow
        self._nav = NavigationCommand()
        self._nav_time_ns: int | None = None
        self.latency = RollingSamples()
        self.inference_time = RollingSamples()
        self.counters: dict[str, int] = {
            'ticks': 0,
            'policy_steps': 0,
            'commands_sent': 0,
            'stale_events': 0,
            'stale_ticks': 0,
            'failures': 0,
            'fault_latches': 0,
            'nav_clamped': 0,
            'nav_timeouts': 0,
            'non_finite_blocked': 0,
            'send_errors': 0,
            'rate_limited': 0,
            'policy_deferred': 0,
            'stale_resumes': 0,
            'activation_refused': 0,
            'start_pose_clamped': 0,
            'mode_changes': 0,
            'stand_entries': 0,
        }
        self.failures_by_reason: dict[str, int] = {}
        self.last_error = ''

    # -- state ---------------------------------------------------------------------------

    @property
    def mode(self) -> ControlMode:
        """Return the current mode."""
        return self._mode

    @property
    def shadow(self) -> bool:
        """Return True when commands are computed but not sent."""
        return self._shadow

    @property
    def last_command(self) -> np.ndarray | None:
        """Return a copy of the last safe command (hardware order), if any."""
        return None if self._last_command is None else self._last_command.copy()

    @property
    def last_observation(self) -> HalObservation | None:
        """Return the newest observation seen."""
        return self._latest

    @property
    def navigation_command(self) -> NavigationCommand:
        """Return the navigation command in force (after limits)."""
        return self._nav

    @property
    def consecutive_failures(self) -> int:
        """Return the number of failed policy steps in a row."""
        return self._consecutive_failures

    def set_shadow(self, shadow: bool, cause: str = 'request') -> None:
        """
        Switch shadow mode (policy runs, nothing is sent) on or off.

        Entering shadow mode is refused while active: the commands would stop
        mid-gait and the HAL would hold a stale gait target (the robot
        falls). Deactivate (the HAL then holds the last safe target) and
        switch it on while inactive. Leaving shadow mode while active
        restarts from the soft start: the HAL is still tracking whatever it
        had before, so the first sent targets ramp from the measured pose
        instead of jumping to the policy's output.

        :param cause: who asked (logged).
        :raises ShadowModeError: entering shadow mode while active.
        """
        with self._lock:
            shadow = bool(shadow)
            if shadow == self._shadow:
                return
            if shadow and self._active:
                _LOG.warning('shadow mode request (%s) refused: the controller is active', cause)
                raise ShadowModeError(
                    'shadow_mode: refused while active (commands would stop mid-gait and '
                    'the robot would fall); deactivate first, then enable it'
                )
            _LOG.info('shadow mode %s (%s)', 'on' if shadow else 'off', cause)
            if self._shadow and not shadow and self._active:
                self._last_command = None
                if not self._user_hold:
                    self._set_mode(ControlMode.WAITING, 'shadow mode off: soft start again')
            self._shadow = shadow

    def _set_mode(self, mode: ControlMode, cause: str) -> None:
        """Change the mode, logging each change once with its cause."""
        if mode == self._mode:
            return
        self.counters['mode_changes'] += 1
        _LOG.info('mode %s -> %s: %s', self._mode.value, mode.value, cause)
        self._mode = mode

    def activate(self) -> None:
        """Start controlling: wait for fresh data, then soft-start."""
        with self._lock:
            self._active = True
            self._user_hold = False
            self.fault_latched = False
            self._consecutive_failures = 0
            self._refusal_logged = ''
            self._stand.reset()
            self._set_mode(ControlMode.WAITING, 'activated: waiting for a fresh observation')

    def deactivate(self) -> np.ndarray | None:
        """
        Stop controlling; return the hold target (the last safe command).

        The caller sends it once more so the HAL keeps holding a pose that is
        continuous with what it was tracking (no jump, no silence mid-ramp).
        """
        with self._lock:
            self._active = False
            self._set_mode(ControlMode.WAITING, 'deactivated')
            return self.last_command

    def hold(self, cause: str = 'request') -> None:
        """Hold the last safe target until :meth:`release` (user request)."""
        with self._lock:
            _LOG.info('hold requested (%s) in mode %s', cause, self._mode.value)
            self._user_hold = True
            if self._mode != ControlMode.WAITING:
                self._set_mode(ControlMode.HOLD_USER, f'hold requested ({cause})')

    def release(self, cause: str = 'request') -> None:
        """End a user hold: ramp back to the default pose, then run the policy."""
        with self._lock:
            _LOG.info(
                'release requested (%s) in mode %s%s',
                cause,
                self._mode.value,
                '' if self._user_hold else ': no hold in force',
            )
            if not self._user_hold:
                return
            self._user_hold = False
            if self._mode == ControlMode.HOLD_USER:
                self._start_ramp(
                    self._clock(), self._config.recovery_ramp_duration, f'released ({cause})'
                )

    def set_navigation_command(
        self, command: NavigationCommand, now_ns: int | None = None
    ) -> NavigationCommand:
        """Set the navigation command (clamped to the limits); return what is used."""
        with self._lock:
            clamped, was_clamped = self._limits.clamp(command)
            if was_clamped:
                self.counters['nav_clamped'] += 1
            self._nav = clamped
            self._nav_time_ns = self._clock() if now_ns is None else now_ns
            return clamped

    # -- the tick ------------------------------------------------------------------------

    def tick(
        self, observation: HalObservation | None = None, now_ns: int | None = None
    ) -> TickResult:
        """
        Run one control tick.

        :param observation: the newest observation if one arrived since the
            previous tick, else None (the previous one is reused for the
            freshness check and the command's observation timestamp).
        :param now_ns: monotonic time of the tick (defaults to the clock).
        """
        with self._lock:
            now = self._clock() if now_ns is None else now_ns
            self.counters['ticks'] += 1
            new = observation is not None
            if new:
                self._latest = observation
            obs = self._latest
            result = TickResult(mode=self._mode, observation=obs, new_observation=new)
            if not self._active or obs is None:
                return result
            self._expire_navigation(now)
            fresh = (now - obs.receive_time_ns) <= self._stale_ns
            if not fresh:
                self._enter_stale(now)
            elif self._mode == ControlMode.WAITING or self._mode == ControlMode.HOLD_STALE:
                self._leave_waiting_or_stale(now, obs)
            if fresh:
                self._update_stand(now)
            command = self._command_for_mode(now, obs, result)
            if command is not None:
                self._send(command, obs, result)
            result.mode = self._mode
            return result

    def _enter_stale(self, now: int) -> None:
        self.counters['stale_ticks'] += 1
        if self._mode in (
            ControlMode.RUNNING,
            ControlMode.SOFT_START,
            ControlMode.HOLD_FAULT,
            ControlMode.STAND,
        ):
            self.counters['stale_events'] += 1
            _LOG.warning(
                'observations stale (> %.3f s): holding the last safe target',
                self._config.stale_timeout,
            )
            self._mode_before_stale = self._mode
            self._stale_since = now
            self._set_mode(ControlMode.HOLD_STALE, 'observations stale')

    def _leave_waiting_or_stale(self, now: int, obs: HalObservation) -> None:
        start = None
        if self._last_command is None:
            start = self._start_pose(obs)
            if start is None:
                return  # activation refused: keep waiting, send nothing
            if self._user_hold:
                self._last_command = start
        if self._user_hold:
            self._set_mode(ControlMode.HOLD_USER, 'fresh observation while a hold is requested')
            return
        if self._mode == ControlMode.WAITING:
            self._start_ramp(now, self._config.soft_start_duration, 'soft start', start)
            return
        outage = (now - self._stale_since) * 1e-9
        if self._mode_before_stale == ControlMode.STAND:
            self._start_stand(now, 'fresh observations: standing again')
            return
        if (
            self._mode_before_stale in (ControlMode.RUNNING, ControlMode.HOLD_FAULT)
            and outage <= self._config.stale_resume_window
        ):
            _LOG.info('fresh observations after %.3f s: the policy resumes', outage)
            self.counters['stale_resumes'] += 1
            self._set_mode(ControlMode.RUNNING, 'fresh observations within the resume window')
            return
        _LOG.info('fresh observations after %.3f s: ramping back to the default pose', outage)
        self._start_ramp(now, self._config.recovery_ramp_duration, 'recovery after stale data')

    def _command_for_mode(
        self, now: int, obs: HalObservation, result: TickResult
    ) -> np.ndarray | None:
        if self._mode == ControlMode.SOFT_START:
            return self._ramp_command(now)
        if self._mode == ControlMode.STAND:
            return self._interpolate(now)[0]
        if self._mode in (ControlMode.RUNNING, ControlMode.HOLD_FAULT):
            due = self._policy_ticks % self._config.policy_decimation == 0
            if not result.new_observation or obs.timestamp_ns == self._last_policy_stamp:
                # Decimation counts observations: a deadline tick (no new data,
                # e.g. one observation lost) repeats the target and shifts
                # nothing; the policy never sees the same sample twice.
                if due:
                    self.counters['policy_deferred'] += 1
                return self._last_command
            self._policy_ticks += 1
            if due:
                self._last_policy_stamp = obs.timestamp_ns
                return self._policy_step(obs, result)
        return self._last_command

    # -- ramps ---------------------------------------------------------------------------

    def _start_pose(self, obs: HalObservation) -> np.ndarray | None:
        """
        Return the measured pose clamped into the target limits, or None (refused).

        A pose that cannot be true (non-finite, or beyond the position range
        by more than ``activation_margin``) refuses activation: counted,
        logged once per distinct reason, kept in ``last_error``.
        """
        problems = self._joint_map.implausible_positions(
            obs.joint_positions, self._config.activation_margin
        )
        if problems:
            message = 'activation refused: ' + '; '.join(problems)
            self.counters['activation_refused'] += 1
            self.last_error = message
            if message != self._refusal_logged:
                self._refusal_logged = message
                _LOG.error('%s (no command sent; waiting for a plausible pose)', message)
            return None
        if self.last_error.startswith('activation refused'):
            _LOG.info('plausible pose measured: activation proceeds')
            self.last_error = ''
            self._refusal_logged = ''
        measured = np.asarray(obs.joint_positions, dtype=np.float32)
        start = np.clip(measured, self._target_lower, self._target_upper)
        if np.any(start != measured):
            self.counters['start_pose_clamped'] += 1
            names = self._joint_map.hardware_joint_names
            _LOG.warning(
                'measured pose outside the target limits at %s: the first target is '
                'clamped into them',
                [names[i] for i in np.flatnonzero(start != measured)],
            )
        return start

    def _start_ramp(
        self, now: int, duration: float, cause: str, start: np.ndarray | None = None
    ) -> None:
        # Start from what the HAL is tracking (the last sent target) so the
        # targets stay continuous; before any command, from the measured pose
        # (checked and clamped by _start_pose).
        if start is None and self._last_command is not None:
            start = self._last_command
        elif start is None and self._latest is not None:
            start = self._start_pose(self._latest)
            if start is None:
                self._set_mode(ControlMode.WAITING, 'activation refused')
                return
        elif start is None:
            start = self._default_command
        np.clip(start, self._target_lower, self._target_upper, out=self._ramp_start)
        self._ramp_t0 = now
        self._ramp_duration = duration
        self._set_mode(ControlMode.SOFT_START, cause)

    def _interpolate(self, now: int) -> tuple[np.ndarray, bool]:
        """Return the ramp's target at ``now`` (smoothstep) and whether it is complete."""
        alpha = (
            1.0
            if self._ramp_duration <= 0.0
            else (now - self._ramp_t0) / (self._ramp_duration * 1e9)
        )
        if alpha >= 1.0:
            return self._default_command.copy(), True
        alpha = max(alpha, 0.0)
        smooth = alpha * alpha * (3.0 - 2.0 * alpha)
        np.subtract(self._default_command, self._ramp_start, out=self._ramp_buffer)
        self._ramp_buffer *= smooth
        self._ramp_buffer += self._ramp_start
        return self._ramp_buffer.copy(), False

    def _ramp_command(self, now: int) -> np.ndarray:
        command, done = self._interpolate(now)
        if done:
            self._begin_policy()
        return command

    # -- stand on a zero command ---------------------------------------------------------

    def _update_stand(self, now: int) -> None:
        standing = self._mode == ControlMode.STAND
        want = self._stand.should_stand(self._nav, now, standing)
        if want and self._mode == ControlMode.RUNNING:
            self._start_stand(now, 'navigation command below stand_threshold')
        elif standing and not want:
            self._start_ramp(
                now,
                self._config.recovery_ramp_duration,
                'navigation command above the stand threshold: the policy resumes',
            )

    def _start_stand(self, now: int, cause: str) -> None:
        start = self._last_command if self._last_command is not None else self._default_command
        np.clip(start, self._target_lower, self._target_upper, out=self._ramp_start)
        self._ramp_t0 = now
        self._ramp_duration = self._config.stand_ramp_duration
        self.counters['stand_entries'] += 1
        self._set_mode(ControlMode.STAND, cause)

    def _begin_policy(self) -> None:
        self._pipeline.reset()
        self._policy_ticks = 0
        self._consecutive_failures = 0
        self._set_mode(ControlMode.RUNNING, 'ramp done: the policy takes over')

    # -- policy --------------------------------------------------------------------------

    def _policy_step(self, obs: HalObservation, result: TickResult) -> np.ndarray | None:
        # The rate limit's reference is what the HAL tracks: the last command
        # sent (after a ramp, its end: the default pose).
        previous = self._last_command if self._last_command is not None else self._default_command
        outcome = self._pipeline.run(
            obs, self._nav, previous, first_of_failures=self._consecutive_failures == 0
        )
        result.policy_ran = True
        result.policy_observation = outcome.observation
        result.stage_times = outcome.stage_times
        if 'infer' in outcome.stage_times:
            self.inference_time.add(outcome.stage_times['infer'])
        self.counters['policy_steps'] += 1
        if outcome.failure is not None:
            return self._policy_failure(outcome, result)
        self._consecutive_failures = 0
        self._set_mode(ControlMode.RUNNING, 'policy step succeeded again')
        if outcome.limited:
            self.counters['rate_limited'] += 1
        result.action = outcome.action
        return outcome.command

    def _policy_failure(self, outcome: PolicyOutcome, result: TickResult) -> np.ndarray | None:
        self._consecutive_failures += 1
        self.counters['failures'] += 1
        reason = outcome.failure.value if outcome.failure is not None else 'unknown'
        self.failures_by_reason[reason] = self.failures_by_reason.get(reason, 0) + 1
        error = outcome.error
        self.last_error = error
        result.error = error
        self._set_mode(ControlMode.HOLD_FAULT, f'policy step failed ({error})')
        if (
            self._consecutive_failures >= self._config.max_consecutive_failures
            and not self.fault_latched
        ):
            self.fault_latched = True
            self.counters['fault_latches'] += 1
            _LOG.error(
                '%d consecutive policy failures (last: %s): fault latched',
                self._consecutive_failures,
                error,
            )
        else:
            _LOG.warning('policy step failed (%s): holding the last safe target', error)
        return self._last_command

    # -- output --------------------------------------------------------------------------

    def _expire_navigation(self, now: int) -> None:
        if self._nav_time_ns is None:
            return
        if now - self._nav_time_ns > self._config.command_timeout * 1e9:
            self._nav = NavigationCommand()
            self._nav_time_ns = None
            self.counters['nav_timeouts'] += 1
            _LOG.info('navigation command timed out: zero command')

    def _send(self, command: np.ndarray, obs: HalObservation, result: TickResult) -> None:
        if command.shape != (JOINT_COUNT,) or not all_finite(command):
            # Last line of defence: the mapper never produces this.
            self.counters['non_finite_blocked'] += 1
            _LOG.error('blocked a non-finite or mis-sized command %r', command)
            return
        if self._shadow:
            self._last_command = command
            result.command = command
            return
        try:
            sent = self._sink.put_joint_command(command, obs.timestamp_ns)
        except ValueError as exc:
            self.counters['send_errors'] += 1
            _LOG.error('command refused by the HAL client: %s', exc)
            return
        # The wire guard may have clamped it: what the HAL got is what we hold.
        if sent is not None:
            command = np.array(sent, dtype=np.float32)
        self._last_command = command
        result.command = command
        result.sent = True
        self.counters['commands_sent'] += 1
        if result.new_observation and obs.receive_time_ns > 0:
            result.latency = (self._clock() - obs.receive_time_ns) * 1e-9
            self.latency.add(result.latency)

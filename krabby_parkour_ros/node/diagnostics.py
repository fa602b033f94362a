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
Turn the control runtime's counters into ``diagnostic_msgs/DiagnosticStatus`` messages.

One status per concern, named ``<node>: <concern>`` as ``diagnostic_updater``
names its tasks, so that a ``diagnostic_aggregator`` analyzer with
``startswith: parkour_node`` groups them (docs/node.md):

- ``<node>: control``: the controller's mode (level from the mode, as
  before) carrying every key, for tools that read one status;
- ``<node>: control loop``: late ticks and observation -> command latency;
- ``<node>: HAL link``: stale data, the HAL's rate, interleaving, drops;
- ``<node>: policy``: faults, failed steps, inference time;
- ``<node>: limits and safety``: clamps, refused commands, hostile input;
- ``<node>: recording``: the MCAP recorder (off, writing, dropping, failed).

The concern statuses judge what happened *in the last diagnostics period*
(counters since the previous message, percentiles of the samples added
since), against thresholds that are node parameters (``diagnostics.*``),
and a raised level holds for ``diagnostics.clear_periods`` clean periods
before it drops, so a status does not flap.

Length: about 710 lines, beyond the usual ~450. One short function per diagnostic status
(control, loop, HAL link, policy, ...) over shared key and level helpers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
import math
from typing import Any

from diagnostic_msgs.msg import DiagnosticStatus, KeyValue
import numpy as np

from krabby_parkour_ros.control.runtime import ControlRuntime
from krabby_parkour_ros.control.step import ControlMode

#: Level per mode: running is OK; ramps, waits and user holds are WARN (the
#: policy is not driving); stale data and failures are ERROR.
_LEVELS = {
    ControlMode.RUNNING: DiagnosticStatus.OK,
    ControlMode.SOFT_START: DiagnosticStatus.WARN,
    ControlMode.WAITING: DiagnosticStatus.WARN,
    ControlMode.HOLD_USER: DiagnosticStatus.WARN,
    ControlMode.STAND: DiagnosticStatus.OK,
    ControlMode.HOLD_STALE: DiagnosticStatus.ERROR,
    ControlMode.HOLD_FAULT: DiagnosticStatus.ERROR,
}


#: A HAL is too slow when it delivers fewer valid observations per second
#: than this fraction of the policy rate (the margin absorbs measurement jitter).
HAL_RATE_MARGIN = 0.9


def hal_stream_warnings(
    hal: Mapping[str, Any], policy_period: float, rate_margin: float = HAL_RATE_MARGIN
) -> list[str]:
    """
    Return why the HAL's observation stream deserves a WARN (empty: none).

    Two publishers interleaved on one endpoint (timestamps going back and
    forth, detected within the last few seconds), and a HAL delivering
    fewer valid observations per second than the policy runs (a 20 Hz HAL
    under a 50 Hz policy). A silent HAL (no rate measured) is left to the
    stale-data handling, which is an ERROR already.

    :param hal: ``HalClient.stats()``.
    :param policy_period: seconds between policy steps.
    :param rate_margin: fraction of the policy rate below which the HAL is too slow.
    """
    warnings: list[str] = []
    if hal.get('interleaved_streams_active'):
        warnings.append(
            'two interleaved observation streams (timestamps go back and forth: '
            'two publishers on one endpoint?)'
        )
    rate = float(hal.get('observation_rate_hz') or 0.0)
    needed = 1.0 / policy_period if policy_period > 0 else 0.0
    if 0.0 < rate < rate_margin * needed:
        warnings.append(
            f'HAL observation rate {rate:.1f} Hz is below the policy rate {needed:.1f} Hz'
        )
    return warnings


def _offset(value: float | None) -> str:
    return 'unknown' if value is None else f'{value:.3f}'


def _ms(value: float) -> str:
    return 'nan' if math.isnan(value) else f'{value * 1e3:.3f}'


def _flatten(prefix: str, counts: dict[str, int]) -> Iterable[tuple[str, str]]:
    for key in sorted(counts):
        yield f'{prefix}{key}', str(counts[key])


def diagnostic_values(runtime: ControlRuntime) -> list[tuple[str, str]]:
    """Return the (key, value) pairs describing the controller's health."""
    step = runtime.step
    driver = runtime.driver
    period = driver.periods.summary()
    latency = step.latency.summary()
    inference = step.inference_time.summary()
    hal = runtime.hal.stats()
    rate = 0.0 if not period['count'] or math.isnan(period['p50']) else 1.0 / period['p50']
    nav = step.navigation_command
    pairs: list[tuple[str, str]] = [
        ('mode', step.mode.value),
        ('shadow_mode', str(step.shadow)),
        ('policy', runtime.contract.name),
        ('policy_trained', str(runtime.model.trained)),
        ('policy_backend', runtime.model.backend),
        ('loop_rate_hz', f'{rate:.2f}'),
        ('tick_period_p50_ms', _ms(period['p50'])),
        ('tick_period_p99_ms', _ms(period['p99'])),
        ('tick_period_max_ms', _ms(period['max'])),
        ('late_ticks', str(driver.late_ticks)),
        ('deadline_ticks', str(driver.deadline_ticks)),
        ('warm_ups', str(driver.warm_ups)),
        ('warm_up_lead_ms', _ms(driver.warm_up_lead_s)),
        ('warm_up_pauses', str(driver.warm_up_pauses)),
        ('latency_p50_ms', _ms(latency['p50'])),
        ('latency_p99_ms', _ms(latency['p99'])),
        ('latency_max_ms', _ms(latency['max'])),
        ('inference_p50_ms', _ms(inference['p50'])),
        ('inference_p99_ms', _ms(inference['p99'])),
        ('navigation_command', f'vx={nav.vx:.3f} vy={nav.vy:.3f} yaw_rate={nav.yaw_rate:.3f}'),
        ('substitutes_in_use', ','.join(sorted(runtime.builder.substitutions)) or 'none'),
        ('last_error', step.last_error or 'none'),
        ('hal_received', str(hal.get('received_count', 0))),
        ('hal_superseded', str(hal.get('superseded_count', 0))),
        ('hal_commands_dropped', str(hal.get('commands_dropped', 0))),
        # Freshness beyond arrival time (docs/hal.md): the HAL clock versus
        # ours, its delivered rate versus the policy's, interleaved streams.
        ('hal_reconnects', str(hal.get('reconnects', 0))),
        ('hal_receiver_scheduler', str(hal.get('receiver_scheduler', 'default'))),
        ('hal_clock_offset_ms', _offset(hal.get('clock_offset_ms'))),
        ('hal_observation_rate_hz', f'{float(hal.get("observation_rate_hz") or 0.0):.2f}'),
        ('policy_rate_hz', f'{1.0 / runtime.config.control.policy_period:.2f}'),
        ('hal_timestamp_reversals', str(hal.get('timestamp_reversals', 0))),
        ('hal_interleaved_streams', str(hal.get('interleaved_streams', 0))),
    ]
    pairs.extend(_flatten('', step.counters))
    pairs.extend(_flatten('failure_', step.failures_by_reason))
    pairs.extend(_flatten('hal_rejected_', hal.get('rejections', {})))
    # Departures from training: policy targets clamped to the joint map's
    # target limits (and rate limited), per joint; zero in the simulator.
    pairs.extend(_flatten('target_clamps_', runtime.mapper.clamp_counts()))
    pairs.extend(_flatten('rate_limited_', runtime.mapper.rate_limit_counts()))
    # The last line before the wire: non-zero means a layer above has a bug.
    pairs.append(('wire_clamped_commands', str(hal.get('wire_clamped_commands', 0))))
    pairs.append(('wire_refused_commands', str(hal.get('wire_refused_commands', 0))))
    pairs.extend(_flatten('wire_clamps_', hal.get('wire_clamps', {})))
    return pairs


def build_diagnostic_status(
    name: str, runtime: ControlRuntime, hardware_id: str, extra: Iterable[tuple[str, str]] = ()
) -> DiagnosticStatus:
    """Build the status message: level from the mode, counters (and ``extra``) as key/values."""
    step = runtime.step
    level = DiagnosticStatus.ERROR if step.fault_latched else _LEVELS[step.mode]
    if step.fault_latched:
        message = f'fault latched: {step.last_error}'
    elif step.mode == ControlMode.HOLD_STALE:
        message = 'observations stale: holding the last safe target'
    elif step.mode == ControlMode.HOLD_FAULT:
        message = f'policy step failed: {step.last_error}'
    elif step.mode == ControlMode.WAITING and step.last_error.startswith('activation refused'):
        level = DiagnosticStatus.ERROR
        message = step.last_error
    else:
        message = step.mode.value
    warnings = hal_stream_warnings(runtime.hal.stats(), runtime.config.control.policy_period)
    if warnings:
        level = max(level, DiagnosticStatus.WARN)
        message = '; '.join([message] + warnings)
    return DiagnosticStatus(
        level=level,
        name=name,
        message=message,
        hardware_id=hardware_id,
        values=[
            KeyValue(key=k, value=v) for k, v in list(diagnostic_values(runtime)) + list(extra)
        ],
    )


# -- statuses per concern ---------------------------------------------------------------------

#: Prefix of the node parameters holding :class:`DiagnosticThresholds` fields.
THRESHOLD_PREFIX = 'diagnostics.'
#: Names of the concern statuses after ``<node>: `` (the summary status is ``control``).
CONCERNS = ('control loop', 'HAL link', 'policy', 'limits and safety', 'recording')
SUMMARY = 'control'

_OK, _WARN, _ERROR = DiagnosticStatus.OK, DiagnosticStatus.WARN, DiagnosticStatus.ERROR


class DiagnosticThresholdsError(ValueError):
    """A diagnostics threshold is out of range or a WARN threshold exceeds its ERROR one."""


@dataclass(frozen=True)
class DiagnosticThresholds:
    """
    WARN/ERROR thresholds of the concern statuses (parameters ``diagnostics.<field>``).

    Ratios and percentiles are over the last diagnostics period; a level is
    raised when a value is *above* its threshold.

    :param late_tick_warn_ratio: late ticks / timed ticks for WARN (control loop).
    :param late_tick_error_ratio: ... for ERROR.
    :param latency_p99_warn_ms: p99 observation -> command latency for WARN (control loop).
    :param latency_p99_error_ms: ... for ERROR.
    :param inference_p99_warn_ms: p99 policy inference time for WARN (policy).
    :param inference_p99_error_ms: ... for ERROR.
    :param hal_rate_warn_ratio: the HAL delivers fewer valid observations per second
        than this fraction of the policy rate: WARN (HAL link).
    :param target_clamp_warn_ratio: joint targets clamped to the joint map's limits per
        command sent, for WARN (limits and safety; 0 in the simulator).
    :param clear_periods: clean periods before a raised level drops (hysteresis).
    """

    late_tick_warn_ratio: float = 0.05
    late_tick_error_ratio: float = 0.25
    latency_p99_warn_ms: float = 10.0
    latency_p99_error_ms: float = 50.0
    inference_p99_warn_ms: float = 10.0
    inference_p99_error_ms: float = 20.0
    hal_rate_warn_ratio: float = HAL_RATE_MARGIN
    target_clamp_warn_ratio: float = 0.1
    clear_periods: int = 3

    def __post_init__(self) -> None:
        for name in (
            'late_tick_warn_ratio',
            'late_tick_error_ratio',
            'hal_rate_warn_ratio',
            'target_clamp_warn_ratio',
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise DiagnosticThresholdsError(
                    f'{THRESHOLD_PREFIX}{name} must be in [0, 1], got {value!r}'
                )
        for name in (
            'latency_p99_warn_ms',
            'latency_p99_error_ms',
            'inference_p99_warn_ms',
            'inference_p99_error_ms',
        ):
            value = getattr(self, name)
            if not 0.0 < value < math.inf:
                raise DiagnosticThresholdsError(
                    f'{THRESHOLD_PREFIX}{name} must be a positive number of ms, got {value!r}'
                )
        for warn, error in (
            ('late_tick_warn_ratio', 'late_tick_error_ratio'),
            ('latency_p99_warn_ms', 'latency_p99_error_ms'),
            ('inference_p99_warn_ms', 'inference_p99_error_ms'),
        ):
            if getattr(self, warn) > getattr(self, error):
                raise DiagnosticThresholdsError(
                    f'{THRESHOLD_PREFIX}{warn} ({getattr(self, warn)!r}) must not exceed '
                    f'{THRESHOLD_PREFIX}{error} ({getattr(self, error)!r})'
                )
        if not 1 <= self.clear_periods <= 100:
            raise DiagnosticThresholdsError(
                f'{THRESHOLD_PREFIX}clear_periods must be in [1, 100], got {self.clear_periods!r}'
            )

    @classmethod
    def from_values(cls, get: Callable[[str], Any]) -> DiagnosticThresholds:
        """
        Build the thresholds from parameter values (``get('diagnostics.<field>')``).

        :raises DiagnosticThresholdsError: naming the first invalid value.
        """
        return cls(**{name: get(THRESHOLD_PREFIX + name) for name in cls.__dataclass_fields__})


def robot_hardware_id(robot_name: str, joint_map_name: str) -> str:
    """Return the ``hardware_id`` of every status: ``robot_name``, else the joint map's name."""
    return robot_name.strip() or joint_map_name


def _above(value: float, warn: float, error: float) -> bytes:
    if math.isnan(value):
        return _OK
    return _ERROR if value > error else _WARN if value > warn else _OK


def _p99_ms(samples: Sequence[float] | np.ndarray) -> float:
    return float('nan') if len(samples) == 0 else float(np.percentile(samples, 99.0)) * 1e3


def _select(
    values: Mapping[str, str], names: Sequence[str], prefixes: Sequence[str] = ()
) -> list[tuple[str, str]]:
    """Return the pairs of ``values`` named in ``names`` or starting with a prefix, in order."""
    chosen = [(name, values[name]) for name in names if name in values]
    chosen += [(k, v) for k, v in values.items() if any(k.startswith(p) for p in prefixes)]
    return chosen


class _Finding:
    """The level and reasons of one concern in one period."""

    def __init__(self) -> None:
        self.level = _OK
        self.reasons: list[str] = []

    def raise_to(self, level: bytes, reason: str) -> None:
        if level > _OK:
            self.level = max(self.level, level)
            self.reasons.append(reason)


#: A concern's finding, its key/values and its message when nothing is raised.
_Judgement = tuple[_Finding, list[tuple[str, str]], str]


class _Hysteresis:
    """Hold a raised level until ``clear_periods`` periods in a row were below it."""

    def __init__(self) -> None:
        self.level = _OK
        self.message = ''
        self.clean = 0

    def update(self, level: bytes, message: str, clear_periods: int) -> tuple[bytes, str]:
        if level >= self.level:
            self.level, self.message, self.clean = level, message, 0
            return level, message
        self.clean += 1
        if self.clean >= clear_periods:
            self.level, self.message, self.clean = level, message, 0
            return level, message
        return self.level, (
            f'{message}; holding {_LEVEL_NAMES[self.level]} for '
            f'{clear_periods - self.clean} more period(s): {self.message}'
        )


_LEVEL_NAMES = {_OK: 'OK', _WARN: 'WARN', _ERROR: 'ERROR', DiagnosticStatus.STALE: 'STALE'}


class DiagnosticsMonitor:
    """
    Build the node's ``/diagnostics`` statuses, one call per diagnostics period.

    Keeps the counters of the previous call, so that every concern is judged
    on the last period alone (a burst of late ticks an hour ago is not a
    WARN now), and the hysteresis of each concern.

    :param node_name: the node's name, the prefix of every status name.
    :param hardware_id: the robot (:func:`robot_hardware_id`).
    :param thresholds: the WARN/ERROR thresholds.
    """

    def __init__(
        self,
        node_name: str,
        hardware_id: str,
        thresholds: DiagnosticThresholds = DiagnosticThresholds(),
    ) -> None:
        self.node_name = node_name
        self.hardware_id = hardware_id
        self.thresholds = thresholds
        self._previous: dict[str, int] = {}
        self._hysteresis = {concern: _Hysteresis() for concern in CONCERNS}

    def status_name(self, concern: str) -> str:
        """Return the full name of a status: ``<node>: <concern>``."""
        return f'{self.node_name}: {concern}'

    def statuses(
        self,
        runtime: ControlRuntime,
        extra: Iterable[tuple[str, str]] = (),
        recorder_stats: Mapping[str, Any] | None = None,
    ) -> list[DiagnosticStatus]:
        """
        Return the summary status and one status per concern for this period.

        :param runtime: the configured control runtime.
        :param extra: the node's own key/values (scheduler, node counters).
        :param recorder_stats: ``HalRecorder.stats()`` while recording, else None.
        """
        extra = list(extra)
        summary = build_diagnostic_status(
            self.status_name(SUMMARY), runtime, self.hardware_id, extra=extra
        )
        values = {kv.key: kv.value for kv in summary.values}
        counts = self._counts(runtime, values, recorder_stats)
        window = {}
        for key, count in counts.items():
            before = self._previous.get(key, 0)
            # A counter below its previous value was reset (activation): all of it is new.
            window[key] = count - before if count >= before else count
        self._previous = counts
        builders = {
            'control loop': self._control_loop,
            'HAL link': self._hal_link,
            'policy': self._policy,
            'limits and safety': self._limits,
            'recording': self._recording,
        }
        statuses = [summary]
        for concern in CONCERNS:
            finding, pairs, ok_message = builders[concern](runtime, values, window, recorder_stats)
            message = '; '.join(finding.reasons) or ok_message
            level, message = self._hysteresis[concern].update(
                finding.level, message, self.thresholds.clear_periods
            )
            statuses.append(
                DiagnosticStatus(
                    level=level,
                    name=self.status_name(concern),
                    message=message,
                    hardware_id=self.hardware_id,
                    values=[KeyValue(key=k, value=v) for k, v in pairs],
                )
            )
        return statuses

    @staticmethod
    def _counts(
        runtime: ControlRuntime,
        values: Mapping[str, str],
        recorder_stats: Mapping[str, Any] | None,
    ) -> dict[str, int]:
        """Return the cumulative counters whose per-period difference is judged."""
        step, driver = runtime.step, runtime.driver

        def count(key: str) -> int:
            try:
                return int(values.get(key, 0))
            except ValueError:
                return 0

        counts = {
            'timed_ticks': driver.lateness.total_count,
            'late_ticks': int(driver.late_ticks),
            'latency_samples': step.latency.total_count,
            'inference_samples': step.inference_time.total_count,
            'target_clamps': sum(runtime.mapper.clamp_counts().values()),
        }
        for key in (
            'commands_sent',
            'failures',
            'stale_ticks',
            'send_errors',
            'non_finite_blocked',
            'wire_clamped_commands',
            'wire_refused_commands',
            'hal_commands_dropped',
            'callback_errors',
            'invalid_cmd_vel',
        ):
            counts[key] = count(key)
        if recorder_stats is not None:
            counts['recording_dropped'] = int(recorder_stats.get('dropped', 0))
            counts['recording_errors'] = int(recorder_stats.get('errors', 0))
        return counts

    def _control_loop(
        self,
        runtime: ControlRuntime,
        values: Mapping[str, str],
        window: Mapping[str, int],
        recorder_stats: Mapping[str, Any] | None,
    ) -> _Judgement:
        t = self.thresholds
        finding = _Finding()
        timed, late = window['timed_ticks'], window['late_ticks']
        ratio = late / timed if timed else 0.0
        finding.raise_to(
            _above(ratio, t.late_tick_warn_ratio, t.late_tick_error_ratio),
            f'{late} of {timed} ticks late ({ratio:.0%}; WARN above '
            f'{t.late_tick_warn_ratio:.0%}, ERROR above '
            f'{t.late_tick_error_ratio:.0%})',
        )
        latency = _p99_ms(runtime.step.latency.recent(window['latency_samples']))
        finding.raise_to(
            _above(latency, t.latency_p99_warn_ms, t.latency_p99_error_ms),
            f'observation -> command latency p99 {latency:.1f} ms (WARN above '
            f'{t.latency_p99_warn_ms:g} ms, ERROR above '
            f'{t.latency_p99_error_ms:g} ms)',
        )
        pairs = _select(
            values,
            (
                'loop_rate_hz',
                'tick_period_p50_ms',
                'tick_period_p99_ms',
                'tick_period_max_ms',
                'late_ticks',
                'deadline_ticks',
                'warm_ups',
                'warm_up_lead_ms',
                'warm_up_pauses',
                'latency_p50_ms',
                'latency_p99_ms',
                'latency_max_ms',
                'ticks',
                'control_thread_scheduler',
            ),
        )
        pairs += [
            ('period_ticks', str(timed)),
            ('period_late_ticks', str(late)),
            ('period_late_tick_ratio', f'{ratio:.3f}'),
            ('period_latency_p99_ms', 'nan' if math.isnan(latency) else f'{latency:.3f}'),
        ]
        return finding, pairs, f'{values.get("loop_rate_hz", "0")} Hz, {late} of {timed} late'

    def _hal_link(
        self,
        runtime: ControlRuntime,
        values: Mapping[str, str],
        window: Mapping[str, int],
        recorder_stats: Mapping[str, Any] | None,
    ) -> _Judgement:
        step = runtime.step
        finding = _Finding()
        if step.mode == ControlMode.HOLD_STALE:
            finding.raise_to(_ERROR, 'observations stale: holding the last safe target')
        for warning in hal_stream_warnings(
            runtime.hal.stats(),
            runtime.config.control.policy_period,
            self.thresholds.hal_rate_warn_ratio,
        ):
            finding.raise_to(_WARN, warning)
        if window['hal_commands_dropped']:
            finding.raise_to(
                _WARN, f'{window["hal_commands_dropped"]} commands dropped (HAL not reading)'
            )
        if window['send_errors']:
            finding.raise_to(_WARN, f'{window["send_errors"]} command sends failed')
        if window['stale_ticks'] and step.mode != ControlMode.HOLD_STALE:
            finding.raise_to(_WARN, f'{window["stale_ticks"]} ticks without fresh data')
        pairs = _select(
            values,
            (
                'hal_observation_rate_hz',
                'policy_rate_hz',
                'hal_received',
                'hal_superseded',
                'hal_commands_dropped',
                'hal_reconnects',
                'hal_receiver_scheduler',
                'hal_clock_offset_ms',
                'hal_timestamp_reversals',
                'hal_interleaved_streams',
                'stale_events',
                'stale_ticks',
                'stale_resumes',
                'send_errors',
                'deadline_ticks',
            ),
            ('hal_rejected_',),
        )
        pairs.append(('period_stale_ticks', str(window['stale_ticks'])))
        return finding, pairs, f'{values.get("hal_observation_rate_hz", "0")} Hz observations'

    def _policy(
        self,
        runtime: ControlRuntime,
        values: Mapping[str, str],
        window: Mapping[str, int],
        recorder_stats: Mapping[str, Any] | None,
    ) -> _Judgement:
        t = self.thresholds
        step = runtime.step
        finding = _Finding()
        if step.fault_latched:
            finding.raise_to(_ERROR, f'fault latched: {step.last_error}')
        elif step.mode == ControlMode.HOLD_FAULT:
            finding.raise_to(_ERROR, f'policy step failed: {step.last_error}')
        if window['failures']:
            finding.raise_to(_WARN, f'{window["failures"]} policy steps failed')
        inference = _p99_ms(step.inference_time.recent(window['inference_samples']))
        finding.raise_to(
            _above(inference, t.inference_p99_warn_ms, t.inference_p99_error_ms),
            f'inference p99 {inference:.1f} ms (WARN above '
            f'{t.inference_p99_warn_ms:g} ms, ERROR above '
            f'{t.inference_p99_error_ms:g} ms)',
        )
        if not runtime.model.trained:
            finding.raise_to(_WARN, 'the policy is UNTRAINED')
        pairs = _select(
            values,
            (
                'mode',
                'shadow_mode',
                'policy',
                'policy_trained',
                'policy_backend',
                'inference_p50_ms',
                'inference_p99_ms',
                'substitutes_in_use',
                'policy_steps',
                'policy_deferred',
                'failures',
                'fault_latches',
                'last_error',
            ),
            ('failure_',),
        )
        pairs += [
            ('period_failures', str(window['failures'])),
            ('period_inference_p99_ms', 'nan' if math.isnan(inference) else f'{inference:.3f}'),
        ]
        return finding, pairs, f'{values.get("policy", "")} ({step.mode.value})'

    def _limits(
        self,
        runtime: ControlRuntime,
        values: Mapping[str, str],
        window: Mapping[str, int],
        recorder_stats: Mapping[str, Any] | None,
    ) -> _Judgement:
        t = self.thresholds
        step = runtime.step
        finding = _Finding()
        if step.mode == ControlMode.WAITING and step.last_error.startswith('activation refused'):
            finding.raise_to(_ERROR, step.last_error)
        for key, reason in (
            ('wire_refused_commands', 'commands refused at the wire'),
            ('non_finite_blocked', 'non-finite targets blocked'),
        ):
            if window[key]:
                finding.raise_to(_ERROR, f'{window[key]} {reason} (a layer above has a bug)')
        if window['wire_clamped_commands']:
            finding.raise_to(
                _WARN,
                f'{window["wire_clamped_commands"]} commands clamped at '
                'the wire (a layer above has a bug)',
            )
        commands = window['commands_sent']
        clamps = window['target_clamps']
        ratio = clamps / commands if commands else 0.0
        if ratio > t.target_clamp_warn_ratio:
            finding.raise_to(
                _WARN,
                f'{clamps} joint targets clamped in {commands} commands '
                f'(WARN above {t.target_clamp_warn_ratio:g} per command)',
            )
        for key, reason in (
            ('callback_errors', 'unexpected callback errors (logged)'),
            ('invalid_cmd_vel', 'invalid cmd_vel messages ignored'),
        ):
            if window[key]:
                finding.raise_to(_WARN, f'{window[key]} {reason}')
        pairs = _select(
            values,
            (
                'shadow_mode',
                'navigation_command',
                'nav_clamped',
                'nav_timeouts',
                'non_finite_blocked',
                'rate_limited',
                'activation_refused',
                'start_pose_clamped',
                'wire_clamped_commands',
                'wire_refused_commands',
                'cmd_vel_received',
                'invalid_cmd_vel',
                'parameters_refused',
                'callback_errors',
            ),
            ('target_clamps_', 'rate_limited_', 'wire_clamps_'),
        )
        pairs.append(('period_target_clamps', str(clamps)))
        return finding, pairs, 'within limits'

    def _recording(
        self,
        runtime: ControlRuntime,
        values: Mapping[str, str],
        window: Mapping[str, int],
        recorder_stats: Mapping[str, Any] | None,
    ) -> _Judgement:
        finding = _Finding()
        if recorder_stats is None:
            return finding, [('recording', 'off')], 'off'
        if recorder_stats.get('error'):
            finding.raise_to(_ERROR, f'recorder failed: {recorder_stats["error"]}')
        if window['recording_dropped']:
            finding.raise_to(
                _WARN,
                f'{window["recording_dropped"]} records dropped (disk too slow or queue full)',
            )
        if window['recording_errors']:
            finding.raise_to(_WARN, f'{window["recording_errors"]} records not encodable')
        files = list(recorder_stats.get('files') or [])
        pairs = [
            ('recording', 'on'),
            ('recording_file', files[-1] if files else ''),
            ('recording_files', str(len(files))),
        ]
        pairs += [
            (f'recording_{key}', str(recorder_stats.get(key, 0)))
            for key in ('written', 'dropped', 'queued', 'bytes_written', 'errors')
        ]
        pairs.append(('period_recording_dropped', str(window['recording_dropped'])))
        return finding, pairs, f'writing {files[-1] if files else ""}'

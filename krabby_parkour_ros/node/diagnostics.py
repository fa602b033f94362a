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

"""Turn the control runtime's counters into a ``diagnostic_msgs/DiagnosticStatus``."""

from __future__ import annotations

import math
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from diagnostic_msgs.msg import DiagnosticStatus, KeyValue

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


def hal_stream_warnings(hal: Mapping[str, Any], policy_period: float) -> List[str]:
    """
    Return why the HAL's observation stream deserves a WARN (empty: none).

    Two publishers interleaved on one endpoint (timestamps going back and
    forth, detected within the last few seconds), and a HAL delivering
    fewer valid observations per second than the policy runs (a 20 Hz HAL
    under a 50 Hz policy). A silent HAL (no rate measured) is left to the
    stale-data handling, which is an ERROR already.

    :param hal: ``HalClient.stats()``.
    :param policy_period: seconds between policy steps.
    """
    warnings: List[str] = []
    if hal.get('interleaved_streams_active'):
        warnings.append('two interleaved observation streams (timestamps go back and forth: '
                        'two publishers on one endpoint?)')
    rate = float(hal.get('observation_rate_hz') or 0.0)
    needed = 1.0 / policy_period if policy_period > 0 else 0.0
    if 0.0 < rate < HAL_RATE_MARGIN * needed:
        warnings.append(f'HAL observation rate {rate:.1f} Hz is below the policy rate '
                        f'{needed:.1f} Hz')
    return warnings


def _offset(value: Optional[float]) -> str:
    return 'unknown' if value is None else f'{value:.3f}'


def _ms(value: float) -> str:
    return 'nan' if math.isnan(value) else f'{value * 1e3:.3f}'


def _flatten(prefix: str, counts: Dict[str, int]) -> Iterable[Tuple[str, str]]:
    for key in sorted(counts):
        yield f'{prefix}{key}', str(counts[key])


def diagnostic_values(runtime) -> List[Tuple[str, str]]:
    """Return the (key, value) pairs describing the controller's health."""
    step = runtime.step
    driver = runtime.driver
    period = driver.periods.summary()
    latency = step.latency.summary()
    inference = step.inference_time.summary()
    hal = runtime.hal.stats()
    rate = 0.0 if not period['count'] or math.isnan(period['p50']) else 1.0 / period['p50']
    nav = step.navigation_command
    pairs: List[Tuple[str, str]] = [
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
        ('hal_clock_offset_ms', _offset(hal.get('clock_offset_ms'))),
        ('hal_observation_rate_hz', f"{float(hal.get('observation_rate_hz') or 0.0):.2f}"),
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


def build_diagnostic_status(name: str, runtime, hardware_id: str,
                            extra: Iterable[Tuple[str, str]] = ()) -> DiagnosticStatus:
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
        level=level, name=name, message=message, hardware_id=hardware_id,
        values=[KeyValue(key=k, value=v)
                for k, v in list(diagnostic_values(runtime)) + list(extra)])

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
from typing import Dict, Iterable, List, Tuple

from diagnostic_msgs.msg import DiagnosticStatus, KeyValue

from krabby_parkour_ros.control.step import ControlMode

#: Level per mode: running is OK; ramps, waits and user holds are WARN (the
#: policy is not driving); stale data and failures are ERROR.
_LEVELS = {
    ControlMode.RUNNING: DiagnosticStatus.OK,
    ControlMode.SOFT_START: DiagnosticStatus.WARN,
    ControlMode.WAITING: DiagnosticStatus.WARN,
    ControlMode.HOLD_USER: DiagnosticStatus.WARN,
    ControlMode.HOLD_STALE: DiagnosticStatus.ERROR,
    ControlMode.HOLD_FAULT: DiagnosticStatus.ERROR,
}


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
    return DiagnosticStatus(
        level=level, name=name, message=message, hardware_id=hardware_id,
        values=[KeyValue(key=k, value=v)
                for k, v in list(diagnostic_values(runtime)) + list(extra)])

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
``parkour_report``: turn a recording into plots a person reads at a glance.

One pass over the recording (progress in percent on stderr) extracts the
joint positions and extension keys of every observation, every command,
the node's mode (``*/mode`` String topics), navigation commands (Twist
topics, else the commanded velocity in the policy observation vector) and
diagnostics errors. It writes into the output folder:

- ``joints.png``: per leg, commanded (dashed) vs measured (solid) position
  of each joint, hardware joint names;
- ``base_velocity.png``: measured base velocity (``base_linear_velocity``
  extension key) and yaw rate vs the navigation command;
- ``timing.png``: histograms of the observation period and of the
  observation -> command latency (command send time minus the receive
  time of the observation it answers, matched by
  ``observation_timestamp_ns``; both on the recording host's monotonic clock);
- ``timeline.png``: the mode over time, holds, observation gaps and errors;
- ``summary.json``: the numbers behind the plots.

Every time axis is seconds since the first observation (local wall clock).
Holds are shaded on every time plot (orange: stale inputs, blue: user
hold, red: fault), observation gaps longer than ``--gap-threshold`` are
grey bands, diagnostics errors are red ticks.

Length: about 740 lines, beyond the usual ~450. One short plotting function per picture of
the report, after one extraction pass.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
import json
import logging
import math
from pathlib import Path
import sys
from typing import Any

import numpy as np

from krabby_parkour_ros.hal.codec import decode_command, decode_observation
from krabby_parkour_ros.hal.errors import HalProtocolError
from krabby_parkour_ros.hal.messages import JOINT_COUNT
from krabby_parkour_ros.recording.format import decode_hal_frames, HAL_FRAMES_TYPE
from krabby_parkour_ros.recording.reader import RecordedRosMessage, RecordingReader
from krabby_parkour_ros.recording.recorder import COMMAND_TOPIC, OBSERVATION_TOPIC

logger = logging.getLogger(__name__)

#: Colours of the hold modes on time plots.
HOLD_COLOURS = {'hold_stale': 'tab:orange', 'hold_user': 'tab:blue', 'hold_fault': 'tab:red'}
#: Index of the commanded forward velocity in the policy observation (proprio 10).
POLICY_OBS_VX_INDEX = 10
#: Length of the parkour policy observation vector.
POLICY_OBS_LENGTH = 753
PLOT_NAMES = ('joints.png', 'base_velocity.png', 'timing.png', 'timeline.png')
_DIAGNOSTIC_ERROR = 2


class ReportError(RuntimeError):
    """A recording cannot be turned into a report (no observations, bad joint map)."""


@dataclass
class RecordingSeries:
    """Everything the report needs, as arrays (times in seconds since ``t0``)."""

    t0_ns: int = 0
    obs_t: list[float] = field(default_factory=list)
    obs_mono_ns: list[int] = field(default_factory=list)
    obs_stamp_ns: list[int] = field(default_factory=list)
    obs_joints: list[np.ndarray] = field(default_factory=list)
    base_velocity: list[tuple[float, float, float]] = field(default_factory=list)
    yaw_rate: list[float] = field(default_factory=list)
    malformed_observations: int = 0
    cmd_t: list[float] = field(default_factory=list)
    cmd_mono_ns: list[int] = field(default_factory=list)
    cmd_obs_stamp_ns: list[int] = field(default_factory=list)
    cmd_joints: list[np.ndarray] = field(default_factory=list)
    malformed_commands: int = 0
    modes: list[tuple[float, str]] = field(default_factory=list)
    nav: list[tuple[float, float, float]] = field(default_factory=list)
    nav_source: str = ''
    policy_vx: list[tuple[float, float]] = field(default_factory=list)
    joint_state_names: list[str] | None = None
    errors: list[tuple[float, str]] = field(default_factory=list)
    topics: dict[str, int] = field(default_factory=dict)
    raw_times: list[tuple[str, int]] = field(default_factory=list)


def _progress_printer(stream: Any) -> Any:
    last = [-1]

    def report(fraction: float) -> None:
        percent = int(min(1.0, max(0.0, fraction)) * 100)
        if percent != last[0]:
            last[0] = percent
            stream.write(f'\rreading recording: {int(percent):3}%')
            if percent == 100:
                stream.write('\n')
            stream.flush()

    return report


def _observation(series: RecordingSeries, mono: int, wall: int, frames: Sequence[Any]) -> None:
    try:
        obs = decode_observation(frames, receive_time_ns=mono)
    except HalProtocolError:
        series.malformed_observations += 1
        return
    series.raw_times.append(('obs', wall))
    series.obs_mono_ns.append(mono)
    series.obs_stamp_ns.append(obs.timestamp_ns)
    series.obs_joints.append(np.array(obs.joint_positions, dtype=np.float64))
    ext = obs.extensions
    vel = ext.base_linear_velocity
    series.base_velocity.append(
        tuple(vel.tolist()) if vel is not None else (math.nan, math.nan, math.nan)
    )
    gyro = ext.imu_angular_velocity
    series.yaw_rate.append(float(gyro[2]) if gyro is not None else math.nan)


def _command(series: RecordingSeries, mono: int, wall: int, frames: Sequence[Any]) -> None:
    try:
        command = decode_command(frames)
    except HalProtocolError:
        series.malformed_commands += 1
        return
    series.raw_times.append(('cmd', wall))
    series.cmd_mono_ns.append(mono)
    series.cmd_obs_stamp_ns.append(command.observation_timestamp_ns)
    series.cmd_joints.append(np.array(command.joint_positions, dtype=np.float64))


#: Navigation command types on cmd_vel (the node takes either, cmd_vel_stamped).
_TWIST_TYPES = ('geometry_msgs/msg/Twist', 'geometry_msgs/msg/TwistStamped')
#: ROS message types the report reads.
_ROS_TYPES = (
    'std_msgs/msg/String',
    'std_msgs/msg/Float32MultiArray',
    'sensor_msgs/msg/JointState',
    'diagnostic_msgs/msg/DiagnosticArray',
) + _TWIST_TYPES


def _level(value: Any) -> int:
    """Return a DiagnosticStatus level (a 1-byte ``bytes`` in rclpy) as an int."""
    return value[0] if isinstance(value, (bytes, bytearray)) else int(value)


def _ros(series: RecordingSeries, topic: str, type_name: str, stamp: int, message: Any) -> None:
    if type_name == 'std_msgs/msg/String' and topic.endswith('/mode'):
        series.modes.append((stamp, str(message.data)))
    elif type_name in _TWIST_TYPES:
        twist = message.twist if type_name == 'geometry_msgs/msg/TwistStamped' else message
        series.nav.append((stamp, float(twist.linear.x), float(twist.angular.z)))
        series.nav_source = topic
    elif (
        type_name == 'std_msgs/msg/Float32MultiArray'
        and topic.endswith('policy_observation')
        and len(message.data) == POLICY_OBS_LENGTH
    ):
        series.policy_vx.append((stamp, float(message.data[POLICY_OBS_VX_INDEX])))
    elif type_name == 'sensor_msgs/msg/JointState' and series.joint_state_names is None:
        if len(message.name) == JOINT_COUNT:
            series.joint_state_names = [str(n) for n in message.name]
    elif type_name == 'diagnostic_msgs/msg/DiagnosticArray':
        for status in message.status:
            if _level(status.level) >= _DIAGNOSTIC_ERROR:
                series.errors.append((stamp, f'{status.name}: {status.message}'))


def extract(reader: RecordingReader, progress: Any | None = None) -> RecordingSeries:
    """
    Read a recording once and return its series (times still in wall ns).

    :raises ReportError: if it holds no valid observation.
    """
    series = RecordingSeries()
    for message in reader.messages(progress=progress):
        series.topics[message.topic] = series.topics.get(message.topic, 0) + 1
        if message.type_name == HAL_FRAMES_TYPE:
            mono, wall, frames = decode_hal_frames(message.data)
            if message.topic == OBSERVATION_TOPIC:
                _observation(series, mono, wall, frames)
            elif message.topic == COMMAND_TOPIC:
                _command(series, mono, wall, frames)
            continue
        if message.type_name not in _ROS_TYPES:
            continue
        decoded = RecordedRosMessage(
            message.topic, message.type_name, message.log_time_ns, message.data, message.schema
        ).decode()
        _ros(series, message.topic, message.type_name, message.log_time_ns, decoded)
    if not series.obs_mono_ns:
        raise ReportError(
            f'recording {reader.parts[0]}: expected at least one valid observation on'
            f' {OBSERVATION_TOPIC}, found none'
        )
    _to_seconds(series)
    return series


def _to_seconds(series: RecordingSeries) -> None:
    """Convert every wall time to seconds since the first observation."""
    obs_walls = [wall for kind, wall in series.raw_times if kind == 'obs']
    cmd_walls = [wall for kind, wall in series.raw_times if kind == 'cmd']
    t0 = obs_walls[0]
    series.t0_ns = t0
    series.obs_t = [(w - t0) / 1e9 for w in obs_walls]
    series.cmd_t = [(w - t0) / 1e9 for w in cmd_walls]
    series.modes = [((w - t0) / 1e9, m) for w, m in series.modes]
    series.nav = [((w - t0) / 1e9, vx, wz) for w, vx, wz in series.nav]
    series.policy_vx = [((w - t0) / 1e9, vx) for w, vx in series.policy_vx]
    series.errors = [((w - t0) / 1e9, text) for w, text in series.errors]
    series.raw_times = []


# -- analysis -----------------------------------------------------------------------------


def _stats(values: Sequence[float] | np.ndarray) -> dict[str, float | None]:
    array = np.asarray(values, dtype=float)
    if array.size == 0:
        return {'count': 0, 'p50': None, 'p99': None, 'max': None, 'mean': None}
    return {
        'count': int(array.size),
        'p50': float(np.percentile(array, 50)),
        'p99': float(np.percentile(array, 99)),
        'max': float(array.max()),
        'mean': float(array.mean()),
    }


def latencies_ms(series: RecordingSeries) -> list[float]:
    """Return, per answered observation, its first command's send minus its receive time."""
    received = dict(zip(series.obs_stamp_ns, series.obs_mono_ns))
    seen = set()
    out = []
    for stamp, sent in zip(series.cmd_obs_stamp_ns, series.cmd_mono_ns):
        arrival = received.get(stamp)
        if arrival is None or stamp in seen:
            continue
        seen.add(stamp)
        out.append((sent - arrival) / 1e6)
    return out


def mode_spans(series: RecordingSeries) -> list[dict[str, Any]]:
    """Return ``[{mode, start_s, end_s}]`` from the mode messages (last one to the end)."""
    end = series.obs_t[-1] if series.obs_t else 0.0
    spans: list[dict[str, Any]] = []
    modes = sorted(series.modes)
    for index, (start, mode) in enumerate(modes):
        stop = modes[index + 1][0] if index + 1 < len(modes) else max(end, start)
        if spans and spans[-1]['mode'] == mode:
            spans[-1]['end_s'] = stop
            continue
        spans.append({'mode': mode, 'start_s': start, 'end_s': stop})
    return spans


def observation_gaps(series: RecordingSeries, threshold_s: float) -> list[dict[str, float]]:
    """Return the intervals between observations (receive times) above the threshold."""
    mono = np.asarray(series.obs_mono_ns, dtype=np.int64)
    gaps = []
    for index in np.nonzero(np.diff(mono) > threshold_s * 1e9)[0]:
        gaps.append(
            {
                'start_s': series.obs_t[index],
                'end_s': series.obs_t[index + 1],
                'duration_ms': float(mono[index + 1] - mono[index]) / 1e6,
            }
        )
    return gaps


def _nav_at(
    series: RecordingSeries, times: np.ndarray, yaw: bool = False
) -> tuple[np.ndarray, str]:
    """Return the commanded vx (or yaw rate) held at each time and its source."""
    if series.nav:
        source = [(t, wz if yaw else vx) for t, vx, wz in series.nav]
        label = f'cmd_vel ({series.nav_source})'
    elif series.policy_vx and not yaw:
        source = series.policy_vx
        label = 'policy observation vx'
    else:
        return np.full(times.shape, np.nan), ''
    source_t = np.array([t for t, _ in source])
    source_v = np.array([v for _, v in source])
    index = np.searchsorted(source_t, times, side='right') - 1
    held = np.where(index >= 0, source_v[np.clip(index, 0, None)], np.nan)
    return held, label


def joint_layout(
    series: RecordingSeries, joint_names: Sequence[str] | None, driven: Sequence[int] | None
) -> list[tuple[str, list[tuple[int, str]]]]:
    """
    Return the legs to plot: ``[(leg, [(wire index, joint name), ...]), ...]``.

    Legs are the name prefix before the first ``_`` (``FR_hip_joint`` -> ``FR``);
    spare joints and joints that are always zero (commanded and measured)
    are left out unless ``driven`` names them.
    """
    names = list(
        joint_names
        or series.joint_state_names
        or [f'joint_{int(i):02}' for i in range(JOINT_COUNT)]
    )
    measured = np.asarray(series.obs_joints)
    commanded = np.asarray(series.cmd_joints) if series.cmd_joints else np.zeros((0, JOINT_COUNT))
    legs: dict[str, list[tuple[int, str]]] = {}
    for index, name in enumerate(names):
        if driven is not None:
            if index not in driven:
                continue
        elif name.startswith('spare') or (
            not np.any(measured[:, index]) and not np.any(commanded[:, index])
        ):
            continue
        leg = name.split('_', 1)[0] if '_' in name else 'joints'
        legs.setdefault(leg, []).append((index, name))
    return list(legs.items())


def summarize(
    series: RecordingSeries,
    layout: Sequence[tuple[str, list[tuple[int, str]]]],
    gap_threshold_s: float,
) -> dict[str, Any]:
    """Return the JSON summary of the series."""
    obs_t = np.asarray(series.obs_t)
    periods = np.diff(np.asarray(series.obs_mono_ns, dtype=np.int64)) / 1e6
    latency = latencies_ms(series)
    spans = mode_spans(series)
    mode_seconds: dict[str, float] = {}
    for span in spans:
        mode_seconds[span['mode']] = mode_seconds.get(span['mode'], 0.0) + (
            span['end_s'] - span['start_s']
        )
    velocity = np.asarray(series.base_velocity, dtype=float)
    nav, nav_label = _nav_at(series, obs_t)
    tracking = velocity[:, 0] - nav
    joints = {}
    if series.cmd_joints:
        commands = dict(zip(series.cmd_obs_stamp_ns, series.cmd_joints))
        for _, leg_joints in layout:
            for index, name in leg_joints:
                # Error of the measurement against the latest command before it.
                errors = _tracking_errors(series, index, commands)
                joints[name] = {
                    'rmse_rad': float(np.sqrt(np.mean(errors**2))) if errors.size else None,
                    'max_abs_error_rad': float(np.max(np.abs(errors))) if errors.size else None,
                }
    duration = float(obs_t[-1] - obs_t[0]) if obs_t.size > 1 else 0.0
    return {
        'duration_s': duration,
        'observations': {
            'count': len(series.obs_t),
            'malformed': series.malformed_observations,
            'rate_hz': (len(series.obs_t) - 1) / duration if duration > 0 else None,
            'period_ms': _stats(periods),
            'gaps': observation_gaps(series, gap_threshold_s),
            'gap_threshold_ms': gap_threshold_s * 1e3,
        },
        'commands': {
            'count': len(series.cmd_t),
            'malformed': series.malformed_commands,
            'answered_observations': len(latency),
            'unanswered_observations': len(series.obs_t) - len(latency),
        },
        'latency_ms': _stats(latency),
        'modes': {
            'seconds': mode_seconds,
            'spans': spans,
            'holds': [s for s in spans if s['mode'].startswith('hold')],
        },
        'errors': [{'t_s': t, 'text': text} for t, text in series.errors],
        'base_velocity': {
            'available': bool(np.isfinite(velocity).any()),
            'mean_vx': _nanmean(velocity[:, 0]),
            'command_source': nav_label or None,
            'mean_commanded_vx': _nanmean(nav),
            'tracking_rmse_vx': (
                float(np.sqrt(np.nanmean(tracking**2))) if np.isfinite(tracking).any() else None
            ),
        },
        'joints': joints,
        'topics': dict(series.topics),
    }


def _nanmean(values: np.ndarray) -> float | None:
    return float(np.nanmean(values)) if np.isfinite(values).any() else None


def _tracking_errors(
    series: RecordingSeries, index: int, commands: dict[int, np.ndarray]
) -> np.ndarray:
    """Return measured minus the command that answered the previous observation."""
    errors = []
    previous: np.ndarray | None = None
    for stamp, measured in zip(series.obs_stamp_ns, series.obs_joints):
        if previous is not None:
            errors.append(measured[index] - previous[index])
        command = commands.get(stamp)
        if command is not None:
            previous = command
    return np.asarray(errors, dtype=float)


# -- plots --------------------------------------------------------------------------------

SHADING_NOTE = (
    'shaded: orange hold_stale, blue hold_user, red hold_fault; '
    'grey: observation gaps; red lines: diagnostics errors'
)


def _shade(ax: Any, summary: dict[str, Any]) -> None:
    for span in summary['modes']['holds']:
        ax.axvspan(
            span['start_s'],
            span['end_s'],
            color=HOLD_COLOURS.get(span['mode'], 'red'),
            alpha=0.15,
            lw=0,
        )
    for gap in summary['observations']['gaps']:
        ax.axvspan(gap['start_s'], gap['end_s'], color='grey', alpha=0.3, lw=0)
    for error in summary['errors']:
        ax.axvline(error['t_s'], color='red', lw=0.8, alpha=0.6)


def plot_joints(
    series: RecordingSeries,
    layout: Sequence[tuple[str, list[tuple[int, str]]]],
    summary: dict[str, Any],
    path: Path,
) -> None:
    """Write the per-leg commanded vs measured joint positions."""
    import matplotlib.pyplot as plt

    rows = max(1, len(layout))
    cols = max([len(j) for _, j in layout] + [1])
    fig, axes = plt.subplots(
        rows, cols, figsize=(4.2 * cols, 2.4 * rows + 0.8), sharex=True, squeeze=False
    )
    measured = np.asarray(series.obs_joints)
    commanded = np.asarray(series.cmd_joints) if series.cmd_joints else None
    for row, (leg, joints) in enumerate(layout):
        for col in range(cols):
            ax = axes[row][col]
            if col >= len(joints):
                ax.axis('off')
                continue
            index, name = joints[col]
            _shade(ax, summary)
            ax.plot(series.obs_t, measured[:, index], color='tab:blue', lw=1.0, label='measured')
            if commanded is not None:
                ax.plot(
                    series.cmd_t,
                    commanded[:, index],
                    color='tab:red',
                    lw=1.0,
                    ls='--',
                    label='commanded',
                )
            ax.set_title(name, fontsize=9)
            ax.grid(True, alpha=0.3)
            if col == 0:
                ax.set_ylabel(f'{leg} [rad]')
            if row == rows - 1:
                ax.set_xlabel('time [s]')
    axes[0][0].legend(loc='best', fontsize=8)
    fig.suptitle('Joint positions: commanded (dashed) vs measured (solid)')
    fig.text(0.5, 0.005, SHADING_NOTE, ha='center', fontsize=8, color='dimgray')
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_velocity(series: RecordingSeries, summary: dict[str, Any], path: Path) -> None:
    """Write base velocity and yaw rate against the navigation command."""
    import matplotlib.pyplot as plt

    fig, (ax_v, ax_w) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    t = np.asarray(series.obs_t)
    velocity = np.asarray(series.base_velocity, dtype=float)
    nav, label = _nav_at(series, t)
    for ax in (ax_v, ax_w):
        _shade(ax, summary)
        ax.grid(True, alpha=0.3)
    ax_v.plot(t, velocity[:, 0], color='tab:blue', lw=1.0, label='measured vx')
    ax_v.plot(t, velocity[:, 1], color='tab:green', lw=0.8, alpha=0.7, label='measured vy')
    if label:
        ax_v.step(
            t, nav, where='post', color='tab:red', ls='--', lw=1.2, label=f'commanded vx ({label})'
        )
    if not np.isfinite(velocity).any():
        ax_v.text(
            0.5,
            0.5,
            'no base_linear_velocity in the observations',
            transform=ax_v.transAxes,
            ha='center',
        )
    ax_v.set_ylabel('base velocity [m/s]')
    ax_v.legend(loc='best', fontsize=8)
    ax_w.plot(t, series.yaw_rate, color='tab:blue', lw=1.0, label='measured yaw rate')
    yaw_command, yaw_label = _nav_at(series, t, yaw=True)
    if yaw_label:
        ax_w.step(
            t,
            yaw_command,
            where='post',
            color='tab:red',
            ls='--',
            lw=1.2,
            label='commanded yaw rate',
        )
    ax_w.set_ylabel('yaw rate [rad/s]')
    ax_w.set_xlabel('time [s]')
    ax_w.legend(loc='best', fontsize=8)
    fig.suptitle('Base velocity vs navigation command')
    fig.text(0.5, 0.005, SHADING_NOTE, ha='center', fontsize=8, color='dimgray')
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_timing(series: RecordingSeries, summary: dict[str, Any], path: Path) -> None:
    """Write the loop period and latency histograms."""
    import matplotlib.pyplot as plt

    fig, (ax_p, ax_l) = plt.subplots(1, 2, figsize=(11, 4))
    periods = np.diff(np.asarray(series.obs_mono_ns, dtype=np.int64)) / 1e6
    latency = latencies_ms(series)
    for ax, values, title, stats in (
        (ax_p, periods, 'observation period', summary['observations']['period_ms']),
        (ax_l, latency, 'observation -> command latency', summary['latency_ms']),
    ):
        if len(values):
            ax.hist(values, bins=60, color='tab:blue', alpha=0.8)
            ax.axvline(stats['p50'], color='black', lw=1, label=f'p50 {stats["p50"]:.2f} ms')
            ax.axvline(
                stats['p99'], color='tab:red', lw=1, ls='--', label=f'p99 {stats["p99"]:.2f} ms'
            )
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, 'no samples', transform=ax.transAxes, ha='center')
        ax.set_title(f'{title} (n={len(values)})')
        ax.set_xlabel('ms')
        ax.set_ylabel('count')
        ax.set_yscale('log' if len(values) > 100 else 'linear')
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_timeline(series: RecordingSeries, summary: dict[str, Any], path: Path) -> None:
    """Write the mode timeline with holds, gaps and errors."""
    import matplotlib.pyplot as plt

    spans = summary['modes']['spans']
    modes = sorted({s['mode'] for s in spans}) or ['(no mode messages)']
    fig, (ax_m, ax_p) = plt.subplots(
        2, 1, figsize=(10, 4.5), sharex=True, gridspec_kw={'height_ratios': [2, 1]}
    )
    for span in spans:
        row = modes.index(span['mode'])
        colour = HOLD_COLOURS.get(
            span['mode'], 'tab:green' if span['mode'] == 'running' else 'tab:gray'
        )
        ax_m.barh(
            row,
            max(span['end_s'] - span['start_s'], 1e-3),
            left=span['start_s'],
            color=colour,
            height=0.6,
        )
    ax_m.set_yticks(range(len(modes)), modes)
    ax_m.set_title('mode (from */mode), holds shaded, observation gaps grey, errors red')
    _shade(ax_m, summary)
    t = np.asarray(series.obs_t)
    if t.size > 1:
        ax_p.plot(
            t[1:],
            np.diff(np.asarray(series.obs_mono_ns, dtype=np.int64)) / 1e6,
            color='tab:blue',
            lw=0.8,
        )
    _shade(ax_p, summary)
    ax_p.set_ylabel('obs period [ms]')
    ax_p.set_xlabel('time [s]')
    for ax in (ax_m, ax_p):
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def make_report(
    recording: str,
    out_dir: Path,
    joint_map: str | None = None,
    gap_threshold_s: float = 0.1,
    progress: Any | None = None,
) -> dict[str, Any]:
    """
    Write the plots and ``summary.json`` of a recording into ``out_dir``.

    :param recording: the first file of the recording.
    :param out_dir: output folder (created).
    :param joint_map: joint map name or path giving hardware joint names
        (default: names of a recorded JointState, else ``joint_00`` ...).
    :param gap_threshold_s: observation intervals longer than this are gaps.
    :param progress: callable taking the fraction read.
    :return: the summary.
    :raises ReportError: if the recording holds no valid observation.
    """
    import matplotlib

    matplotlib.use('Agg')
    reader = RecordingReader(recording)
    series = extract(reader, progress)
    names, driven = None, None
    if joint_map is not None:
        from krabby_parkour_ros.mapping.joint_map import load_joint_map

        loaded = load_joint_map(joint_map)
        names = list(loaded.hardware_joint_names)
        driven = sorted(int(i) for i in loaded.hardware_index)
    layout = joint_layout(series, names, driven)
    summary = summarize(series, layout, gap_threshold_s)
    summary['recording'] = {
        'parts': [str(p) for p in reader.parts],
        'truncated': reader.truncated,
        'problems': reader.problems,
        'start_wall_time_ns': series.t0_ns,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    plot_joints(series, layout, summary, out_dir / PLOT_NAMES[0])
    plot_velocity(series, summary, out_dir / PLOT_NAMES[1])
    plot_timing(series, summary, out_dir / PLOT_NAMES[2])
    plot_timeline(series, summary, out_dir / PLOT_NAMES[3])
    summary['plots'] = [str(out_dir / name) for name in PLOT_NAMES]
    (out_dir / 'summary.json').write_text(json.dumps(summary, indent=2), encoding='utf-8')
    return summary


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(
        prog='parkour_report',
        description='Plots and a JSON summary of a krabby_parkour recording.',
    )
    parser.add_argument('recording', help='first file of the recording (run.mcap)')
    parser.add_argument(
        '--out', default=None, help='output folder (default: <recording stem>_report beside it)'
    )
    parser.add_argument(
        '--joint-map',
        default=None,
        help=(
            'joint map name or YAML for hardware joint names '
            '(default: names of a recorded JointState)'
        ),
    )
    parser.add_argument(
        '--gap-threshold',
        type=float,
        default=0.1,
        help=(
            'observation intervals longer than this many seconds are '
            'marked as gaps (default 0.1, the stale timeout)'
        ),
    )
    parser.add_argument('--quiet', action='store_true', help='no progress on stderr')
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Write a report; return the exit code (0 ok, 1 unusable recording, 2 bad arguments)."""
    args = build_parser().parse_args(argv)
    if not args.gap_threshold > 0:
        print(
            f'parkour_report: --gap-threshold: expected > 0, got {args.gap_threshold!r}',
            file=sys.stderr,
        )
        return 2
    path = Path(args.recording)
    out = Path(args.out) if args.out else path.with_name(path.stem + '_report')
    try:
        summary = make_report(
            str(path),
            out,
            args.joint_map,
            args.gap_threshold,
            None if args.quiet else _progress_printer(sys.stderr),
        )
    except FileNotFoundError as exc:
        print(f'parkour_report: {exc}', file=sys.stderr)
        return 1
    except ReportError as exc:
        print(f'parkour_report: {exc}', file=sys.stderr)
        return 1
    except ValueError as exc:  # a bad joint map (JointMapError)
        print(f'parkour_report: {exc}', file=sys.stderr)
        return 2
    latency = summary['latency_ms']
    print(
        f'parkour_report: {int(summary["observations"]["count"])} observations over'
        f' {summary["duration_s"]:.1f} s, latency p50 {_fmt(latency["p50"])} ms p99'
        f' {_fmt(latency["p99"])} ms, {len(summary["modes"]["holds"])} hold span(s),'
        f' {len(summary["observations"]["gaps"])} gap(s); plots in {out}'
    )
    return 0


def _fmt(value: float | None) -> str:
    return '-' if value is None else f'{value:.2f}'


if __name__ == '__main__':
    sys.exit(main())

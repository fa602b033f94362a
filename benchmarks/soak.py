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
Soak test: the real node process against the simulated HAL, for minutes or hours.

Starts the MuJoCo simulated Go2 (``SimHal``, real time, 100 Hz, tcp
loopback) in this process and the parkour node as its own process, exactly
as ``krabby-parkour-demo`` does (``python -m krabby_parkour_ros.node.main
--autostart --params-file config/parkour.yaml --ros-args -p
hal.observation_endpoint:=...``). A small ROS node here publishes
``cmd_vel`` and reads ``/diagnostics``. Every ``--sample-period`` seconds it
records, for the node process: resident memory (``VmRSS``) and its peak,
threads and open file descriptors (``/proc/<pid>/status`` and
``/proc/<pid>/fd``), CPU use; at the HAL: observations published, commands
received (commands per observation), observation -> command latency of
the window; from the node's diagnostics: ticks, late ticks, mode.

The summary has the memory and descriptor slopes (least-squares fit after
the warm-up, MB/h and fds/h), commands per observation, late ticks and the
latency percentiles over the whole run (a 10 us histogram, so an hour costs
no memory). Partial results are flushed to the JSON every
``--flush-period`` seconds and on Ctrl-C.

Usage: ``python benchmarks/soak.py [--minutes 10] [--vx 0.0]
[--compare-baseline]``; writes ``benchmarks/results/soak.json`` and prints a
summary with p50/p99/max.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from common import (
    add_baseline_arguments,
    figures,
    handle_baseline,
    machine,
    percentiles,
    REPO,
    RESULTS,
    source,
    summary,
)
import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor

from krabby_parkour_ros.node.demo import NodeMonitor
from krabby_parkour_ros.sim.hal_server import SimHal, SimHalConfig

#: Latency histogram: 10 us bins up to 100 ms (beyond: the last bin).
_BIN_US = 10.0
_BINS = 10_000


def process_sample(pid: int) -> dict[str, float]:
    """Return memory, threads, descriptors and CPU seconds of a process from /proc."""
    status: dict[str, str] = {}
    with open(f'/proc/{pid}/status') as handle:
        for line in handle:
            key, _, value = line.partition(':')
            status[key] = value.strip()
    with open(f'/proc/{pid}/stat') as handle:
        fields = handle.read().rsplit(')', 1)[1].split()
    ticks = os.sysconf('SC_CLK_TCK')
    return {
        'rss_mb': int(status['VmRSS'].split()[0]) / 1024.0,
        'peak_rss_mb': int(status['VmHWM'].split()[0]) / 1024.0,
        'threads': int(status['Threads']),
        'fds': len(os.listdir(f'/proc/{pid}/fd')),
        'cpu_s': (int(fields[11]) + int(fields[12])) / ticks,
    }


def slope_per_hour(times_s: list[float], values: list[float]) -> float | None:
    """Return the least-squares slope of values over time, per hour (None if < 3 points)."""
    if len(times_s) < 3 or max(times_s) - min(times_s) <= 0:
        return None
    return float(np.polyfit(np.asarray(times_s) / 3600.0, np.asarray(values), 1)[0])


def histogram_percentiles(histogram: np.ndarray) -> dict[str, float | None]:
    """
    Return count and p50/p99/p99.9 (ms, bin upper edges) of the latency histogram.

    The whole run's latency lives in a histogram (an hour of samples would
    not), so its percentiles come from the bins; a window's samples are
    summarized by :func:`common.percentiles`.
    """
    total = int(histogram.sum())
    if total == 0:
        return {'count': 0, 'p50': None, 'p99': None, 'p999': None}
    cumulative = np.cumsum(histogram)
    out: dict[str, float | None] = {'count': total}
    for name, q in (('p50', 0.5), ('p99', 0.99), ('p999', 0.999)):
        index = int(np.searchsorted(cumulative, q * total))
        out[name] = (index + 1) * _BIN_US / 1e3
    return out


class Soak:
    """The running soak: simulator, node process, ROS monitor and the samples."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.sim = SimHal(
            SimHalConfig(
                observation_endpoint='tcp://127.0.0.1:*',
                command_endpoint='tcp://127.0.0.1:*',
                rate_hz=args.rate,
                pacing='realtime',
            )
        )
        self.samples: list[dict[str, Any]] = []
        self.histogram = np.zeros(_BINS, dtype=np.int64)
        self.latency_max_ms = 0.0
        self._latency_seen = 0
        self.process: subprocess.Popen | None = None
        self.started = time.monotonic()
        self.result: dict[str, Any] = {
            'benchmark': 'soak',
            'arguments': vars(args),
            'machine': machine(),
            'source': source(),
        }

    def node_command(self) -> list[str]:
        """Return the command line of the node process."""
        entry = (
            ['-m', 'krabby_parkour_ros.node.main']
            if not self.args.node_script
            else [self.args.node_script]
        )
        return (
            [sys.executable]
            + entry
            + [
                '--autostart',
                '--params-file',
                str(REPO / 'config' / 'parkour.yaml'),
                '--ros-args',
                '-p',
                f'hal.observation_endpoint:={self.sim.observation_endpoint}',
                '-p',
                f'hal.command_endpoint:={self.sim.command_endpoint}',
                '-p',
                f'diagnostics_period:={self.args.diagnostics_period}',
            ]
            + [arg for param in self.args.node_param for arg in ('-p', param)]
        )

    def _window_latency(self) -> dict[str, float | None]:
        """Add the latency samples since the last call to the histogram; return their summary."""
        stats = self.sim.stats
        total = stats.commands_received
        latencies = list(stats.latency_ms)
        new = min(len(latencies), max(0, total - self._latency_seen))
        self._latency_seen = total
        window = np.asarray(latencies[len(latencies) - new :] if new else [], dtype=np.float64)
        if window.size == 0:
            return {'count': 0, 'p50': None, 'p99': None, 'max': None}
        bins = np.minimum((window * 1e3 / _BIN_US).astype(np.int64), _BINS - 1)
        np.add.at(self.histogram, bins, 1)
        self.latency_max_ms = max(self.latency_max_ms, float(window.max()))
        stats = percentiles(window)
        return {key: stats[key] for key in ('count', 'p50', 'p99', 'max')}

    def sample(self, monitor: NodeMonitor) -> dict[str, Any]:
        """Record one sample of the node process, the HAL and the diagnostics."""
        # Plain counters of the running simulator (its statistics() deep-copies
        # the latency deque, which races with the loop appending to it).
        stats = self.sim.stats
        sample: dict[str, Any] = {'t_s': round(time.monotonic() - self.started, 2)}
        sample.update(process_sample(self.process.pid))
        sample.update(
            {
                'observations': stats.observations_published,
                'commands': stats.commands_received,
                'lockstep_or_overruns': stats.realtime_overruns,
                'latency_ms': self._window_latency(),
            }
        )
        diag = monitor.diagnostics
        for key in (
            'mode',
            'ticks',
            'late_ticks',
            'deadline_ticks',
            'loop_rate_hz',
            'commands_sent',
            'failures',
            'stale_events',
            'hal_commands_dropped',
            'latency_p99_ms',
            'inference_p99_ms',
            'tick_period_max_ms',
        ):
            if key in diag:
                sample[key] = diag[key]
        if self.samples:
            previous = self.samples[-1]
            dt = sample['t_s'] - previous['t_s']
            sample['cpu_pct'] = 100.0 * (sample['cpu_s'] - previous['cpu_s']) / dt
            d_obs = sample['observations'] - previous['observations']
            sample['commands_per_observation'] = (
                (sample['commands'] - previous['commands']) / d_obs if d_obs else None
            )
        self.samples.append(sample)
        return sample

    def summary(self) -> dict[str, Any]:
        """Return the figures of the run so far."""
        warm = [s for s in self.samples if s['t_s'] >= self.args.warmup]
        times = [s['t_s'] for s in warm]
        first, last = (self.samples[0], self.samples[-1]) if self.samples else ({}, {})
        observations = last.get('observations', 0) - first.get('observations', 0)
        commands = last.get('commands', 0) - first.get('commands', 0)
        latency = histogram_percentiles(self.histogram)
        latency['max'] = self.latency_max_ms
        return {
            'duration_s': last.get('t_s', 0.0),
            'samples': len(self.samples),
            'rss_mb_first': first.get('rss_mb'),
            'rss_mb_last': last.get('rss_mb'),
            'peak_rss_mb': last.get('peak_rss_mb'),
            'rss_slope_mb_per_h': slope_per_hour(times, [s['rss_mb'] for s in warm]),
            'fds_first': first.get('fds'),
            'fds_last': last.get('fds'),
            'fds_max': max((s['fds'] for s in self.samples), default=None),
            'fd_slope_per_h': slope_per_hour(times, [s['fds'] for s in warm]),
            'threads_last': last.get('threads'),
            'cpu_pct_mean': float(np.mean([s['cpu_pct'] for s in self.samples[1:]]))
            if len(self.samples) > 1
            else None,
            'observations': observations,
            'commands': commands,
            'commands_per_observation': commands / observations if observations else None,
            'late_ticks': last.get('late_ticks'),
            'ticks': last.get('ticks'),
            'deadline_ticks': last.get('deadline_ticks'),
            'failures': last.get('failures'),
            'mode_last': last.get('mode'),
            'latency_ms': latency,
            'sim_realtime_overruns': last.get('lockstep_or_overruns'),
        }

    def flush(self, final: bool = False) -> None:
        """Write the samples and the summary (partial until ``final``)."""
        self.result.update(complete=final, summary=self.summary(), samples=self.samples)
        out = Path(self.args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix('.json.tmp')
        tmp.write_text(json.dumps(self.result, indent=1))
        tmp.replace(out)

    def stop_node(self) -> int | None:
        """Stop the node with SIGINT (as Ctrl-C); return its exit code."""
        process = self.process
        if process is None or process.poll() is not None:
            return None if process is None else process.returncode
        os.killpg(process.pid, signal.SIGINT)
        try:
            return process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return None


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the soak; return the result (also written to the JSON)."""
    soak = Soak(args)
    soak.sim.bind()
    soak.sim.start()
    context = rclpy.context.Context()
    rclpy.init(context=context)
    monitor = NodeMonitor(context, 'parkour_soak', args.vx)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(monitor.node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    soak.process = subprocess.Popen(
        soak.node_command(),
        cwd=str(REPO),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=None if args.verbose else subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + args.startup_timeout
        while monitor.diagnostics.get('mode') not in ('running', 'stand'):
            if time.monotonic() > deadline or soak.process.poll() is not None:
                raise RuntimeError(
                    f'the node did not reach running (exit code '
                    f'{soak.process.poll()}, diagnostics {monitor.diagnostics})'
                )
            time.sleep(0.2)
        soak.sim.reset_statistics()
        soak.started = time.monotonic()
        end = soak.started + args.minutes * 60.0
        next_flush = soak.started + args.flush_period
        while time.monotonic() < end:
            time.sleep(min(args.sample_period, max(0.0, end - time.monotonic())))
            if soak.process.poll() is not None:
                soak.result['problem'] = f'the node exited with code {soak.process.returncode}'
                break
            sample = soak.sample(monitor)
            print(
                f't={sample["t_s"]:7.1f} s  rss {sample["rss_mb"]:7.1f} MB  fds '
                f'{sample["fds"]:3d}  cpu {sample.get("cpu_pct", 0.0):5.1f} %  cmd/obs '
                f'{sample.get("commands_per_observation") or 0:.3f}  late '
                f'{sample.get("late_ticks", "?")}  latency p99 '
                f'{sample["latency_ms"]["p99"] or 0:.2f} ms  mode {sample.get("mode")}',
                flush=True,
            )
            if time.monotonic() >= next_flush:
                soak.flush()
                next_flush += args.flush_period
    except KeyboardInterrupt:
        soak.result['problem'] = 'interrupted'
    finally:
        exit_code = soak.stop_node()
        soak.sim.stop()
        executor.shutdown()
        monitor.node.destroy_node()
        rclpy.try_shutdown(context=context)
        soak.sim.close()
        soak.result['node_exit_code'] = exit_code
        soak.flush(final=True)
    return soak.result


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run, print the summary; 0 when the node ran to the end."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--minutes', type=float, default=10.0, help='soak duration')
    parser.add_argument('--rate', type=float, default=100.0, help='HAL rate (Hz)')
    parser.add_argument('--vx', type=float, default=0.0, help='cmd_vel forward speed (m/s)')
    parser.add_argument('--sample-period', type=float, default=5.0, help='seconds per sample')
    parser.add_argument(
        '--flush-period',
        type=float,
        default=30.0,
        help='seconds between partial writes of the JSON',
    )
    parser.add_argument(
        '--warmup',
        type=float,
        default=60.0,
        help='seconds excluded from the memory and descriptor slopes',
    )
    parser.add_argument('--diagnostics-period', type=float, default=1.0)
    parser.add_argument('--startup-timeout', type=float, default=90.0)
    parser.add_argument('--out', default=str(RESULTS / 'soak.json'))
    parser.add_argument('--verbose', action='store_true', help="show the node's log")
    parser.add_argument(
        '--node-param',
        action='append',
        default=[],
        metavar='NAME:=VALUE',
        help='extra node parameter, e.g. realtime_priority:=50 (repeatable)',
    )
    parser.add_argument(
        '--node-script',
        default='',
        help='run this script instead of the node module (experiments)',
    )
    add_baseline_arguments(parser, 'soak')
    args = parser.parse_args(argv)
    result = run(args)
    totals = result['summary']
    latency = totals['latency_ms']

    def fmt(value: Any, pattern: str = '{:.2f}') -> str:
        return 'n/a' if value is None else pattern.format(value)

    print(
        f'soak {totals["duration_s"]:.0f} s: rss {fmt(totals["rss_mb_first"], "{:.1f}")} -> '
        f'{fmt(totals["rss_mb_last"], "{:.1f}")} MB (slope '
        f'{fmt(totals["rss_slope_mb_per_h"])} MB/h), fds {totals["fds_first"]} -> '
        f'{totals["fds_last"]} (slope {fmt(totals["fd_slope_per_h"])}/h), commands per '
        f'observation {fmt(totals["commands_per_observation"], "{:.4f}")}, late ticks '
        f'{totals["late_ticks"]} of {totals["ticks"]}, latency p50 '
        f'{fmt(latency["p50"])} ms p99 {fmt(latency["p99"])} ms max {fmt(latency["max"])} ms,'
        f' node exit code {result.get("node_exit_code")}'
    )
    if latency['count']:
        print(summary('latency, observation -> command', latency, unit='ms', digits=2))
    print(f'wrote {args.out}')
    values = figures('latency_ms', latency)
    for key in ('rss_mb_last', 'cpu_pct_mean', 'commands_per_observation', 'late_ticks'):
        if totals.get(key) is not None:
            values[key] = totals[key]
    handle_baseline(args, 'soak', values)
    return 0 if result.get('node_exit_code') == 0 and 'problem' not in result else 1


if __name__ == '__main__':
    sys.exit(main())

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
Benchmark the real node at 100 Hz: tick period jitter and observation->command latency.

Runs the README's main job (MuJoCo simulated HAL over tcp loopback + the
``parkour_node`` process with the shipped teacher) for --seconds simulated
seconds of walking and reports, from the node's own diagnostics and from the
HAL side: tick period p50/p99/max, late ticks (> 2 ms after due), latency
observation->command p50/p99/max. JSON to benchmarks/results/node.json.

Usage: python benchmarks/bench_node.py [--seconds 60] [--compare-baseline]
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
import os
from pathlib import Path
import sys
from typing import Any

from common import (
    add_baseline_arguments,
    figures,
    handle_baseline,
    machine,
    REPO,
    RESULTS,
    source,
    summary,
    write_json,
)

from krabby_parkour_ros.node.demo import DemoOptions, run_demo

#: The node's diagnostics kept in the JSON.
DIAGNOSTICS = (
    'loop_rate_hz',
    'tick_period_p50_ms',
    'tick_period_p99_ms',
    'tick_period_max_ms',
    'late_ticks',
    'deadline_ticks',
    'latency_p50_ms',
    'latency_p99_ms',
    'latency_max_ms',
    'inference_p50_ms',
    'inference_p99_ms',
    'ticks',
    'commands_sent',
    'stale_events',
)


def _number(value: Any) -> float | None:
    """Return a diagnostics value as a number (None when it is not one)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def node_summary(diagnostics: dict[str, Any], name: str) -> dict[str, float | None]:
    """Return the node's own ``<name>_p50/p99/max_ms`` as a summary dict (count: ticks)."""
    out: dict[str, float | None] = {
        key: _number(diagnostics.get(f'{name}_{key}_ms')) for key in ('p50', 'p99', 'max')
    }
    ticks = _number(diagnostics.get('ticks'))
    out['count'] = int(ticks) if ticks is not None else 0
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the demo, write the JSON and print the summary; 1 when the robot did not walk."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--seconds', type=float, default=60.0, help='simulated seconds')
    parser.add_argument('--out', type=Path, default=RESULTS / 'node.json')
    add_baseline_arguments(parser, 'node')
    args = parser.parse_args(argv)
    os.environ.setdefault('ROS_DOMAIN_ID', str(90 + os.getpid() % 9))
    # This checkout's parameters, as soak.py passes them (not the demo's lookup).
    options = DemoOptions(
        duration=args.seconds,
        vx=0.5,
        quiet=True,
        params_file=str(REPO / 'config' / 'parkour.yaml'),
    )
    demo = run_demo(options)
    diag = demo.node_diagnostics
    result = {
        'benchmark': 'node',
        'machine': machine(),
        'source': source(),
        'transport': 'tcp loopback (HAL in another process)',
        'seconds': demo.sim_time_s,
        'walk_ok': demo.ok,
        'node': {key: diag.get(key) for key in DIAGNOSTICS},
        'tick_period_ms': node_summary(diag, 'tick_period'),
        'node_latency_ms': node_summary(diag, 'latency'),
        'hal_side_latency_ms': demo.latency_ms,
        'summary': asdict(demo),
    }
    write_json(result, args.out)
    print(f'node at 100 Hz for {demo.sim_time_s:.0f} s (walk ok: {demo.ok})')
    nan = float('nan')
    lines = (
        ('tick period', result['tick_period_ms'], f'late ticks {diag.get("late_ticks")}'),
        ('obs->command in the node', result['node_latency_ms'], ''),
        ('obs->command at the HAL', demo.latency_ms or {}, ''),
    )
    for name, stats, extra in lines:
        shown = {k: nan if stats.get(k) is None else stats[k] for k in ('p50', 'p99', 'max')}
        shown['count'] = stats.get('count', 0)
        print(summary(f'  {name}', shown, unit='ms', extra=extra, digits=2))
    print(f'  written to {args.out}')
    values: dict[str, float] = {}
    for key in ('tick_period_ms', 'node_latency_ms', 'hal_side_latency_ms'):
        values.update(figures(key, result[key] or {}))
    late = _number(diag.get('late_ticks'))
    if late is not None:
        values['late_ticks'] = late
    handle_baseline(args, 'node', values)
    return 0 if demo.ok else 1


if __name__ == '__main__':
    sys.exit(main())

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

Usage: python benchmarks/bench_node.py [--seconds 60]
"""

import argparse
from dataclasses import asdict
import json
import os
from pathlib import Path
import platform
import sys

from krabby_parkour_ros.node.demo import DemoOptions, run_demo

RESULTS = Path(__file__).resolve().parent / 'results'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--seconds', type=float, default=60.0)
    parser.add_argument('--out', default=str(RESULTS / 'node.json'))
    args = parser.parse_args()
    os.environ.setdefault('ROS_DOMAIN_ID', str(90 + os.getpid() % 9))
    summary = run_demo(DemoOptions(duration=args.seconds, vx=0.5, quiet=True))
    diag = summary.node_diagnostics
    result = {
        'machine': {'cpus': os.cpu_count(), 'python': platform.python_version()},
        'transport': 'tcp loopback (HAL in another process)',
        'seconds': summary.sim_time_s,
        'walk_ok': summary.ok,
        'node': {
            key: diag.get(key)
            for key in (
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
        },
        'hal_side_latency_ms': summary.latency_ms,
        'summary': asdict(summary),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    node = result['node']
    print(f'node at 100 Hz for {summary.sim_time_s:.0f} s (walk ok: {summary.ok})')
    print(
        f'  tick period p50/p99/max: {node["tick_period_p50_ms"]} / '
        f'{node["tick_period_p99_ms"]} / {node["tick_period_max_ms"]} ms, late ticks '
        f'{node["late_ticks"]} of {node["ticks"]}'
    )
    print(
        f'  obs->command in the node p50/p99/max: {node["latency_p50_ms"]} / '
        f'{node["latency_p99_ms"]} / {node["latency_max_ms"]} ms'
    )
    hal = summary.latency_ms or {}
    print(
        f'  obs published -> command received at the HAL p50/p99/max: {hal.get("p50")} / '
        f'{hal.get("p99")} / {hal.get("max")} ms'
    )
    print(f'  written to {args.out}')
    return 0 if summary.ok else 1


if __name__ == '__main__':
    sys.exit(main())

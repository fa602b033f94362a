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
Recording on vs off: observation -> command latency at 100 Hz, interleaved rounds.

Runs ``bench_latency.run_case`` (the real controller with the shipped
teacher against a scripted HAL over inproc, 58x87 images, latency measured
at the HAL) without and with recording, alternating ``--rounds`` times for
``--seconds`` each, so that a machine whose load drifts (a shared 2-core
VM) loads both sides alike. Reports p50/p99/max per round, the median of
the per-round p99 ratios (the issue #16 target: <= 1.2), and the
recorder's written / dropped counts. JSON to
``benchmarks/results/recording_overhead.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import statistics
import sys
from typing import Any

from bench_latency import run_case

RESULTS = Path(__file__).resolve().parent / 'results'
_KEYS = ('latency_us', 'late_ticks', 'ticks', 'cpu_fraction', 'recording_counts')


def main() -> int:
    """Run the rounds; print a table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--seconds', type=float, default=20.0, help='seconds per case and round')
    parser.add_argument('--rounds', type=int, default=3, help='off/on pairs')
    parser.add_argument('--out', default=str(RESULTS / 'recording_overhead.json'))
    args = parser.parse_args()
    rounds: list[dict[str, Any]] = []
    for index in range(args.rounds):
        pair: dict[str, Any] = {}
        for name, record in (
            (('off', False), ('on', True))
            if index % 2 == 0
            else (
                ('on', True),
                ('off', False),
            )
        ):
            case = run_case('inproc', args.seconds, record=record)
            pair[name] = {k: case[k] for k in _KEYS}
            lat = case['latency_us']
            print(
                f'round {index} recording {name:3s}: p50 {lat["p50"]:6.0f} us  p99 '
                f'{lat["p99"]:6.0f} us  max {lat["max"]:7.0f} us  late ticks '
                f'{case["late_ticks"]:3d}  {case["recording_counts"] or ""}',
                flush=True,
            )
        pair['p99_ratio'] = pair['on']['latency_us']['p99'] / pair['off']['latency_us']['p99']
        rounds.append(pair)
    ratios: list[float] = [float(r['p99_ratio']) for r in rounds]
    dropped = sum(r['on']['recording_counts'].get('dropped', 0) for r in rounds)
    result = {
        'benchmark': 'recording_overhead',
        'arguments': vars(args),
        'rounds': rounds,
        'p99_ratios': ratios,
        'p99_ratio_median': statistics.median(ratios),
        'dropped': dropped,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(
        f'p99 on/off per round: {", ".join(f"{r:.2f}" for r in ratios)}; median '
        f'{statistics.median(ratios):.2f} (target <= 1.2); dropped {dropped}'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())

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
Wall time of the gate on the same matrix: 1 local worker, 2 local workers, Ray.

Runs ``parkour_gate --preset timing`` (flat, gap, hurdle, box at 3
levels, nominal and obs_noise: 20 episodes of at most 10 s simulated) once
per backend,
checks that every backend gives the same episode outcomes and distances
(deterministic), and writes ``benchmarks/gate/results/backends.json``.
Ray is skipped (and said so) when not installed.

Usage: ``nice python benchmarks/gate/bench_backends.py [--preset timing]``.
Run on an otherwise idle machine: the numbers are wall-clock times.
"""

import argparse
import json
import os
from pathlib import Path
import platform
import tempfile
import time

from krabby_parkour_ros.gate.cli import main as gate_main

RESULTS = Path(__file__).resolve().parent / 'results'


def _run(args, label):
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        code = gate_main(
            args + ['--out', folder, '--no-report', '--quiet', '--recordings', 'none']
        )
        wall = time.perf_counter() - started
        card = json.loads((Path(folder) / 'scorecard.json').read_text())
    episodes = {e['key']: (e['outcome'], e.get('distance_m')) for e in card['episodes']}
    print(
        f'{label:10s} {wall:7.1f} s wall ({card["run"]["wall_time_s"]} s in the run, '
        f'{len(episodes)} episodes, {card["run"]["simulated_s"]} s simulated), exit {code}'
    )
    return {
        'label': label,
        'wall_s': round(wall, 2),
        'run_wall_s': card['run']['wall_time_s'],
        'episodes': len(episodes),
        'simulated_s': card['run']['simulated_s'],
        'success_rate': card['summary']['candidate']['success_rate'],
    }, episodes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[1])
    parser.add_argument('--preset', default='timing')
    args = parser.parse_args()
    base = ['--preset', args.preset]
    rows, outcomes = [], []
    for label, extra in (('local x1', ['--workers', '1']), ('local x2', ['--workers', '2'])):
        row, episodes = _run(base + extra, label)
        rows.append(row)
        outcomes.append(episodes)
    try:
        import ray  # noqa: F401

        row, episodes = _run(base + ['--backend', 'ray', '--workers', '2'], 'ray x2')
        rows.append(row)
        outcomes.append(episodes)
    except ImportError:
        print('ray x2: skipped (ray is not installed)')
    identical = all(o == outcomes[0] for o in outcomes)
    print(f'identical episode outcomes and distances across backends: {identical}')
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / 'backends.json'
    out.write_text(
        json.dumps(
            {
                'preset': args.preset,
                'runs': rows,
                'identical': identical,
                'cpus': os.cpu_count(),
                'platform': platform.platform(),
            },
            indent=1,
        )
    )
    print(f'wrote {out}')
    return 0 if identical else 1


if __name__ == '__main__':
    raise SystemExit(main())

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
Time of one control step (build + infer + map + the mode machine), two trees side by side.

Each tree (``--tree``, default: this checkout; ``--baseline DIR`` another
checkout, e.g. a ``git worktree`` of an older commit) runs in its own
process, alternately, ``--rounds`` times: the shipped teacher, its real
observation builder and action mapper, the control step in ``running``
mode, a new standing-Go2 observation every tick, commands to a sink that
drops them. Reported: per-tick time p50/p99/max of each tree and the ratio
of medians (the issue's bar: the refactored step costs at most 1.1x).
Writes ``benchmarks/results/control_step.json``.

Usage: python benchmarks/bench_control_step.py --baseline /tmp/oldmain [--ticks 4000]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import subprocess
import sys
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / 'benchmarks' / 'results'

#: Runs inside the tree under test (its own interpreter, its own sys.path).
_CHILD = r"""
import json, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
from krabby_parkour_ros.contract import GO2_PARKOUR_TEACHER as C
from krabby_parkour_ros.control.config import ControlConfig
from krabby_parkour_ros.control.step import ControlMode, ControlStep
from krabby_parkour_ros.hal.messages import HalObservation, ObservationExtensions
from krabby_parkour_ros.mapping.action import ActionMapper
from krabby_parkour_ros.mapping.joint_map import load_joint_map
from krabby_parkour_ros.mapping.observation import ObservationBuilder
from krabby_parkour_ros.policy.checkpoint import ModelWeights
from krabby_parkour_ros.policy.model import ParkourPolicyModel
from krabby_parkour_ros.policy.shipped import shipped_checkpoint_path

ticks = int(sys.argv[2])
jm = load_joint_map('go2_sim')
model = ParkourPolicyModel(ModelWeights(str(shipped_checkpoint_path('go2_parkour_teacher'))),
                           device='cpu', num_threads=1)
builder = ObservationBuilder(C, jm)
mapper = ActionMapper(C, jm)
pose = np.array(jm.hold_position, np.float32)
pose[jm.hardware_index] = C.default_joint_positions
ext = ObservationExtensions(
    imu_orientation_xyzw=np.array([0, 0, 0, 1.0]), imu_angular_velocity=np.zeros(3),
    joint_velocities=np.zeros(18), base_linear_velocity=np.zeros(3),
    foot_contacts=np.ones(4), height_scan=np.full(C.scan_grid.size, 0.32))
image = np.zeros((12, 16, 3), np.uint8)
depth = np.ones((12, 16), np.float32)


class Sink:
    def put_joint_command(self, positions, stamp):
        return None


now = [10**9]
step = ControlStep(Sink(), builder, mapper, model,
                   ControlConfig(soft_start_duration=0.0, stale_timeout=0.5),
                   clock=lambda: now[0])
step.activate()
samples = []
for k in range(ticks + 200):
    now[0] += 10_000_000
    obs = HalObservation(timestamp_ns=now[0], joint_positions=pose, rgb_camera_1=image,
                         rgb_camera_2=image, depth_map=depth, confidence_map=depth,
                         extensions=ext, receive_time_ns=now[0])
    start = time.perf_counter_ns()
    step.tick(obs, now[0])
    if k >= 200:
        samples.append(time.perf_counter_ns() - start)
assert step.mode == ControlMode.RUNNING, step.mode
print(json.dumps(samples))
"""


def run_tree(tree: Path, ticks: int) -> list[int]:
    """Return the per-tick nanoseconds of one run in ``tree``."""
    done = subprocess.run(
        [sys.executable, '-c', _CHILD, str(tree), str(ticks)],
        cwd=str(tree),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def stats(values: list[int]) -> dict[str, float]:
    """Return p50/p99/max in microseconds."""
    array = np.asarray(values, dtype=np.float64) / 1e3
    return {
        'p50_us': float(np.percentile(array, 50)),
        'p99_us': float(np.percentile(array, 99)),
        'max_us': float(array.max()),
        'count': int(array.size),
    }


def main() -> int:
    """Run both trees alternately; print the summary; write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--tree', default=str(REPO))
    parser.add_argument('--baseline', required=True)
    parser.add_argument('--ticks', type=int, default=4000)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--out', default=str(RESULTS / 'control_step.json'))
    args = parser.parse_args()
    runs: dict[str, list[int]] = {'baseline': [], 'tree': []}
    for _ in range(args.rounds):
        runs['baseline'] += run_tree(Path(args.baseline), args.ticks)
        runs['tree'] += run_tree(Path(args.tree), args.ticks)
    result: dict[str, Any] = {name: stats(values) for name, values in runs.items()}
    result['ratio_p50'] = result['tree']['p50_us'] / result['baseline']['p50_us']
    result['ratio_p99'] = result['tree']['p99_us'] / result['baseline']['p99_us']
    result.update(
        baseline_path=args.baseline, tree_path=args.tree, ticks=args.ticks, rounds=args.rounds
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    for name in ('baseline', 'tree'):
        s = result[name]
        print(
            f'{name:8s}: p50 {s["p50_us"]:.1f} us  p99 {s["p99_us"]:.1f} us  '
            f'max {s["max_us"]:.1f} us  (n={s["count"]})'
        )
    print(f'ratio of medians {result["ratio_p50"]:.3f}, of p99 {result["ratio_p99"]:.3f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())

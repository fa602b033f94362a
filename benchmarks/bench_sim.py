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
Benchmark of the simulator: physics steps/s and observation cost.

Cases (box scenario, robot standing under PD):

- ``physics``: one physics step (PD + DC-motor torque + ``mj_step``);
- ``height_scan``: the 132 vertical ray casts;
- ``depth_<H>x<W>``: one depth image by ``mj_multiRay`` (default 58x87 and
  the Isaac Sim HAL's 480x640);
- ``cycle_<H>x<W>``: one 100 Hz HAL period without transport: 2 physics
  steps + the full observation (extensions, height scan, depth, grey image)
  + encoding to schema 1.0 frames. ``sim_steps_per_s`` of a cycle case is
  the physics rate that observation building leaves.

Usage: ``python benchmarks/bench_sim.py [--quick] [--compare-baseline]``;
writes ``benchmarks/results/sim.json`` and prints a summary (p50/p99/max).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
import sys
import time
from typing import Any

from common import (
    add_baseline_arguments,
    figures,
    handle_baseline,
    machine,
    percentiles,
    RESULTS,
    source,
    summary,
    write_json,
)
import numpy as np

from krabby_parkour_ros.hal.codec import encode_observation
from krabby_parkour_ros.sim.robot import SimulatedRobot
from krabby_parkour_ros.sim.sensors import CameraConfig


def _time(fn: Callable[[], None], repeats: int, warmup: int = 5) -> np.ndarray:
    for _ in range(warmup):
        fn()
    samples = np.empty(repeats)
    for i in range(repeats):
        start = time.perf_counter_ns()
        fn()
        samples[i] = time.perf_counter_ns() - start
    return samples / 1e3  # microseconds


def _stats(samples_us: np.ndarray, steps_per_call: int) -> dict[str, Any]:
    """Return the summary (microseconds) and the physics steps per second it allows."""
    out: dict[str, Any] = percentiles(samples_us)
    out['sim_steps_per_s'] = steps_per_call * 1e6 / out['mean'] if steps_per_call else None
    return out


def _cycle(robot: SimulatedRobot) -> Callable[[], None]:
    stamp = [time.time_ns()]

    def run() -> None:
        robot.step(2)
        obs = robot.observe()
        stamp[0] += 10_000_000
        encode_observation(
            stamp[0],
            obs.joint_positions,
            obs.rgb,
            obs.rgb,
            obs.depth,
            obs.confidence,
            obs.extensions,
        )

    return run


def run(
    sizes: Sequence[tuple], physics_repeats: int, observation_repeats: int, big_repeats: int
) -> dict[str, dict[str, float]]:
    """Return the timing statistics of every case."""
    results: dict[str, dict[str, float]] = {}
    robot = SimulatedRobot('box', seed=0, camera=None)
    results['physics'] = _stats(_time(lambda: robot.step(1), physics_repeats), 1)
    results['height_scan'] = _stats(_time(robot.height_scan, observation_repeats), 0)
    for height, width in sizes:
        repeats = big_repeats if height * width > 100_000 else observation_repeats
        camera = CameraConfig(height=height, width=width)
        cam_robot = SimulatedRobot('box', seed=0, camera=camera)
        results[f'depth_{height}x{width}'] = _stats(_time(cam_robot.depth_image, repeats), 0)
        results[f'cycle_{height}x{width}'] = _stats(_time(_cycle(cam_robot), repeats), 2)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, write JSON, print a summary."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true', help='a tenth of the repeats')
    parser.add_argument('--output', type=Path, default=RESULTS / 'sim.json')
    add_baseline_arguments(parser, 'sim')
    args = parser.parse_args(argv)
    scale = 0.1 if args.quick else 1.0
    results = run(
        sizes=((58, 87), (480, 640)),
        physics_repeats=int(20000 * scale),
        observation_repeats=int(2000 * scale),
        big_repeats=int(200 * scale),
    )
    report = {
        'benchmark': 'sim',
        'machine': machine(),
        'source': source(),
        'cases_us': results,
    }
    write_json(report, args.output)
    for name, stats in results.items():
        rate = stats['sim_steps_per_s']
        print(summary(name, stats, digits=1, extra='' if rate is None else f'{rate:.0f} steps/s'))
    print(f'written {args.output}')
    figures_now: dict[str, float] = {}
    for name, stats in results.items():
        figures_now.update(figures(f'cases_us.{name}', stats))
    handle_baseline(args, 'sim', figures_now)
    return 0


if __name__ == '__main__':
    sys.exit(main())

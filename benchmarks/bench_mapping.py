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
Benchmark of the observation builder and the action mapper, per policy step.

One step = ``ObservationBuilder.build`` + ``ActionMapper.map`` +
``record_action`` on the Go2 teacher contract and the ``go2_sim`` joint
map, every source present, a rate limit on, over a pool of varied
observations (timing: ``--steps``, default 20 000).

Allocations: a second, shorter run under ``tracemalloc`` measures per step
the transient peak (bytes above the step's starting point: the largest
temporary footprint, Python objects included; a single scan-sized
temporary array would add about 1.2 kB) and the net growth over the run
(leaks), for all allocations and for numpy's data buffers alone (numpy's
tracemalloc domain).

Usage: ``python benchmarks/bench_mapping.py [--steps N] [--alloc-steps N]
[--compare-baseline]``; writes ``benchmarks/results/mapping.json`` and
prints a summary (p50/p99/max).
"""

from __future__ import annotations

import argparse
from pathlib import Path
import sys
import time
import tracemalloc

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

from krabby_parkour_ros.contract import GO2_PARKOUR_TEACHER
from krabby_parkour_ros.hal.messages import HalObservation, ObservationExtensions
from krabby_parkour_ros.mapping.action import ActionMapper, ActionMapperConfig
from krabby_parkour_ros.mapping.joint_map import load_joint_map
from krabby_parkour_ros.mapping.navigation import NavigationCommand
from krabby_parkour_ros.mapping.observation import ObservationBuilder

POOL = 64
NUMPY_DOMAIN = np.lib.tracemalloc_domain


def _readonly(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def make_pool(seed: int = 0) -> list[HalObservation]:
    """Return varied observations with every extension key, 20 ms apart."""
    rng = np.random.default_rng(seed)
    image = _readonly(np.zeros((4, 4, 3), dtype=np.uint8))
    depth = _readonly(np.zeros((4, 4), dtype=np.float32))
    pool = []
    for k in range(POOL):
        quat = rng.normal(size=4) * np.array([0.05, 0.05, 0.5, 1.0])
        quat[3] = abs(quat[3]) + 1.0
        ext = ObservationExtensions(
            imu_orientation_xyzw=_readonly(quat / np.linalg.norm(quat)),
            imu_angular_velocity=_readonly(rng.uniform(-1, 1, 3)),
            joint_velocities=_readonly(rng.uniform(-5, 5, 18)),
            base_linear_velocity=_readonly(rng.uniform(-1, 1, 3)),
            foot_contacts=_readonly((rng.random(4) < 0.5).astype(np.float64)),
            height_scan=_readonly(rng.uniform(0.0, 1.0, 132)),
        )
        q = _readonly(rng.uniform(-1.0, 1.0, 18).astype(np.float32))
        pool.append(
            HalObservation(
                timestamp_ns=10**9 + k * 20_000_000,
                joint_positions=q,
                rgb_camera_1=image,
                rgb_camera_2=image,
                depth_map=depth,
                confidence_map=depth,
                extensions=ext,
            )
        )
    return pool


class Loop:
    """The per-step work of the control loop's mapping stages."""

    def __init__(self) -> None:
        joint_map = load_joint_map('go2_sim')
        self.builder = ObservationBuilder(GO2_PARKOUR_TEACHER, joint_map)
        self.mapper = ActionMapper(
            GO2_PARKOUR_TEACHER, joint_map, ActionMapperConfig(max_delta_per_step=1.0)
        )
        self.pool = make_pool()
        self.actions = [
            np.random.default_rng(k).uniform(-6, 6, 12).astype(np.float32) for k in range(POOL)
        ]
        self.command = NavigationCommand(vx=0.5, yaw_rate=0.2)
        # The last sent command (the rate limit's reference), as the control step keeps it.
        self.previous = np.zeros(18, dtype=np.float32)
        self.k = 0

    def map_action(self, i: int) -> None:
        """Map action ``i`` against the last command; keep the new one and record it."""
        result = self.mapper.map(self.actions[i], self.previous)
        if result.command is not None:
            np.copyto(self.previous, result.command)
        self.builder.record_action(result.raw_action)

    def step(self) -> None:
        i = self.k % POOL
        if i == 0 and self.k:
            self.builder.reset()  # timestamps restart with the pool
        self.builder.build(self.pool[i], self.command)
        self.map_action(i)
        self.k += 1


def time_steps(steps: int) -> dict[str, dict[str, float]]:
    """Return the summary (microseconds) of build, map + record, and the whole step."""
    loop = Loop()
    for _ in range(500):
        loop.step()
    build = np.empty(steps)
    mapped = np.empty(steps)
    total = np.empty(steps)
    clock = time.perf_counter_ns
    for n in range(steps):
        i = loop.k % POOL
        if i == 0:
            loop.builder.reset()
        t0 = clock()
        loop.builder.build(loop.pool[i], loop.command)
        t1 = clock()
        loop.map_action(i)
        t2 = clock()
        loop.k += 1
        build[n] = t1 - t0
        mapped[n] = t2 - t1
        total[n] = t2 - t0
    return {
        'build': percentiles(build, 1e-3),
        'map_and_record': percentiles(mapped, 1e-3),
        'step': percentiles(total, 1e-3),
    }


def measure_allocations(steps: int) -> dict[str, float]:
    """Return the transient peak and the net growth of allocations per step."""
    loop = Loop()
    for _ in range(2 * POOL):
        loop.step()
    peaks = np.empty(steps)
    tracemalloc.start()
    try:
        numpy_only = [tracemalloc.DomainFilter(True, NUMPY_DOMAIN)]
        start = tracemalloc.take_snapshot().filter_traces(numpy_only)
        begin_total, _ = tracemalloc.get_traced_memory()
        for n in range(steps):
            current, _ = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            loop.step()
            _, peak = tracemalloc.get_traced_memory()
            peaks[n] = peak - current
        end_total, _ = tracemalloc.get_traced_memory()
        end = tracemalloc.take_snapshot().filter_traces(numpy_only)
        numpy_net = sum(s.size_diff for s in end.compare_to(start, 'filename'))
    finally:
        tracemalloc.stop()
    return {
        'steps': steps,
        # Largest temporary footprint within one step, Python objects included.
        # The smallest array this code path could create (12 float64) costs
        # about 210 B; one scan-sized temporary (132 float64) about 1170 B.
        'transient_peak_bytes_p50': float(np.percentile(peaks, 50)),
        'transient_peak_bytes_max': float(peaks.max()),
        'net_bytes_per_step_all': (end_total - begin_total) / steps,
        'net_numpy_buffer_bytes': float(numpy_net),
    }


def baseline_figures(report: dict) -> dict[str, float]:
    """Return the figures a baseline keeps: p50/p99/max per stage, allocations."""
    out: dict[str, float] = {}
    for name, stats in report['timings_us'].items():
        out.update(figures(f'timings_us.{name}', stats))
    allocations = report['allocations']
    for key in ('transient_peak_bytes_p50', 'transient_peak_bytes_max', 'net_bytes_per_step_all'):
        out[f'allocations.{key}'] = allocations[key]
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, write the JSON and print the summary."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--steps', type=int, default=20_000, help='timed steps')
    parser.add_argument('--alloc-steps', type=int, default=2_000, help='steps under tracemalloc')
    parser.add_argument('--output', type=Path, default=RESULTS / 'mapping.json')
    add_baseline_arguments(parser, 'mapping')
    args = parser.parse_args(argv)
    timings = time_steps(args.steps)
    allocations = measure_allocations(args.alloc_steps)
    report = {
        'benchmark': 'mapping',
        'description': 'ObservationBuilder.build + ActionMapper.map + record_action per '
        'policy step (Go2 teacher contract, go2_sim map, all sources)',
        'steps': args.steps,
        'timings_us': timings,
        'allocations': allocations,
        'machine': dict(machine(), numpy=np.__version__),
        'source': source(),
    }
    write_json(report, args.output)
    print(f'mapping benchmark, {args.steps} steps (numpy {np.__version__})')
    for name, stats in timings.items():
        print(summary(f'  {name}', stats, digits=1))
    print(
        f'  allocations over {allocations["steps"]} steps: transient peak p50 '
        f'{allocations["transient_peak_bytes_p50"]:.0f} B, max '
        f'{allocations["transient_peak_bytes_max"]:.0f} B; net '
        f'{allocations["net_bytes_per_step_all"]:.2f} B/step; numpy buffers net '
        f'{allocations["net_numpy_buffer_bytes"]:.0f} B'
    )
    print(f'  written to {args.output}')
    handle_baseline(args, 'mapping', baseline_figures(report))
    return 0


if __name__ == '__main__':
    sys.exit(main())

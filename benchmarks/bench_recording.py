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
Benchmark of the recorder: hot-path enqueue cost and writer throughput.

1. Enqueue: ``HalRecorder.record_observation`` of one 480x640 observation
   (uint8 cameras, float32 depth and confidence, 4.3 MB, 8 frames) while the
   writer thread runs, ``--enqueues`` calls (default 400) one every 10 ms
   (the 100 Hz control rate); ``record_command`` and ``record_ros`` (a
   ``JointState`` of 18 joints and the 753-float policy observation) the
   same way (after one warm-up call per message type: the first
   serialization of a type loads its type support, reported separately).
   The frames are queued by reference, so the cost does not grow with the
   image size. Drops are counted when the writer (2) is slower than 100 Hz.
2. Throughput: ``--throughput-observations`` (default 150) observations
   queued back to back, from the first call until ``close()`` returns (the
   file finished), per chunk compression (none, lz4, zstd). Camera images
   are a smooth gradient plus noise (about what a real camera compresses
   to); depth and confidence are smooth float maps.

Usage: ``python benchmarks/bench_recording.py [--enqueues N]
[--throughput-observations N] [--compare-baseline]``; writes
``benchmarks/results/recording.json`` and prints a summary with p50/p99/max.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
import sys
import tempfile
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

from krabby_parkour_ros.hal.codec import encode_command, encode_observation
from krabby_parkour_ros.recording.recorder import HalRecorder

HEIGHT, WIDTH = 480, 640


def make_observation(index: int, rng: np.random.Generator) -> list[bytes]:
    """Return one 480x640 observation with camera-like content."""
    ramp = np.add.outer(np.arange(HEIGHT), np.arange(WIDTH)) % 256
    noise = rng.integers(0, 24, (HEIGHT, WIDTH, 3))
    cam = ((ramp[..., None] + noise + index) % 256).astype(np.uint8)
    depth = (1.0 + 0.001 * ramp + 0.01 * rng.random((HEIGHT, WIDTH))).astype(np.float32)
    confidence = np.clip(depth / 3.0, 0.0, 1.0)
    return encode_observation(
        1_000_000 + index,
        np.linspace(-1, 1, 18),
        cam,
        cam[::-1].copy(),
        depth,
        confidence,
        {'base_linear_velocity': [0.1, 0.0, 0.0]},
    )


def _timed(call: Callable[[], Any], count: int, period_s: float) -> list[float]:
    """Return the duration (microseconds) of ``count`` calls, one every ``period_s``."""
    samples = []
    next_time = time.perf_counter()
    for _ in range(count):
        start = time.perf_counter_ns()
        call()
        samples.append((time.perf_counter_ns() - start) / 1e3)
        next_time += period_s
        delay = next_time - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    return samples


def bench_enqueue(folder: Path, count: int) -> dict[str, Any]:
    """Measure the hot-path calls while the writer runs."""
    from sensor_msgs.msg import JointState
    from std_msgs.msg import Float32MultiArray

    rng = np.random.default_rng(0)
    frames = make_observation(0, rng)
    command = encode_command(np.zeros(18), 1)
    joint_state = JointState(
        name=[f'joint_{int(i):02}' for i in range(18)], position=[0.1] * 18, velocity=[0.0] * 18
    )
    policy_observation = Float32MultiArray(data=[0.5] * 753)
    recorder = HalRecorder(folder / 'enqueue.mcap', compression='none')
    # The first serialization of a type loads its type support library (once per
    # process; in the node, creating the publisher already did it).
    start = time.perf_counter_ns()
    recorder.record_ros('/joint_states', joint_state)
    first_call_us = (time.perf_counter_ns() - start) / 1e3
    recorder.record_ros('/parkour_node/policy_observation', policy_observation)
    try:
        results = {
            'record_observation_480x640': percentiles(
                _timed(lambda: recorder.record_observation(frames), count, 0.01)
            ),
            'record_command': percentiles(
                _timed(lambda: recorder.record_command(command), count, 0.001)
            ),
            'record_ros_joint_state': percentiles(
                _timed(lambda: recorder.record_ros('/joint_states', joint_state), count, 0.001)
            ),
            'record_ros_policy_observation_753': percentiles(
                _timed(
                    lambda: recorder.record_ros(
                        '/parkour_node/policy_observation', policy_observation
                    ),
                    count,
                    0.001,
                )
            ),
        }
    finally:
        stats = recorder.close()
    results['dropped'] = stats['dropped']
    results['first_record_ros_us'] = first_call_us
    results['observation_bytes'] = sum(len(f) for f in frames)
    return results


def bench_throughput(folder: Path, count: int, compression: str) -> dict[str, Any]:
    """Queue ``count`` observations at once and time until the file is finished."""
    rng = np.random.default_rng(1)
    observations = [make_observation(i, rng) for i in range(8)]
    size = sum(len(f) for f in observations[0])
    recorder = HalRecorder(
        folder / f'throughput_{compression}.mcap',
        queue_size=count + 1,
        max_queue_bytes=(count + 1) * size,
        compression=compression,
        fsync=False,
    )
    start = time.perf_counter()
    for index in range(count):
        recorder.record_observation(observations[index % len(observations)])
    stats = recorder.close(timeout_s=600.0)
    elapsed = time.perf_counter() - start
    return {
        'observations': stats['written'],
        'dropped': stats['dropped'],
        'seconds': elapsed,
        'observations_per_s': stats['written'] / elapsed,
        'input_mb_per_s': stats['written'] * size / elapsed / 1e6,
        'file_bytes': stats['bytes_written'],
        'compression_ratio': stats['written'] * size / max(1, stats['bytes_written']),
    }


def baseline_figures(result: dict[str, Any]) -> dict[str, float]:
    """Return the figures a baseline keeps: enqueue p50/p99/max, writer rates."""
    out: dict[str, float] = {}
    for name, values in result['enqueue_us'].items():
        if isinstance(values, dict):
            out.update(figures(f'enqueue_us.{name}', values))
    for compression, values in result['throughput'].items():
        out[f'throughput.{compression}.observations_per_s'] = values['observations_per_s']
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, write the JSON and print the summary."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--enqueues', type=int, default=400, help='timed calls per message')
    parser.add_argument(
        '--throughput-observations',
        type=int,
        default=150,
        help='observations queued per compression',
    )
    parser.add_argument('--output', type=Path, default=RESULTS / 'recording.json')
    add_baseline_arguments(parser, 'recording')
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        enqueue = bench_enqueue(folder, args.enqueues)
        throughput = {
            c: bench_throughput(folder, args.throughput_observations, c)
            for c in ('none', 'lz4', 'zstd')
        }
    result = {
        'benchmark': 'recording',
        'machine': machine(),
        'source': source(),
        'enqueue_us': enqueue,
        'throughput': throughput,
    }
    write_json(result, args.output)
    print(f'recording benchmark ({args.output})')
    for name, values in enqueue.items():
        if isinstance(values, dict):
            print(summary(f'  {name}', values, digits=1))
    print(
        f'  first record_ros of a type: {enqueue["first_record_ros_us"]:.0f} us; drops while'
        f' enqueuing at 100 Hz: {int(enqueue["dropped"])} (observation'
        f' {enqueue["observation_bytes"] / 1000000.0:.1f} MB)'
    )
    for compression, values in throughput.items():
        print(
            f'  writer {compression:5} {values["observations_per_s"]:6.1f} obs/s '
            f' {values["input_mb_per_s"]:7.1f} MB/s in  ratio {values["compression_ratio"]:.2f}'
        )
    handle_baseline(args, 'recording', baseline_figures(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())

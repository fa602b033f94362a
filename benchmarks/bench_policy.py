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
Benchmark of single-observation policy inference, per checkpoint format and backend.

For each case the policy is loaded (load time recorded; the model warms up
at load), 500 more calls are discarded, then ``--calls`` (default 10 000)
calls of ``ParkourPolicyModel.inference(ModelIO(obs))`` are timed from the
caller's side over a pool of 256 plausible observations. Cases:

- the shared trained teacher as TorchScript (``policy.pt``; auto, i.e.
  converted to onnxruntime, and as TorchScript) and ONNX (``policy.onnx``),
  when ``../shared`` is present;
- the shipped safetensors teacher with every backend (``auto`` first);
- generated (untrained) rsl_rl teacher checkpoint, measured-velocity and
  estimator paths, and a generated student (depth step every 5th call);
- a bare onnxruntime session on ``policy.onnx`` (no checks, no copies) as
  the floor the runtime's overhead is measured against.

Usage: ``python benchmarks/bench_policy.py [--calls N] [--threads N]
[--compare-baseline]``; writes ``benchmarks/results/policy.json`` and prints
p50 / p99 / max in microseconds.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
import re
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
    REPO,
    RESULTS,
    source,
    write_json,
)
import numpy as np
import onnxruntime
import torch

from krabby_parkour_ros.policy import ModelIO, ModelWeights, ParkourPolicyModel
from krabby_parkour_ros.policy.formats import CheckpointFormat
from krabby_parkour_ros.policy.generate import write_checkpoint
from krabby_parkour_ros.policy.sampling import plausible_observations
from krabby_parkour_ros.policy.shipped import shipped_checkpoint_path

SHARED_TEACHER = (REPO / '..' / 'shared' / 'models' / 'go2_parkour_teacher').resolve()
DEPTH = np.linspace(0.3, 2.5, 60 * 106, dtype=np.float32).reshape(60, 106)
_DISCARD = 500


def _time_calls(call: Callable[[int], Any], calls: int) -> np.ndarray:
    for index in range(_DISCARD):
        call(index)
    samples = np.empty(calls, dtype=np.float64)
    clock = time.perf_counter
    for index in range(calls):
        start = clock()
        call(index)
        samples[index] = clock() - start
    return samples


def bench_model(
    name: str,
    path: Path,
    calls: int,
    threads: int,
    backend: str = 'auto',
    estimator: bool = False,
    depth: bool = False,
) -> dict[str, Any]:
    """Return the latency summary of one checkpoint / backend / path."""
    start = time.perf_counter()
    # The only TorchScript files here are the trusted shared teacher and files this
    # benchmark generates, so TorchScript is allowed explicitly (it runs code).
    model = ParkourPolicyModel(
        ModelWeights(path, allow_torchscript=True), num_threads=threads, backend=backend
    )
    load_s = time.perf_counter() - start
    pool = plausible_observations(256, seed=1)
    inputs = [
        ModelIO(
            observation=row,
            base_velocity_measured=not estimator,
            depth_image=DEPTH if depth else None,
        )
        for row in pool
    ]
    forward: list[float] = []

    def call(index: int) -> None:
        response = model.inference(inputs[index % 256])
        if not response.success:
            raise RuntimeError(f'{name}: inference failed: {response.error_message}')
        forward.append(response.timing['forward'])

    samples = _time_calls(call, calls)
    result = {
        'name': name,
        'file': str(path),
        'format': model.weights.format.value,
        'backend': model.backend,
        'trained': model.trained,
        'load_s': load_s,
    }
    result['latency_us'] = percentiles(samples, 1e6)
    result['forward_p50_us'] = float(np.percentile(np.array(forward[_DISCARD:]) * 1e6, 50))
    return result


def bench_bare_onnxruntime(path: Path, calls: int, threads: int) -> dict[str, Any]:
    """Return the latency of a bare onnxruntime session (the floor)."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(path), options, providers=['CPUExecutionProvider'])
    pool = plausible_observations(256, seed=1)[:, None, :].copy()
    samples = _time_calls(lambda i: session.run(['actions'], {'obs': pool[i % 256]}), calls)
    result = {
        'name': 'bare onnxruntime session (policy.onnx, floor)',
        'file': str(path),
        'format': 'onnx',
        'backend': 'onnxruntime (bare)',
        'trained': True,
        'load_s': 0.0,
    }
    result['latency_us'] = percentiles(samples, 1e6)
    return result


def _cases(folder: Path) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []
    if (SHARED_TEACHER / 'policy.pt').is_file():
        cases += [
            {
                'name': 'shared teacher TorchScript, backend auto',
                'path': SHARED_TEACHER / 'policy.pt',
            },
            {
                'name': 'shared teacher TorchScript, backend torchscript',
                'path': SHARED_TEACHER / 'policy.pt',
                'backend': 'torchscript',
            },
            {'name': 'shared teacher ONNX', 'path': SHARED_TEACHER / 'policy.onnx'},
        ]
    shipped = shipped_checkpoint_path()
    for backend in ('auto', 'onnxruntime', 'torchscript', 'torch'):
        cases.append(
            {
                'name': f'shipped safetensors, backend {backend}',
                'path': shipped,
                'backend': backend,
            }
        )
    generated: dict[CheckpointFormat, Path] = {}
    for fmt in (CheckpointFormat.RSL_RL_TEACHER, CheckpointFormat.RSL_RL_STUDENT):
        generated[fmt] = folder / fmt.value / 'checkpoint.pt'
        write_checkpoint(fmt, generated[fmt], seed=0)
    teacher = generated[CheckpointFormat.RSL_RL_TEACHER]
    cases += [
        {'name': 'generated rsl_rl teacher', 'path': teacher},
        {'name': 'generated rsl_rl teacher + estimator', 'path': teacher, 'estimator': True},
        {
            'name': 'generated rsl_rl student (depth every 5th call)',
            'path': generated[CheckpointFormat.RSL_RL_STUDENT],
            'depth': True,
        },
    ]
    return cases


def baseline_figures(results: list[dict[str, Any]]) -> dict[str, float]:
    """Return the figures a baseline keeps: p50/p99/max of every case."""
    out: dict[str, float] = {}
    for row in results:
        label = re.sub(r'[^a-z0-9]+', '_', row['name'].lower()).strip('_')
        out.update(figures(f'latency_us.{label}', row['latency_us']))
    return out


def main(argv: list[str] | None = None) -> int:
    """Run every case, write the JSON and print the summary."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--calls', type=int, default=10000, help='timed calls per case')
    parser.add_argument('--threads', type=int, default=1, help='intra-op threads')
    parser.add_argument('--output', type=Path, default=RESULTS / 'policy.json')
    add_baseline_arguments(parser, 'policy')
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in _cases(Path(tmp)):
            results.append(
                bench_model(
                    case['name'],
                    case['path'],
                    args.calls,
                    args.threads,
                    backend=case.get('backend', 'auto'),
                    estimator=case.get('estimator', False),
                    depth=case.get('depth', False),
                )
            )
    if (SHARED_TEACHER / 'policy.onnx').is_file():
        results.append(
            bench_bare_onnxruntime(SHARED_TEACHER / 'policy.onnx', args.calls, args.threads)
        )
    report = {
        'benchmark': 'policy',
        'calls': args.calls,
        'threads': args.threads,
        'machine': dict(machine(), torch=torch.__version__, onnxruntime=onnxruntime.__version__),
        'source': source(),
        'shared_models': SHARED_TEACHER.is_dir(),
        'results': results,
    }
    write_json(report, args.output)
    print(
        f'policy inference latency, {int(args.calls)} calls each, {int(args.threads)} thread(s),'
        ' caller side (us):'
    )
    print(f'{"case":<52} {"backend":<12} {"p50":>8} {"p99":>8} {"max":>8} {"fwd p50":>9}')
    for row in results:
        forward = f'{row["forward_p50_us"]:.1f}' if 'forward_p50_us' in row else '-'
        stats = row['latency_us']
        print(
            f'{row["name"][:52]:<52} {row["backend"][:12]:<12} {stats["p50"]:8.1f}'
            f' {stats["p99"]:8.1f} {stats["max"]:8.1f} {forward:>9}'
        )
    print(f'written {args.output}')
    handle_baseline(args, 'policy', baseline_figures(results))
    return 0


if __name__ == '__main__':
    sys.exit(main())

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
Long fuzzing of the observation decoder (hypothesis, and atheris when installed).

Property, as in ``test/hardening/test_decoder_fuzz.py``: ``decode_observation``
either returns an observation that keeps every guarantee (shapes, dtypes,
finite values, read-only arrays, extension lengths) or raises a
``HalProtocolError``; any other exception, or a broken guarantee, is a bug.

- ``--engine hypothesis`` (default): the structured hostile-message
  generator of the tests, in batches with fresh random seeds until
  ``--seconds`` have passed.
- ``--engine atheris``: coverage-guided (libFuzzer) on the instrumented
  codec, starting from valid messages: random frames, one frame replaced,
  or bytes of the JSON metadata overwritten. Runs in a child process for
  ``--seconds``; a crash leaves the crashing input in the working folder.

Writes ``benchmarks/results/fuzz_decoder.json`` (examples run, outcome
counts by rejection reason, decode time p50/p99/max, failures) and prints a
summary; exit code 1 when a failure was found. ``--compare-baseline``:
ratios to ``benchmarks/baselines/fuzz_decoder.json``.

The hostile-message generator and the oracle live beside this script
(``benchmarks/fuzz_strategies.py``); ``test/hardening/test_decoder_fuzz.py``
runs the same strategies, bounded.
"""

from __future__ import annotations

import argparse
from collections import Counter
import json
import os
from pathlib import Path
import subprocess
import sys
import tempfile
import time
import traceback
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
import fuzz_strategies


def check_one(frames: list[bytes], outcomes: Counter, times_ns: list[int] | None = None) -> None:
    """
    Decode once; count the outcome; raise AssertionError on a property violation.

    :param times_ns: where to append the decode time (None: not timed).
    """
    # Imported here, not at the top: the atheris child instruments the codec
    # while importing it, which a module imported earlier would escape.
    from krabby_parkour_ros.hal.codec import decode_observation
    from krabby_parkour_ros.hal.errors import HalProtocolError, REJECTION_REASONS

    strategies = fuzz_strategies
    start = time.perf_counter_ns()
    try:
        observation = decode_observation(frames, max_image_bytes=strategies.FUZZ_MAX_IMAGE_BYTES)
    except HalProtocolError as exc:
        if times_ns is not None:
            times_ns.append(time.perf_counter_ns() - start)
        if exc.reason not in REJECTION_REASONS:
            raise AssertionError(f'unknown rejection reason {exc.reason!r}') from exc
        outcomes[exc.reason] += 1
        return
    if times_ns is not None:
        times_ns.append(time.perf_counter_ns() - start)
    strategies.check_decoded(observation)
    outcomes['accepted'] += 1


def run_hypothesis(seconds: float, batch: int) -> dict[str, Any]:
    """Run hypothesis batches until the time is up; return counts and failures."""
    from hypothesis import given, HealthCheck, settings

    outcomes: Counter = Counter()
    failures: list[dict[str, str]] = []
    times_ns: list[int] = []

    @settings(
        max_examples=batch, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(fuzz_strategies.hostile_messages())
    def fuzz(frames: list[bytes]) -> None:
        check_one(frames, outcomes, times_ns)

    started = time.monotonic()
    end = started + seconds
    batches = 0
    while time.monotonic() < end:
        batches += 1
        try:
            fuzz()
        except Exception as exc:  # noqa: B902 - every failure is recorded
            failures.append({'error': repr(exc), 'traceback': traceback.format_exc()[-4000:]})
            if len(failures) >= 5:
                break
    examples = sum(outcomes.values())
    return {
        'engine': 'hypothesis',
        'batches': batches,
        'examples': examples,
        'examples_per_s': examples / max(time.monotonic() - started, 1e-9),
        'decode_us': percentiles(times_ns, 1e-3),
        'outcomes': dict(outcomes),
        'failures': failures,
    }


# -- atheris ------------------------------------------------------------------------------


def _atheris_child(seconds: float, stats_path: str) -> None:
    """Run libFuzzer on the codec (this process exits when it is done)."""
    import atheris

    with atheris.instrument_imports():
        import krabby_parkour_ros.hal.codec  # noqa: F401 - instrumented for coverage
    from krabby_parkour_ros.hal.scripted_hal import ObservationTemplate

    template = ObservationTemplate(3, 4).frames(1_000_000)
    outcomes: Counter = Counter()
    state = {'last_write': time.monotonic()}

    def frames_from(data: bytes) -> list[bytes]:
        provider = atheris.FuzzedDataProvider(data)
        mode = provider.ConsumeIntInRange(0, 2)
        if mode == 0:
            count = provider.ConsumeIntInRange(0, 10)
            return [
                provider.ConsumeBytes(provider.ConsumeIntInRange(0, 256)) for _ in range(count)
            ]
        frames = list(template)
        if mode == 1:
            index = provider.ConsumeIntInRange(0, len(frames) - 1)
            frames[index] = provider.ConsumeBytes(provider.ConsumeIntInRange(0, 2048))
            return frames
        meta = bytearray(frames[2])
        start = provider.ConsumeIntInRange(0, len(meta))
        length = provider.ConsumeIntInRange(0, 64)
        meta[start : start + length] = provider.ConsumeBytes(provider.ConsumeIntInRange(0, 64))
        frames[2] = bytes(meta)
        return frames

    def test_one_input(data: bytes) -> None:
        check_one(frames_from(data), outcomes)
        now = time.monotonic()
        if now - state['last_write'] > 1.0:
            state['last_write'] = now
            Path(stats_path).write_text(json.dumps(dict(outcomes)))

    atheris.Setup(
        [sys.argv[0], f'-max_total_time={int(seconds)}', '-rss_limit_mb=2048', '-timeout=10'],
        test_one_input,
    )
    atheris.Fuzz()


def run_atheris(seconds: float) -> dict[str, Any]:
    """Run the atheris child; return its counts and whether it found a crash."""
    try:
        import atheris  # noqa: F401
    except ImportError:
        return {'engine': 'atheris', 'skipped': 'atheris is not installed (pip install atheris)'}
    with tempfile.TemporaryDirectory(prefix='krabby_fuzz_') as folder:
        stats = os.path.join(folder, 'stats.json')
        process = subprocess.run(
            [sys.executable, __file__, '--atheris-child', stats, '--seconds', str(seconds)],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=seconds + 120,
        )
        outcomes = json.loads(Path(stats).read_text()) if os.path.exists(stats) else {}
        crashes = sorted(p.name for p in Path(folder).glob('crash-*'))
    tail = process.stderr[-3000:]
    failures = (
        []
        if process.returncode == 0
        else [{'error': f'exit code {process.returncode}', 'crash_files': crashes, 'log': tail}]
    )
    executed = [line for line in process.stderr.splitlines() if 'Done' in line]
    return {
        'engine': 'atheris',
        'examples': sum(outcomes.values()),
        'outcomes': outcomes,
        'libfuzzer_summary': executed[-1] if executed else '',
        'failures': failures,
    }


def main(argv: list[str] | None = None) -> int:
    """Fuzz for the given time; write the JSON; 1 when a failure was found."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--seconds', type=float, default=60.0, help='fuzzing time per engine')
    parser.add_argument(
        '--engine', choices=('hypothesis', 'atheris', 'both'), default='hypothesis'
    )
    parser.add_argument('--batch', type=int, default=2000, help='hypothesis examples per batch')
    parser.add_argument('--atheris-child', default='', help=argparse.SUPPRESS)
    parser.add_argument('--out', type=Path, default=RESULTS / 'fuzz_decoder.json')
    add_baseline_arguments(parser, 'fuzz_decoder')
    args = parser.parse_args(argv)
    if args.atheris_child:
        _atheris_child(args.seconds, args.atheris_child)
        return 0
    runs = []
    if args.engine in ('hypothesis', 'both'):
        runs.append(run_hypothesis(args.seconds, args.batch))
    if args.engine in ('atheris', 'both'):
        runs.append(run_atheris(args.seconds))
    result = {
        'benchmark': 'fuzz_decoder',
        'machine': machine(),
        'source': source(),
        'seconds_per_engine': args.seconds,
        'runs': runs,
    }
    out = write_json(result, args.out)
    failed = False
    values: dict[str, float] = {}
    for run in runs:
        if 'skipped' in run:
            print(f'{run["engine"]}: skipped ({run["skipped"]})')
            continue
        failed = failed or bool(run['failures'])
        top = ', '.join(f'{k} {v}' for k, v in Counter(run['outcomes']).most_common(6))
        print(
            f'{run["engine"]}: {run["examples"]} messages in {args.seconds:.0f} s, '
            f'{len(run["failures"])} failures; outcomes: {top}'
        )
        if 'decode_us' in run:
            print(summary(f'{run["engine"]}: decode', run['decode_us'], digits=1))
            values.update(figures(f'{run["engine"]}.decode_us', run['decode_us']))
            values[f'{run["engine"]}.examples_per_s'] = run['examples_per_s']
        for failure in run['failures']:
            print(failure.get('traceback') or failure.get('log', ''))
    print(f'wrote {out}')
    handle_baseline(args, 'fuzz_decoder', values)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())

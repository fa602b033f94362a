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
Helpers shared by the benchmarks: summaries, JSON, baselines, load, floors.

Imports: a benchmark imports ``krabby_parkour_ros`` as installed
(``scripts/bootstrap`` installs it editable into ``.venv``) and this module
as ``common`` (Python puts a script's own folder first on ``sys.path``); no
benchmark edits ``sys.path``. To measure another tree, run with
``PYTHONPATH=<tree>``; :func:`source` records which package was measured.

Summaries: :func:`percentiles` is the one summary of a sample set (count,
mean, p50, p90, p99, p99.9, max), :func:`summary` its printed line.

Baselines: ``benchmarks/baselines/<name>.json`` holds the summary figures of
one short run (:func:`write_baseline`, with the machine, date and commit);
``--compare-baseline`` (:func:`add_baseline_arguments`,
:func:`handle_baseline`) prints the ratios of a run to it.

Benchmarks never import test code: what they share lives here (the
controller factory :func:`make_controller`, :func:`wait_for`) or, when a
robot-less user needs it too, in the package, like
:mod:`krabby_parkour_ros.hal.scripted_hal`.

Run as a script, ``python benchmarks/common.py bare-thread SECONDS
[PERIOD_S [REALTIME_PRIORITY]]`` is the bare-thread floor in a process of its own: a plain
Python thread sleeping to a fixed grid, printing its lateness samples
(microseconds) as JSON when done; :class:`BareThreadProbe` starts it next
to a measurement so both see the same machine at the same time.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
import datetime
import json
import os
from pathlib import Path
import platform
import subprocess
import sys
import threading
import time
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / 'benchmarks' / 'results'
BASELINES = REPO / 'benchmarks' / 'baselines'
#: The figures of a summary that go into a baseline.
BASELINE_KEYS = ('p50', 'p99', 'max')
#: A tick (or a bare-thread wake-up) later than this counts as late.
LATE_US = 2000.0


def percentiles(values: Sequence[float], scale: float = 1.0) -> dict[str, float]:
    """
    Return count, mean, p50, p90, p99, p99.9 and max of ``values`` times ``scale``.

    The one summary of a sample set in the benchmarks; the unit goes into
    the name of the field holding it (``latency_us``, ``timings_us``).
    """
    if len(values) == 0:
        return {
            'count': 0,
            'mean': float('nan'),
            'p50': float('nan'),
            'p90': float('nan'),
            'p99': float('nan'),
            'p999': float('nan'),
            'max': float('nan'),
        }
    array = np.asarray(values, dtype=np.float64) * scale
    p50, p90, p99, p999 = np.percentile(array, (50, 90, 99, 99.9))
    return {
        'count': int(array.size),
        'mean': float(array.mean()),
        'p50': float(p50),
        'p90': float(p90),
        'p99': float(p99),
        'p999': float(p999),
        'max': float(array.max()),
    }


def summary(
    name: str, stats: Mapping[str, float], unit: str = 'us', extra: str = '', digits: int = 0
) -> str:
    """
    Return one line ``name p50 .. p99 .. max .. n=..`` of a :func:`percentiles` dict.

    :param digits: decimals of the figures (0 for microseconds of a
        round trip, 1 or 2 for short calls).
    """
    line = (
        f'{name:<34} p50 {stats["p50"]:8.{digits}f} {unit}  p99 {stats["p99"]:8.{digits}f} '
        f'{unit}  max {stats["max"]:8.{digits}f} {unit}  n={stats["count"]}'
    )
    return f'{line}  {extra}' if extra else line


def machine() -> dict[str, Any]:
    """Return what the numbers depend on: platform, CPUs, versions, load."""
    import zmq

    return {
        'platform': platform.platform(),
        'cpu_count': os.cpu_count(),
        'python': platform.python_version(),
        'pyzmq': zmq.__version__,
        'libzmq': zmq.zmq_version(),
        'switch_interval_s': sys.getswitchinterval(),
        'load_average_at_start': os.getloadavg(),
    }


def source() -> dict[str, Any]:
    """
    Return what was measured: the commit, whether the tree had changes, the package used.

    ``package_in_checkout`` is False when ``krabby_parkour_ros`` came from
    another tree than this benchmark's (an editable install elsewhere, a
    ``PYTHONPATH``): then the numbers are not this checkout's.
    """
    import krabby_parkour_ros

    package = Path(krabby_parkour_ros.__file__).resolve().parent

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ['git', *args], cwd=REPO, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ''

    return {
        'commit': git('rev-parse', 'HEAD'),
        'dirty': bool(git('status', '--porcelain', '--untracked-files=no')),
        'package': str(package),
        'package_in_checkout': package.parent == REPO,
    }


def write_json(results: dict[str, Any], path: Path) -> Path:
    """Write ``results`` (indented) to ``path``, creating its folder; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1))
    return path


def ratio(value: float, floor: float) -> float:
    """Return ``value / floor`` (NaN when the floor is missing or zero)."""
    if not floor or floor != floor:
        return float('nan')
    return float(value) / float(floor)


# -- baselines ----------------------------------------------------------------------


def figures(
    prefix: str, stats: Mapping[str, float], keys: Sequence[str] = BASELINE_KEYS
) -> dict[str, float]:
    """
    Return ``{prefix.key: value}`` of a summary, for a baseline (p50, p99, max by default).

    :param prefix: the figure's name with its unit (``latency_us.inproc``).
    """
    return {f'{prefix}.{key}': float(stats[key]) for key in keys if stats.get(key) is not None}


def add_baseline_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    """Add ``--compare-baseline [PATH]`` and ``--write-baseline [PATH]`` for benchmark ``name``."""
    default = baseline_path(name)
    parser.add_argument(
        '--compare-baseline',
        nargs='?',
        const=str(default),
        default='',
        metavar='PATH',
        help=f'print the ratios of this run to a baseline (default {default.relative_to(REPO)})',
    )
    parser.add_argument(
        '--write-baseline',
        nargs='?',
        const=str(default),
        default='',
        metavar='PATH',
        help='write the summary figures of this run as the baseline (after a short run)',
    )


def baseline_path(name: str) -> Path:
    """Return the committed baseline of benchmark ``name``."""
    return BASELINES / f'{name}.json'


def write_baseline(
    name: str, values: Mapping[str, float], path: Path | None = None, argv: Sequence[str] = ()
) -> Path:
    """
    Write the summary figures of a run as the baseline of benchmark ``name``.

    Small on purpose: the figures, the command line, and where and when
    they were measured (machine, date, commit).
    """
    path = Path(path) if path else baseline_path(name)
    script = Path(sys.argv[0]).resolve()
    command = script.relative_to(REPO) if script.is_relative_to(REPO) else script
    kept, skip = [], False
    for arg in argv:
        if skip and arg.endswith('.json'):
            skip = False
            continue
        skip = arg == '--write-baseline'
        if not arg.startswith('--write-baseline'):
            kept.append(arg)
    document = {
        'benchmark': name,
        'command': ' '.join(['python', str(command), *kept]),
        'date': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
        'source': {k: v for k, v in source().items() if k != 'package'},
        'machine': {
            'platform': platform.platform(),
            'cpu_count': os.cpu_count(),
            'python': platform.python_version(),
            'load_average': [round(v, 2) for v in os.getloadavg()],
        },
        'figures': {k: round(float(v), 3) for k, v in sorted(values.items())},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1) + '\n')
    return path


def compare_baseline(values: Mapping[str, float], path: Path) -> dict[str, float]:
    """
    Print this run's figures next to a baseline's, with their ratios; return the ratios.

    A ratio above 1 is a larger figure than the baseline's (slower, for a
    time). Figures only one side has are listed, without a ratio.
    """
    document = json.loads(Path(path).read_text())
    base = document['figures']
    print(
        f'against {path} ({document.get("date", "?")}, commit '
        f'{str(document.get("source", {}).get("commit", "?"))[:10]}, '
        f'{document.get("machine", {}).get("cpu_count", "?")} CPUs):'
    )
    ratios: dict[str, float] = {}
    for key in sorted(set(base) | set(values)):
        now, then = values.get(key), base.get(key)
        if now is None or then is None:
            shown = 'only in the baseline' if now is None else 'not in the baseline'
            print(f'  {key:<48} {shown}')
            continue
        ratios[key] = ratio(now, then)
        print(f'  {key:<48} {then:12.3f} -> {now:12.3f}  x{ratios[key]:.2f}')
    return ratios


def handle_baseline(
    args: argparse.Namespace, name: str, values: Mapping[str, float]
) -> dict[str, float] | None:
    """
    Do what ``--write-baseline`` / ``--compare-baseline`` asked; return the ratios if compared.

    :param values: the run's figures (:func:`figures` of its summaries).
    """
    if getattr(args, 'write_baseline', ''):
        written = write_baseline(name, values, Path(args.write_baseline), sys.argv[1:])
        print(f'wrote baseline {written}')
    if getattr(args, 'compare_baseline', ''):
        return compare_baseline(values, Path(args.compare_baseline))
    return None


class BusyCore:
    """
    A busy-looping child process pinned to one CPU (background load).

    :param cpu: the CPU to pin it to (default: the last one).
    """

    def __init__(self, cpu: int | None = None) -> None:
        cpus = sorted(os.sched_getaffinity(0))
        self.cpu = cpus[-1] if cpu is None else cpu
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> BusyCore:
        """Start the busy process."""
        code = f'import os; os.sched_setaffinity(0, {{{self.cpu:d}}})\nwhile True:\n    pass\n'
        self._process = subprocess.Popen([sys.executable, '-c', code])
        return self

    def __exit__(self, *exc_info) -> None:
        """Stop the busy process."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None


def bare_thread_lateness(
    seconds: float, period_s: float = 0.01, realtime_priority: int = 0
) -> tuple[list[float], list[tuple[int, float]]]:
    """
    Return the lateness (microseconds) of a Python thread sleeping to a fixed grid.

    :param realtime_priority: 1..99: the thread runs ``SCHED_FIFO`` at this
        priority, as the controller's threads do with the same setting.

    :return: (every wake-up's lateness, (``time.monotonic_ns()``, lateness)
        of each late one, more than :data:`LATE_US` after its grid point; the
        clock is system-wide, so other processes can line their events up
        with it).
    """
    samples: list[float] = []
    late: list[tuple[int, float]] = []

    def run() -> None:
        if realtime_priority > 0:
            os.sched_setscheduler(
                threading.get_native_id(), os.SCHED_FIFO, os.sched_param(realtime_priority)
            )
        period_ns = int(period_s * 1e9)
        due = time.monotonic_ns() + period_ns
        end = due + int(seconds * 1e9)
        while due < end:
            remaining = due - time.monotonic_ns()
            if remaining > 0:
                time.sleep(remaining / 1e9)
            now = time.monotonic_ns()
            lateness = max(0, now - due) / 1e3
            samples.append(lateness)
            if lateness > LATE_US:
                late.append((now, lateness))
            due += period_ns
            if due < now:
                # Skip missed grid points, as the control driver does.
                due = now + period_ns

    thread = threading.Thread(target=run, name='bare-thread', daemon=True)
    thread.start()
    thread.join()
    return samples, late


def lateness_summary(samples_us: Sequence[float]) -> dict[str, Any]:
    """Return percentiles of lateness samples plus the count above :data:`LATE_US`."""
    out: dict[str, Any] = percentiles(samples_us)
    out['late'] = int(sum(1 for v in samples_us if v > LATE_US))
    return out


class BareThreadProbe:
    """
    The bare-thread floor in its own process, running next to a measurement.

    :param seconds: how long it runs (start it just before the measured
        window; it ends by itself).
    :param period_s: the grid period.
    :param nice: niceness of the probe process (the same as the caller's
        by default, so both compete alike).
    :param realtime_priority: 1..99: the probe's thread runs ``SCHED_FIFO``
        at this priority (give it the controller's, so both are scheduled
        alike).
    """

    def __init__(
        self, seconds: float, period_s: float = 0.01, nice: int = 0, realtime_priority: int = 0
    ) -> None:
        self._process = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                'bare-thread',
                str(seconds),
                str(period_s),
                str(realtime_priority),
            ],
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=(lambda: os.nice(nice)) if nice else None,
        )

    def result(self, timeout_s: float = 60.0) -> dict[str, Any]:
        """
        Wait for the probe; return :func:`lateness_summary` of its samples.

        Also ``late_wakeups``: (``time.monotonic_ns()``, lateness in
        microseconds) of each late wake-up.
        """
        out, _ = self._process.communicate(timeout=timeout_s)
        data = json.loads(out)
        summary = lateness_summary(data['samples'])
        summary['late_wakeups'] = [[at, round(v, 1)] for at, v in data['late']]
        return summary

    def kill(self) -> None:
        """Stop the probe early (on errors)."""
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()


class ThreadCpu:
    """
    CPU seconds of chosen threads of this process, from their CPU clocks.

    :param threads: the threads to account (alive when created).
    """

    def __init__(self, threads: Sequence[threading.Thread]) -> None:
        self._clocks = []
        for thread in threads:
            if thread is not None and thread.ident is not None and thread.is_alive():
                self._clocks.append(time.pthread_getcpuclockid(thread.ident))

    def seconds(self) -> float:
        """Return the CPU seconds of the threads so far (ended threads: not counted)."""
        total = 0.0
        for clock in self._clocks:
            try:
                total += time.clock_gettime(clock)
            except OSError:
                pass
        return total


# -- the controller against a scripted HAL --------------------------------------------

_WEIGHTS: dict[str, Any] = {}


def teacher_weights() -> Any:
    """Return the shipped trained teacher's ``ModelWeights`` (loaded once per process)."""
    if 'teacher' not in _WEIGHTS:
        # Lazy: the bare-thread probe imports this module and must start fast.
        from krabby_parkour_ros.policy.checkpoint import ModelWeights
        from krabby_parkour_ros.policy.shipped import shipped_checkpoint_path

        _WEIGHTS['teacher'] = ModelWeights(str(shipped_checkpoint_path('go2_parkour_teacher')))
    return _WEIGHTS['teacher']


def make_controller(
    hal: Any,
    control_rate: float = 100.0,
    policy_decimation: int | None = None,
    on_tick: Callable[[Any], None] | None = None,
    hal_kwargs: dict[str, Any] | None = None,
    warm_up_lead_s: float | None = None,
    record_path: str = '',
    **control: Any,
) -> Any:
    """
    Return an initialized controller with the shipped teacher connected to ``hal``.

    :param hal: a :class:`~krabby_parkour_ros.hal.scripted_hal.ScriptedHal`
        (or anything with ``client_config()``, ``context`` and ``inproc``).
    :param warm_up_lead_s: the control loop's warm-up lead (None: its
        default; 0: off).
    :param record_path: folder of a recording ('': none).
    :param control: :class:`ControlConfig` fields to override (timings,
        latch count, ``realtime_priority``).
    :returns: a ``ParkourInferenceClient``, initialized, thread not started.
    """
    from krabby_parkour_ros.control.config import ControlConfig
    from krabby_parkour_ros.control.inference_client import ParkourInferenceClient
    from krabby_parkour_ros.control.runtime import RuntimeConfig

    options = {} if warm_up_lead_s is None else {'warm_up_lead_s': warm_up_lead_s}
    client = ParkourInferenceClient(
        hal.client_config(**(hal_kwargs or {})),
        teacher_weights(),
        control_rate=control_rate,
        device='cpu',
        transport_context=hal.context if hal.inproc else None,
        runtime_config=RuntimeConfig(control=replace(ControlConfig(), **control)),
        policy_decimation=policy_decimation,
        on_tick=on_tick,
        record_path=record_path,
        **options,
    )
    client.initialize()
    return client


def wait_for(
    predicate: Callable[[], bool], timeout_s: float = 20.0, step_s: float = 0.005
) -> bool:
    """Poll ``predicate`` until it holds or ``timeout_s`` passes; return its last value."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step_s)
    return bool(predicate())


def _bare_thread_main(argv: list[str]) -> int:
    seconds = float(argv[0])
    period = float(argv[1]) if len(argv) > 1 else 0.01
    priority = int(argv[2]) if len(argv) > 2 else 0
    samples, late = bare_thread_lateness(seconds, period, priority)
    print(json.dumps({'samples': samples, 'late': late}))
    return 0


if __name__ == '__main__':
    if len(sys.argv) >= 3 and sys.argv[1] == 'bare-thread':
        sys.exit(_bare_thread_main(sys.argv[2:]))
    print('usage: common.py bare-thread SECONDS [PERIOD_S [REALTIME_PRIORITY]]', file=sys.stderr)
    sys.exit(2)

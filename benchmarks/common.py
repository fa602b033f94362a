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
Helpers shared by the benchmarks: percentiles, JSON, summaries, load, floors.

Benchmarks never import test code: what they share lives here (or, when a
robot-less user needs it too, in the package, like
:mod:`krabby_parkour_ros.hal.scripted_hal`).

Run as a script, ``python benchmarks/common.py bare-thread SECONDS
[PERIOD_S]`` is the bare-thread floor in a process of its own: a plain
Python thread sleeping to a fixed grid, printing its lateness samples
(microseconds) as JSON when done; :class:`BareThreadProbe` starts it next
to a measurement so both see the same machine at the same time.
"""

from __future__ import annotations

from collections.abc import Sequence
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
#: A tick (or a bare-thread wake-up) later than this counts as late.
LATE_US = 2000.0


def percentiles(values: Sequence[float], scale: float = 1.0) -> dict[str, float]:
    """Return count, p50, p90, p99, p99.9 and max of ``values`` times ``scale``."""
    if len(values) == 0:
        return {
            'count': 0,
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
        'p50': float(p50),
        'p90': float(p90),
        'p99': float(p99),
        'p999': float(p999),
        'max': float(array.max()),
    }


def summary(name: str, stats: dict[str, float], unit: str = 'us', extra: str = '') -> str:
    """Return one line ``name p50 .. p99 .. max .. n=..`` of a :func:`percentiles` dict."""
    line = (
        f'{name:<34} p50 {stats["p50"]:8.0f} {unit}  p99 {stats["p99"]:8.0f} {unit}  '
        f'max {stats["max"]:8.0f} {unit}  n={stats["count"]}'
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


def bare_thread_lateness(seconds: float, period_s: float = 0.01) -> list[float]:
    """Return the lateness (microseconds) of a Python thread sleeping to a fixed grid."""
    samples: list[float] = []

    def run() -> None:
        period_ns = int(period_s * 1e9)
        due = time.monotonic_ns() + period_ns
        end = due + int(seconds * 1e9)
        while due < end:
            remaining = due - time.monotonic_ns()
            if remaining > 0:
                time.sleep(remaining / 1e9)
            now = time.monotonic_ns()
            samples.append(max(0, now - due) / 1e3)
            due += period_ns
            if due < now:
                # Skip missed grid points, as the control driver does.
                due = now + period_ns

    thread = threading.Thread(target=run, name='bare-thread', daemon=True)
    thread.start()
    thread.join()
    return samples


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
    """

    def __init__(self, seconds: float, period_s: float = 0.01, nice: int = 0) -> None:
        self._process = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                'bare-thread',
                str(seconds),
                str(period_s),
            ],
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=(lambda: os.nice(nice)) if nice else None,
        )

    def result(self, timeout_s: float = 60.0) -> dict[str, Any]:
        """Wait for the probe; return :func:`lateness_summary` of its samples."""
        out, _ = self._process.communicate(timeout=timeout_s)
        return lateness_summary(json.loads(out))

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


def _bare_thread_main(argv: list[str]) -> int:
    seconds = float(argv[0])
    period = float(argv[1]) if len(argv) > 1 else 0.01
    print(json.dumps(bare_thread_lateness(seconds, period)))
    return 0


if __name__ == '__main__':
    if len(sys.argv) >= 3 and sys.argv[1] == 'bare-thread':
        sys.exit(_bare_thread_main(sys.argv[2:]))
    print('usage: common.py bare-thread SECONDS [PERIOD_S]', file=sys.stderr)
    sys.exit(2)

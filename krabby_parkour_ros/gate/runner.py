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
Run gate episodes: local worker processes (spawn) or a Ray cluster.

Both backends run the same :func:`~krabby_parkour_ros.gate.episode.run_episode`
on the same :class:`~krabby_parkour_ros.gate.episode.EpisodeSpec` objects and
return results in matrix order whatever order they finish in, so a
scorecard does not depend on the backend or the number of workers.
Ray is optional (``pip install ray``) and imported only for ``backend='ray'``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
import logging
import multiprocessing
import os
import sys
import time
from typing import Any, TextIO

from krabby_parkour_ros.gate.episode import EpisodeSpec, run_episode

BACKENDS = ('local', 'ray')
_LOG = logging.getLogger(__name__)

#: Called after each finished episode with (done, total, result).
ProgressCallback = Callable[[int, int, dict[str, Any]], None]


class RunnerError(RuntimeError):
    """A backend is unknown or cannot start (Ray missing, cluster unreachable)."""


def quiet_worker_logging() -> None:
    """Keep per-episode warnings (falls, substitutes) out of the progress display."""
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger('krabby_parkour_ros').setLevel(logging.ERROR)


def init_worker() -> None:
    """Prepare a worker process: one torch thread, quiet logs."""
    quiet_worker_logging()
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass


class Progress:
    """
    Print a progress line: done/total, rate, estimated time left, the last result.

    :param total: episodes in the run.
    :param stream: where to print (stderr by default); None prints nothing.
    """

    def __init__(self, total: int, stream: TextIO | None = sys.stderr) -> None:
        self.total = total
        self._stream = stream
        self._start = time.perf_counter()
        self._tty = bool(stream is not None and hasattr(stream, 'isatty') and stream.isatty())
        self._every = max(1, total // 40)
        self.failures = 0

    def __call__(self, done: int, total: int, result: dict[str, Any]) -> None:
        """Report one finished episode."""
        if not result.get('success'):
            self.failures += 1
        if self._stream is None:
            return
        if not self._tty and done % self._every and done != total:
            return
        elapsed = time.perf_counter() - self._start
        left = elapsed / done * (total - done)
        spec = result['spec']
        line = (
            f'[{done:5d}/{total}] {100.0 * done / total:5.1f} %  {elapsed:6.0f} s elapsed, '
            f'~{left:5.0f} s left, {self.failures} failed | {spec["terrain"]} '
            f'd{spec["difficulty"]:.2f} {spec["perturbation"]} s{spec["seed"]}: '
            f'{result["outcome"]}'
        )
        if self._tty:
            self._stream.write('\r' + line[:150].ljust(150))
            if done == total:
                self._stream.write('\n')
        else:
            self._stream.write(line + '\n')
        self._stream.flush()


def run_local(
    specs: Sequence[EpisodeSpec], workers: int = 1, progress: ProgressCallback | None = None
) -> list[dict[str, Any]]:
    """Run ``specs`` on ``workers`` spawned processes; return results in ``specs`` order."""
    if workers < 1:
        raise RunnerError(f'workers: expected at least 1, got {workers}')
    context = multiprocessing.get_context('spawn')
    results: list[dict[str, Any] | None] = [None] * len(specs)
    with context.Pool(processes=workers, initializer=init_worker) as pool:
        indexed = pool.imap_unordered(_run_indexed, list(enumerate(specs)), chunksize=1)
        _collect(indexed, results, progress)
    return [r for r in results if r is not None]


def _run_indexed(item: tuple[int, EpisodeSpec]) -> tuple[int, dict[str, Any]]:
    index, spec = item
    return index, run_episode(spec)


def _collect(
    indexed: Iterable[tuple[int, dict[str, Any]]],
    results: list[dict[str, Any] | None],
    progress: ProgressCallback | None,
) -> None:
    done = 0
    for index, result in indexed:
        results[index] = result
        done += 1
        if progress is not None:
            progress(done, len(results), result)


def run_ray(
    specs: Sequence[EpisodeSpec],
    address: str = '',
    workers: int = 0,
    progress: ProgressCallback | None = None,
) -> list[dict[str, Any]]:
    """
    Run ``specs`` as Ray tasks (one CPU each); return results in ``specs`` order.

    :param address: an existing cluster (``ray://host:10001`` or ``auto``);
        empty starts a local Ray instance for this run.
    :param workers: CPUs of a local instance (0: Ray's default, all cores).
    :raises RunnerError: when Ray is not installed or cannot start.
    """
    try:
        import ray
    except ImportError as exc:
        raise RunnerError(
            'backend ray: the ray package is not installed '
            '(pip install ray), or use --backend local'
        ) from exc
    started_here = False
    if not ray.is_initialized():
        options: dict[str, Any] = {
            'include_dashboard': False,
            'log_to_driver': False,
            'logging_level': logging.ERROR,
        }
        if address:
            options['address'] = address
        elif workers:
            options['num_cpus'] = workers
        if not address:
            # Local workers import this package from the same source folder.
            package_root = os.path.dirname(
                os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
            )
            options['runtime_env'] = {'env_vars': {'PYTHONPATH': package_root}}
        try:
            ray.init(**options)
        except Exception as exc:  # noqa: B902 - Ray raises many kinds of startup errors
            raise RunnerError(
                f'backend ray: could not start or reach Ray ({address or "local"}): {exc}'
            ) from exc
        started_here = True
    try:
        task = ray.remote(num_cpus=1)(_ray_episode)
        pending = {task.remote(spec): i for i, spec in enumerate(specs)}
        results: list[dict[str, Any] | None] = [None] * len(specs)

        def finished() -> Iterator[tuple[int, dict[str, Any]]]:
            waiting = list(pending)
            while waiting:
                ready, waiting = ray.wait(waiting, num_returns=1)
                for ref in ready:
                    yield pending[ref], ray.get(ref)

        _collect(finished(), results, progress)
        return [r for r in results if r is not None]
    finally:
        if started_here:
            ray.shutdown()


def _ray_episode(spec: EpisodeSpec) -> dict[str, Any]:
    init_worker()
    return run_episode(spec)


def run_specs(
    specs: Sequence[EpisodeSpec],
    backend: str = 'local',
    workers: int = 1,
    address: str = '',
    progress: ProgressCallback | None = None,
) -> list[dict[str, Any]]:
    """Run ``specs`` on ``backend`` ('local' or 'ray'); return results in order."""
    if backend == 'local':
        return run_local(specs, workers, progress)
    if backend == 'ray':
        return run_ray(specs, address, workers, progress)
    raise RunnerError(f'backend: expected one of {BACKENDS}, got {backend!r}')

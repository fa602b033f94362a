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
``parkour_replay``: serve a recording's observations through a HAL server.

Any HAL client (the parkour node, a test harness) connected to the replay
sees the recorded observation messages byte for byte, as the robot sent
them. Pacing:

- ``original``: each observation leaves at its recorded receive time
  (local monotonic clock of the recording host), divided by ``--speed``;
- ``fast``: back to back (a PUB socket with SNDHWM 1 drops messages a
  subscriber cannot take in time: use ``lockstep`` for an exact replay);
- ``lockstep``: after each observation, wait up to ``--lockstep-timeout``
  for the command that answers it (its ``observation_timestamp_ns``); the
  first observation is re-sent until answered (at most ``--start-timeout``)
  so a client that connects late misses nothing. A correct client rejects
  the repeats (timestamps not newer).

The loop is the shared :class:`~krabby_parkour_ros.hal.paced_server.PacedServer`
(``original`` and ``fast`` are its ``free`` mode, with and without due times).

The observation PUB socket uses SNDHWM 1 like the deployed HAL for
``original`` pacing. For ``lockstep`` and ``fast`` it defaults to 64: with
SNDHWM 1 over tcp, libzmq drops a message published within about a
millisecond of the previous one even when the subscriber keeps up, and a
lockstep answer comes back faster than that (lockstep keeps one message
in flight anyway). ``--sndhwm`` overrides it.

With ``--record OUT.mcap`` the replay writes a new recording with the
observations it published (publish times) and the commands it received
(receive times). Commands are stored as the canonical encoding of the
decoded command (:func:`~krabby_parkour_ros.hal.codec.encode_command`),
which is byte-identical to what this project's client sends.

Exit codes: 0 done (or Ctrl-C), 1 unreadable or empty recording, 2 bad
arguments or endpoints that cannot be bound.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
import json
import logging
import math
import sys
import threading
import time

from krabby_parkour_ros.hal.codec import encode_command, Frame
from krabby_parkour_ros.hal.config import (
    DEFAULT_COMMAND_ENDPOINT,
    DEFAULT_OBSERVATION_ENDPOINT,
    HalServerConfig,
)
from krabby_parkour_ros.hal.errors import HalConfigError, HalTransportError
from krabby_parkour_ros.hal.messages import HalCommand
from krabby_parkour_ros.hal.paced_server import (
    Beat,
    install_stop_signals,
    PacedServer,
    PacedStats,
    Pacing,
)
from krabby_parkour_ros.hal.server import HalServer
from krabby_parkour_ros.recording.reader import RecordedFrames, RecordingReader
from krabby_parkour_ros.recording.recorder import HalRecorder, OBSERVATION_TOPIC, RecordingError

logger = logging.getLogger(__name__)

PACINGS = ('original', 'fast', 'lockstep')
#: Default observation SNDHWM per pacing (see the module documentation).
DEFAULT_SNDHWM = {'original': 1, 'fast': 64, 'lockstep': 64}
#: Seconds between re-sends of the first observation in lockstep.
FIRST_RESEND_PERIOD_S = 0.1


class ReplayConfigError(ValueError):
    """A replay setting is out of range."""


@dataclass(frozen=True)
class ReplayConfig:
    """
    Settings of :class:`Replayer`.

    :param pacing: ``'original'``, ``'fast'`` or ``'lockstep'``.
    :param speed: time scale of ``original`` pacing (2.0: twice as fast).
    :param lockstep_timeout_s: longest wait for the answer to an observation.
    :param start_timeout_s: lockstep: longest wait for the first answer.
    :param start_delay_s: original/fast: wait before the first observation
        (clients connect meanwhile).
    :param drain_s: after the last observation, keep receiving commands this long.
    :param max_observations: stop after this many (0: all).
    """

    pacing: str = 'original'
    speed: float = 1.0
    lockstep_timeout_s: float = 0.2
    start_timeout_s: float = 10.0
    start_delay_s: float = 0.5
    drain_s: float = 0.2
    max_observations: int = 0

    def __post_init__(self) -> None:
        """Check every field."""
        if self.pacing not in PACINGS:
            raise ReplayConfigError(f'pacing: expected one of {PACINGS}, got {self.pacing!r}')
        for name in ('speed', 'lockstep_timeout_s', 'start_timeout_s'):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ReplayConfigError(f'{name}: expected a finite number > 0, got {value!r}')
        for name in ('start_delay_s', 'drain_s'):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ReplayConfigError(f'{name}: expected a finite number >= 0, got {value!r}')
        if not isinstance(self.max_observations, int) or self.max_observations < 0:
            raise ReplayConfigError(
                f'max_observations: expected an integer >= 0, got {self.max_observations!r}'
            )


@dataclass
class ReplayStats(PacedStats):
    """What a replay did (the paced loop's counters and the replay's own)."""

    skipped_malformed: int = 0
    wall_time_s: float = 0.0
    stopped: bool = False


class Replayer:
    """
    Publish a recording's observations through a bound :class:`HalServer`.

    :param reader: the recording.
    :param server: a bound server (the replayer does not close it).
    :param config: pacing settings.
    :param recorder: optional recorder of what the replay publishes and receives.
    """

    def __init__(
        self,
        reader: RecordingReader,
        server: HalServer,
        config: ReplayConfig,
        recorder: HalRecorder | None = None,
    ) -> None:
        """Prepare the paced loop; nothing is published before :meth:`run`."""
        self._reader = reader
        self._config = config
        self._recorder = recorder
        self._stop = threading.Event()
        self.stats = ReplayStats()
        self._paced = PacedServer(
            server,
            Pacing(
                mode='lockstep' if config.pacing == 'lockstep' else 'free',
                answer_timeout_s=config.lockstep_timeout_s,
                first_answer_timeout_s=config.start_timeout_s,
                resend_period_s=FIRST_RESEND_PERIOD_S,
            ),
            self.stats,
            on_command=self._record_command if recorder is not None else None,
            on_publish=self._record_observation if recorder is not None else None,
            stop=self._stop,
        )

    def stop(self) -> None:
        """Ask :meth:`run` to return soon (thread safe)."""
        self._stop.set()

    def run(self) -> ReplayStats:
        """Replay every observation; return the statistics."""
        config = self._config
        start = time.perf_counter()
        if config.pacing != 'lockstep' and config.start_delay_s > 0:
            self._paced.receive_until(time.monotonic_ns() + int(config.start_delay_s * 1e9))
        self._paced.run(self._beats())
        self.stats.stopped = self._stop.is_set()
        if not self._stop.is_set():
            self._paced.receive_until(time.monotonic_ns() + int(config.drain_s * 1e9))
        self.stats.wall_time_s = time.perf_counter() - start
        return self.stats

    def _beats(self) -> Iterator[Beat]:
        """Yield the recorded observations (due at their recorded times for ``original``)."""
        config = self._config
        first_recorded: int | None = None
        first_local = 0
        for index, record in enumerate(self._reader.observations()):
            if config.max_observations and index >= config.max_observations:
                return
            timestamp = self._timestamp(record)
            if timestamp is None:
                continue
            due = None
            if config.pacing == 'original':
                if first_recorded is None:
                    first_recorded, first_local = record.monotonic_time_ns, time.monotonic_ns()
                due = first_local + int((record.monotonic_time_ns - first_recorded) / config.speed)
            yield Beat(timestamp, record.frames, due)

    def _timestamp(self, record: RecordedFrames) -> int | None:
        try:
            value = record.metadata()['timestamp_ns']
        except (ValueError, KeyError, UnicodeDecodeError) as exc:
            self.stats.skipped_malformed += 1
            logger.warning(
                'replay: skipped a recorded observation without a readable timestamp_ns (%s)', exc
            )
            return None
        return int(value)

    def _record_observation(self, frames: Sequence[Frame], sent_ns: int) -> None:
        if self._recorder is not None:
            self._recorder.record_frames(OBSERVATION_TOPIC, frames, sent_ns)

    def _record_command(self, command: HalCommand, received_ns: int) -> None:
        # The canonical encoding: byte-identical to what this project's client sends.
        if self._recorder is not None:
            self._recorder.record_command(
                encode_command(
                    command.joint_positions, command.observation_timestamp_ns, command.timestamp_ns
                ),
                received_ns,
                time.time_ns(),
            )


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(
        prog='parkour_replay',
        description='Serve the observations of a recording through a Krabby HAL server.',
    )
    parser.add_argument('recording', help='first file of the recording (run.mcap)')
    parser.add_argument('--observation-endpoint', default=DEFAULT_OBSERVATION_ENDPOINT)
    parser.add_argument('--command-endpoint', default=DEFAULT_COMMAND_ENDPOINT)
    parser.add_argument('--pacing', choices=PACINGS, default='original')
    parser.add_argument(
        '--speed', type=float, default=1.0, help='time scale of original pacing (default 1.0)'
    )
    parser.add_argument(
        '--lockstep-timeout',
        type=float,
        default=0.2,
        help='seconds to wait for the answer to an observation (lockstep)',
    )
    parser.add_argument(
        '--start-timeout',
        type=float,
        default=10.0,
        help='lockstep: seconds to wait for the first answer',
    )
    parser.add_argument(
        '--start-delay',
        type=float,
        default=0.5,
        help='original/fast: seconds to wait before the first observation',
    )
    parser.add_argument(
        '--max-observations',
        type=int,
        default=0,
        help='stop after this many observations (0: all)',
    )
    parser.add_argument(
        '--sndhwm',
        type=int,
        default=None,
        help=(
            'SNDHWM of the observation socket (default: 1 for original, '
            '64 for lockstep and fast pacing)'
        ),
    )
    parser.add_argument(
        '--record',
        default=None,
        metavar='OUT.mcap',
        help='write what the replay publishes and receives to a new recording',
    )
    parser.add_argument('--log-level', default='WARNING')
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a replay; return the process exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format='%(asctime)s %(levelname)s %(name)s: %(message)s'
    )
    try:
        config = ReplayConfig(
            pacing=args.pacing,
            speed=args.speed,
            lockstep_timeout_s=args.lockstep_timeout,
            start_timeout_s=args.start_timeout,
            start_delay_s=args.start_delay,
            max_observations=args.max_observations,
        )
        sndhwm = args.sndhwm if args.sndhwm is not None else DEFAULT_SNDHWM[config.pacing]
        server = HalServer(
            HalServerConfig(
                observation_endpoint=args.observation_endpoint,
                command_endpoint=args.command_endpoint,
                observation_sndhwm=sndhwm,
            )
        )
    except (ReplayConfigError, HalConfigError) as exc:
        print(f'parkour_replay: {exc}', file=sys.stderr)
        return 2
    try:
        reader = RecordingReader(args.recording)
    except FileNotFoundError as exc:
        print(f'parkour_replay: {exc}', file=sys.stderr)
        return 1
    try:
        server.bind()
    except HalTransportError as exc:
        print(f'parkour_replay: {exc}', file=sys.stderr)
        return 2
    recorder = None
    try:
        if args.record:
            recorder = HalRecorder(
                args.record,
                metadata={'source': 'parkour_replay', 'replayed': str(reader.parts[0])},
            )
        replayer = Replayer(reader, server, config, recorder)
        install_stop_signals(replayer.stop)
        print(
            f'parkour_replay: {reader.parts[0]} -> observations on'
            f' {server.bound_observation_endpoint}, commands on {server.bound_command_endpoint},'
            f' {config.pacing} pacing',
            flush=True,
        )
        try:
            stats = replayer.run()
        except KeyboardInterrupt:
            stats = replayer.stats
            stats.stopped = True
    except RecordingError as exc:
        print(f'parkour_replay: {exc}', file=sys.stderr)
        return 2
    finally:
        if recorder is not None:
            recorder.close()
        server.close()
    summary = stats.summary()
    summary['problems'] = reader.problems
    if recorder is not None:
        summary['recorded'] = recorder.stats()
    print(json.dumps(summary), flush=True)
    if stats.observations_published == 0 and not stats.stopped:
        print('parkour_replay: the recording holds no observations', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())

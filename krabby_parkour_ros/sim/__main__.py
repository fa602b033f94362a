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
``krabby-parkour-sim``: run the simulated Go2 HAL from the command line.

Prints a status line periodically and a JSON summary at exit; Ctrl-C (or
SIGTERM) ends the run cleanly with exit code 0. Exit code 2 means bad
arguments or endpoints that cannot be bound.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import json
import logging
import sys
import threading
import time
from typing import Any

from krabby_parkour_ros.hal.config import (
    DEFAULT_COMMAND_ENDPOINT,
    DEFAULT_MAX_COMMAND_AGE_S,
    DEFAULT_OBSERVATION_ENDPOINT,
)
from krabby_parkour_ros.hal.errors import HalConfigError, HalTransportError
from krabby_parkour_ros.hal.paced_server import install_stop_signals
from krabby_parkour_ros.sim.hal_server import PACING_MODES, SimConfigError, SimHal, SimHalConfig
from krabby_parkour_ros.sim.robot import JointMapError
from krabby_parkour_ros.sim.scenarios import SCENARIOS

#: Trajectory points kept in the exit summary.
SUMMARY_TRAJECTORY_POINTS = 200


def parse_size(text: str) -> tuple[int, int]:
    """
    Parse an image size ``HxW`` (e.g. ``58x87``).

    :raises argparse.ArgumentTypeError: when the text is not two positive integers.
    """
    parts = text.lower().split('x')
    try:
        height, width = (int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'depth size: expected HxW such as 58x87, got {text!r}'
        ) from None
    if height < 1 or width < 1:
        raise argparse.ArgumentTypeError(f'depth size: expected positive H and W, got {text!r}')
    return height, width


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(
        prog='krabby-parkour-sim',
        description='MuJoCo simulated Go2 behind the Krabby HAL wire protocol.',
    )
    parser.add_argument('--scenario', choices=sorted(SCENARIOS), default='flat')
    parser.add_argument(
        '--box-height',
        type=float,
        default=None,
        help='box height (m) for the box scenario (default 0.2)',
    )
    parser.add_argument(
        '--box-distance',
        type=float,
        default=None,
        help='distance (m) to the front face of the (first) box (default 1.5)',
    )
    parser.add_argument(
        '--step-height',
        type=float,
        default=None,
        help='step height (m) for the stairs scenario (default 0.1)',
    )
    parser.add_argument(
        '--step-depth',
        type=float,
        default=None,
        help='step depth (m) for the stairs scenario (default 0.3)',
    )
    parser.add_argument('--seed', type=int, default=0, help='seed of the reset pose')
    parser.add_argument('--observation-endpoint', default=DEFAULT_OBSERVATION_ENDPOINT)
    parser.add_argument('--command-endpoint', default=DEFAULT_COMMAND_ENDPOINT)
    parser.add_argument(
        '--rate',
        type=float,
        default=100.0,
        help='observations per second (200, 100, 50 ...; default 100)',
    )
    parser.add_argument('--pacing', choices=PACING_MODES, default='realtime')
    parser.add_argument(
        '--lockstep-timeout',
        type=float,
        default=0.2,
        help='seconds to wait for the answer to an observation (lockstep)',
    )
    parser.add_argument(
        '--duration', type=float, default=0.0, help='simulated seconds to run (0: until Ctrl-C)'
    )
    parser.add_argument('--depth-size', type=parse_size, default=(58, 87), metavar='HxW')
    parser.add_argument(
        '--joint-map',
        default=None,
        help='joint-map YAML of the hardware view (default go2_sim.yaml)',
    )
    parser.add_argument(
        '--status-period',
        type=float,
        default=1.0,
        help='wall seconds between status lines (0: none)',
    )
    parser.add_argument(
        '--curve-secret-key',
        default='',
        help='CurveZMQ: the HAL key pair (.key_secret file or Z85); empty = plain ZeroMQ',
    )
    parser.add_argument(
        '--curve-authorized-key',
        action='append',
        default=[],
        help='CurveZMQ: a client public key (.key file, directory of them or Z85); repeatable',
    )
    parser.add_argument(
        '--max-command-age',
        type=float,
        default=DEFAULT_MAX_COMMAND_AGE_S,
        help='drop commands older than this many seconds (0: off, for '
        'clients whose clock is not synchronised with this host)',
    )
    parser.add_argument('--log-level', default='WARNING')
    return parser


def _scenario_parameters(args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if args.scenario == 'box':
        if args.box_height is not None:
            params['height'] = args.box_height
        if args.box_distance is not None:
            params['distance'] = args.box_distance
    elif args.scenario in ('box_course', 'boxes'):
        if args.box_distance is not None:
            params['distance'] = args.box_distance
    elif args.scenario == 'stairs':
        if args.step_height is not None:
            params['step_height'] = args.step_height
        if args.step_depth is not None:
            params['step_depth'] = args.step_depth
    return params


def config_from_args(args: argparse.Namespace) -> SimHalConfig:
    """Return the simulator settings of parsed arguments."""
    height, width = args.depth_size
    return SimHalConfig(
        scenario=args.scenario,
        scenario_parameters=_scenario_parameters(args),
        seed=args.seed,
        observation_endpoint=args.observation_endpoint,
        command_endpoint=args.command_endpoint,
        rate_hz=args.rate,
        pacing=args.pacing,
        lockstep_timeout_s=args.lockstep_timeout,
        depth_height=height,
        depth_width=width,
        joint_map_path=args.joint_map,
        curve_secret_key=args.curve_secret_key,
        curve_authorized_keys=tuple(args.curve_authorized_key),
        max_command_age_s=args.max_command_age,
    )


def format_status(status: dict[str, Any]) -> str:
    """Return one status line."""
    latency = status['last_latency_ms']
    rtf = status['real_time_factor']
    return (
        f't={status["sim_time_s"]:8.2f}s x={status["x"]:7.3f} y={status["y"]:7.3f} '
        f'z={status["z"]:6.3f} vx={status["forward_speed"]:6.3f} '
        f'obs={status["observations_published"]} cmd={status["commands_received"]} '
        f'lat={"-" if latency is None else f"{latency:.2f}ms"} '
        f'rtf={"-" if rtf is None else f"{rtf:.2f}"}'
        f'{" FALLEN" if status["fallen"] else ""}'
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulator; return the process exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format='%(asctime)s %(levelname)s %(name)s: %(message)s'
    )
    try:
        sim = SimHal(config_from_args(args))
        sim.bind()
    except (
        SimConfigError,
        HalConfigError,
        JointMapError,
        ValueError,
        TypeError,
        HalTransportError,
        FileNotFoundError,
    ) as exc:
        print(f'krabby-parkour-sim: {exc}', file=sys.stderr)
        return 2
    stop = threading.Event()
    install_stop_signals(stop.set)
    print(
        f'krabby-parkour-sim: {sim.robot.scenario.description}; observations on '
        f'{sim.observation_endpoint}, commands on {sim.command_endpoint}, '
        f'{args.rate:g} Hz, {args.pacing}',
        flush=True,
    )
    try:
        sim.start(args.duration if args.duration > 0.0 else None)
        next_status = time.monotonic() + args.status_period
        while sim.running and not stop.is_set():
            stop.wait(0.05)
            if args.status_period > 0.0 and time.monotonic() >= next_status:
                print(format_status(sim.status()), flush=True)
                next_status += args.status_period
    except KeyboardInterrupt:
        pass
    finally:
        sim.close()
    summary = sim.statistics(SUMMARY_TRAJECTORY_POINTS)
    summary['scenario'] = sim.robot.scenario.name
    summary['scenario_parameters'] = sim.robot.scenario.parameters
    summary['seed'] = args.seed
    summary['pacing'] = args.pacing
    print(json.dumps(summary), flush=True)
    if sim.error is not None:
        print(f'krabby-parkour-sim: simulator loop failed: {sim.error}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())

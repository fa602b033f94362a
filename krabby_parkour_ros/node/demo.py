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
The main job: the simulated robot and the parkour node, walking, with a live status.

``krabby-parkour-demo`` starts the MuJoCo simulated HAL (tcp on loopback),
starts the lifecycle node through its pure-rclpy entry point
(``parkour_node --autostart``) as a separate process exactly as on a robot,
waits for the node's soft start to hand over to the policy, then commands a
forward velocity on ``cmd_vel`` for the requested simulated time. It prints a
status line every second and a summary at the end (and JSON with
``--json``). Exit code 0 when the robot walked without falling (and, for
obstacle scenarios, ended past the last obstacle), 1 otherwise.

Length: about 520 lines, beyond the usual ~450. It is a command-line
program: options, the simulator and node processes, a small monitor node
and the summary, each short; they share one process lifecycle.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
import json
import math
import os
from pathlib import Path
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Twist
import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from std_msgs.msg import String

from krabby_parkour_ros.node.qos import SENSOR_QOS, STATUS_QOS
from krabby_parkour_ros.sim.hal_server import SimHal, SimHalConfig

SCENARIO_CHOICES = ('flat', 'box', 'box_course', 'stairs')


@dataclass
class DemoOptions:
    """What to run; see ``krabby-parkour-demo --help``."""

    scenario: str = 'flat'
    box_height: float = 0.4
    duration: float = 20.0
    vx: float = 0.5
    seed: int = 0
    checkpoint: str = ''
    policy_card: str = ''
    untrained: bool = False
    joint_map: str = ''
    params_file: str = ''
    startup_timeout: float = 60.0
    quiet: bool = False
    json_path: str = ''
    record: str = ''
    stand_first: float = 0.0


@dataclass
class DemoSummary:
    """What happened, for people (printed) and machines (JSON)."""

    scenario: str
    policy: str
    trained: bool
    commanded_vx: float
    sim_time_s: float = 0.0
    distance_m: float = 0.0
    mean_speed_mps: float = 0.0
    final_x_m: float = 0.0
    min_base_height_m: float = 0.0
    fell: bool = False
    fall_time_s: float | None = None
    passed_obstacles: bool | None = None
    obstacle_end_x_m: float | None = None
    observations: int = 0
    commands: int = 0
    latency_ms: dict[str, Any] = field(default_factory=dict)
    node_diagnostics: dict[str, str] = field(default_factory=dict)
    stand_time_s: float = 0.0
    stand_drift_m: float | None = None
    stand_modes: list[str] = field(default_factory=list)
    ok: bool = False
    problem: str = ''


def config_file(name: str) -> Path:
    """Return a shipped config file: installed share folder, else the source tree."""
    try:
        from ament_index_python.packages import get_package_share_directory

        share = Path(get_package_share_directory('krabby_parkour')) / 'config' / name
        if share.exists():
            return share
    except (ImportError, LookupError, ValueError, OSError):
        pass
    return Path(__file__).resolve().parents[2] / 'config' / name


class NodeMonitor:
    """
    A small ROS node: publishes cmd_vel, listens to the node's mode and diagnostics.

    :param context: the ROS context to create the node in.
    :param node_name: this monitor's node name.
    :param vx: forward velocity published on cmd_vel at 20 Hz (settable later).
    """

    def __init__(self, context: Context, node_name: str = 'parkour_demo', vx: float = 0.0) -> None:
        self.node = rclpy.create_node(node_name, context=context)
        self.cmd_vel = self.node.create_publisher(Twist, 'cmd_vel', SENSOR_QOS)
        self.mode = ''
        self.diagnostics: dict[str, str] = {}
        self.node.create_subscription(String, '/parkour_node/mode', self._on_mode, STATUS_QOS)
        self.node.create_subscription(DiagnosticArray, '/diagnostics', self._on_diag, STATUS_QOS)
        self.vx = vx
        self.node.create_timer(0.05, self._publish)

    def _on_mode(self, msg: String) -> None:
        self.mode = msg.data

    def _on_diag(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name.endswith(': control'):
                self.diagnostics = {kv.key: kv.value for kv in status.values}

    def _publish(self) -> None:
        twist = Twist()
        twist.linear.x = self.vx
        self.cmd_vel.publish(twist)


def _untrained_checkpoint(directory: Path) -> str:
    from krabby_parkour_ros.policy import generate

    path = directory / 'untrained_teacher.safetensors'
    generate.main(['--format', 'safetensors', '--out', str(path), '--seed', '0'])
    return str(path)


def _node_command(options: DemoOptions, sim: SimHal, checkpoint: str) -> list[str]:
    params = options.params_file or str(config_file('parkour.yaml'))
    command = [
        sys.executable,
        '-m',
        'krabby_parkour_ros.node.main',
        '--autostart',
        '--params-file',
        params,
        '--ros-args',
        '-p',
        f'hal.observation_endpoint:={sim.observation_endpoint}',
        '-p',
        f'hal.command_endpoint:={sim.command_endpoint}',
        '-p',
        'diagnostics_period:=0.5',
    ]
    if checkpoint:
        command += ['-p', f'checkpoint:={checkpoint}']
    if options.policy_card:
        command += ['-p', f'policy_card:={options.policy_card}']
    if options.joint_map:
        command += ['-p', f'joint_map:={options.joint_map}']
    if options.record:
        command += ['-p', f'record_path:={options.record}']
    return command


def _scenario(options: DemoOptions) -> dict[str, Any]:
    if options.scenario == 'box':
        return {'height': options.box_height}
    return {}


def _say(options: DemoOptions, text: str) -> None:
    if not options.quiet:
        print(text, flush=True)


def _wait(predicate: Callable[[], bool], timeout: float, process: subprocess.Popen[Any]) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.05)
    return predicate()


def run_demo(options: DemoOptions) -> DemoSummary:
    """Run the simulator and the node; return the summary."""
    tmp = tempfile.TemporaryDirectory(prefix='krabby_demo_')
    checkpoint = options.checkpoint
    if options.untrained:
        checkpoint = _untrained_checkpoint(Path(tmp.name))
        _say(
            options,
            'NOTE: running an UNTRAINED, randomly initialised policy (tests/demo of '
            'the machinery only): expect the robot to fall.',
        )
    sim = SimHal(
        SimHalConfig(
            scenario=options.scenario,
            scenario_parameters=_scenario(options),
            seed=options.seed,
            observation_endpoint='tcp://127.0.0.1:*',
            command_endpoint='tcp://127.0.0.1:*',
            pacing='realtime',
        )
    )
    sim.bind()
    sim.start()
    context = rclpy.context.Context()
    rclpy.init(context=context)
    monitor = NodeMonitor(context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(monitor.node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    process = subprocess.Popen(
        _node_command(options, sim, checkpoint),
        start_new_session=True,
        stdout=None if not options.quiet else subprocess.DEVNULL,
        stderr=None if not options.quiet else subprocess.DEVNULL,
    )
    summary = DemoSummary(
        scenario=sim.robot.scenario.description, policy='', trained=True, commanded_vx=options.vx
    )
    try:
        _say(
            options,
            f'simulator: {sim.robot.scenario.description}; node starting '
            f'(HAL {sim.observation_endpoint}) ...',
        )
        # With a zero command the node stands (stand_on_zero_command) once the
        # soft start is over: either mode means the policy's ramp is done.
        if not _wait(
            lambda: monitor.mode in ('running', 'stand'), options.startup_timeout, process
        ):
            summary.problem = (
                f'the node did not reach the running mode within '
                f'{options.startup_timeout:.0f} s (mode {monitor.mode!r}, '
                f'exit code {process.poll()})'
            )
            return summary
        if options.stand_first > 0.0:
            _stand(options, sim, monitor, process, summary)
        if not summary.problem:
            _walk(options, sim, monitor, process, summary)
    finally:
        sim.stop()
        _stop_node(process)
        executor.shutdown()
        monitor.node.destroy_node()
        rclpy.try_shutdown(context=context)
        sim.close()
        tmp.cleanup()
    return summary


def _stand(
    options: DemoOptions,
    sim: SimHal,
    monitor: NodeMonitor,
    process: subprocess.Popen,
    summary: DemoSummary,
) -> None:
    """Command zero for ``stand_first`` simulated seconds; measure the base's drift."""
    monitor.vx = 0.0
    start = sim.status()
    _say(options, f'commanding zero for {options.stand_first:.0f} s (stand)')
    drift = 0.0
    while True:
        status = sim.status()
        elapsed = status['sim_time_s'] - start['sim_time_s']
        drift = max(drift, math.hypot(status['x'] - start['x'], status['y'] - start['y']))
        if monitor.mode and monitor.mode not in summary.stand_modes:
            summary.stand_modes.append(monitor.mode)
        if status['fallen']:
            summary.problem = f'the robot fell while standing, at t={elapsed:.2f} s'
            break
        if elapsed >= options.stand_first or process.poll() is not None:
            break
        time.sleep(0.05)
    summary.stand_time_s = round(elapsed, 3)
    summary.stand_drift_m = round(drift, 4)
    _say(options, f'stand: drift {drift:.3f} m over {elapsed:.1f} s, modes {summary.stand_modes}')


def _walk(
    options: DemoOptions,
    sim: SimHal,
    monitor: NodeMonitor,
    process: subprocess.Popen,
    summary: DemoSummary,
) -> None:
    sim.reset_statistics()
    start = sim.status()
    monitor.vx = options.vx
    _say(
        options,
        f'policy in control: commanding vx = {options.vx:.2f} m/s for {options.duration:.0f} s',
    )
    next_print = 1.0
    while True:
        status = sim.status()
        elapsed = status['sim_time_s'] - start['sim_time_s']
        if elapsed >= next_print:
            diag = monitor.diagnostics
            _say(
                options,
                f't={elapsed:5.1f} s  x={status["x"] - start["x"]:6.2f} m  '
                f'z={status["z"]:.3f} m  v={status["forward_speed"]:5.2f} m/s  '
                f'rate={diag.get("loop_rate_hz", "?")} Hz  latency p50='
                f'{diag.get("latency_p50_ms", "?")} ms  mode={monitor.mode}',
            )
            next_print += 1.0
        if elapsed >= options.duration or status['fallen'] or process.poll() is not None:
            break
        time.sleep(0.05)
    monitor.vx = 0.0
    _fill_summary(sim, monitor, summary, start, process)


def _fill_summary(
    sim: SimHal,
    monitor: NodeMonitor,
    summary: DemoSummary,
    start: dict[str, Any],
    process: subprocess.Popen,
) -> None:
    stats = sim.statistics(max_trajectory_points=1)
    status = sim.status()
    summary.sim_time_s = round(status['sim_time_s'] - start['sim_time_s'], 3)
    summary.final_x_m = status['x']
    summary.distance_m = round(status['x'] - start['x'], 3)
    summary.mean_speed_mps = (
        round(summary.distance_m / summary.sim_time_s, 3) if summary.sim_time_s > 0 else 0.0
    )
    summary.min_base_height_m = stats.get('min_base_height') or 0.0
    summary.fell = bool(stats.get('fell', False))
    if stats.get('fall_time_s') is not None:
        summary.fall_time_s = round(stats['fall_time_s'] - start['sim_time_s'], 2)
    summary.observations = stats.get('observations_published', 0)
    summary.commands = stats.get('commands_received', 0)
    summary.latency_ms = stats.get('latency_ms', {})
    summary.node_diagnostics = dict(monitor.diagnostics)
    summary.policy = monitor.diagnostics.get('policy', '?')
    summary.trained = monitor.diagnostics.get('policy_trained', 'True') == 'True'
    end_x = sim.robot.scenario.end_x
    if end_x is not None and end_x > 0:
        summary.obstacle_end_x_m = round(end_x, 3)
        summary.passed_obstacles = summary.final_x_m > end_x
    if process.poll() is not None:
        summary.problem = f'the node exited early with code {process.returncode}'
    elif summary.fell:
        summary.problem = f'the robot fell at t={summary.fall_time_s} s'
    elif summary.passed_obstacles is False:
        summary.problem = 'the robot did not get past the last obstacle'
    summary.ok = not summary.problem


def _stop_node(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def format_summary(summary: DemoSummary) -> str:
    """Return the human summary block."""
    latency = summary.latency_ms or {}

    def ms(key: str) -> str:
        value = latency.get(key)
        return (
            'n/a'
            if value is None or (isinstance(value, float) and math.isnan(value))
            else f'{value:.2f}'
        )

    lines = [
        '==== krabby_parkour demo summary ====',
        f'scenario        : {summary.scenario}',
        f'policy          : {summary.policy} ({"trained" if summary.trained else "UNTRAINED"})',
        f'command         : vx = {summary.commanded_vx:.2f} m/s',
        f'simulated time  : {summary.sim_time_s:.1f} s',
        f'distance        : {summary.distance_m:.2f} m (mean speed '
        f'{summary.mean_speed_mps:.2f} m/s)',
        f'falls           : {f"yes, at t={summary.fall_time_s} s" if summary.fell else "none"}'
        f' (min base height {summary.min_base_height_m:.3f} m)',
    ]
    if summary.stand_drift_m is not None:
        lines.append(
            f'stand first     : {summary.stand_time_s:.1f} s at zero command, base '
            f'drift {summary.stand_drift_m:.3f} m, modes {summary.stand_modes}'
        )
    if summary.passed_obstacles is not None:
        lines.append(
            f'obstacles       : {"passed" if summary.passed_obstacles else "NOT passed"}'
            f' (final x {summary.final_x_m:.2f} m, last obstacle ends at '
            f'{summary.obstacle_end_x_m:.2f} m)'
        )
    lines += [
        f'commands        : {summary.commands} for {summary.observations} observations',
        f'obs->command    : p50 {ms("p50")} ms, p99 {ms("p99")} ms, max {ms("max")} ms '
        '(measured at the HAL, tcp loopback)',
        f'node loop       : {summary.node_diagnostics.get("loop_rate_hz", "?")} Hz, late ticks '
        f'{summary.node_diagnostics.get("late_ticks", "?")}',
        f'result          : {"OK" if summary.ok else "FAILED: " + summary.problem}',
    ]
    return '\n'.join(lines)


def _parse(argv: Sequence[str] | None) -> DemoOptions:
    parser = argparse.ArgumentParser(
        prog='krabby-parkour-demo',
        description=__doc__.split('\n\n')[0].strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        '--scenario',
        choices=SCENARIO_CHOICES,
        default='flat',
        help='terrain (default flat; box: one box of --box-height)',
    )
    parser.add_argument('--box', action='store_true', help='shortcut for --scenario box')
    parser.add_argument('--box-height', type=float, default=0.4, help='box height (m)')
    parser.add_argument('--duration', type=float, default=20.0, help='simulated seconds')
    parser.add_argument('--vx', type=float, default=0.5, help='forward command (m/s)')
    parser.add_argument('--seed', type=int, default=0, help='simulator seed')
    parser.add_argument('--checkpoint', default='', help='policy (default: shipped teacher)')
    parser.add_argument('--policy-card', default='', help='card for --checkpoint')
    parser.add_argument(
        '--untrained',
        action='store_true',
        help='use a generated UNTRAINED policy (machinery test only)',
    )
    parser.add_argument('--joint-map', default='', help='joint map (default: go2_sim)')
    parser.add_argument('--params-file', default='', help='node parameters YAML')
    parser.add_argument('--json', default='', help='write the summary as JSON here')
    parser.add_argument(
        '--record',
        default='',
        metavar='PATH',
        help='record the run (HAL frames, commands, node topics) to MCAP: '
        'a .mcap file or a folder; see krabby-parkour-report',
    )
    parser.add_argument('--quiet', action='store_true', help='print only the summary')
    parser.add_argument(
        '--stand-first',
        type=float,
        default=0.0,
        metavar='SECONDS',
        help='command zero (stand) for this many simulated seconds first, '
        'measuring the drift, then walk',
    )
    args = parser.parse_args(argv)
    options = DemoOptions(
        scenario='box' if args.box else args.scenario,
        box_height=args.box_height,
        duration=args.duration,
        vx=args.vx,
        seed=args.seed,
        checkpoint=args.checkpoint,
        policy_card=args.policy_card,
        untrained=args.untrained,
        joint_map=args.joint_map,
        params_file=args.params_file,
        quiet=args.quiet,
        json_path=args.json,
        record=args.record,
        stand_first=args.stand_first,
    )
    return options


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; return 0 when the robot walked as expected."""
    options = _parse(argv)
    try:
        summary = run_demo(options)
    except KeyboardInterrupt:
        return 130
    print(format_summary(summary), flush=True)
    if options.json_path:
        Path(options.json_path).write_text(json.dumps(asdict(summary), indent=2))
    return 0 if summary.ok else 1


if __name__ == '__main__':
    sys.exit(main())

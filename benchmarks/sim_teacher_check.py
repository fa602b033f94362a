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
Fidelity check of the simulator: the shared parkour teacher drives it directly.

The 753-float observation is rebuilt here from the formulas of
``parkour-policy.md`` alone, independently of the project's observation
builder and joint mapping, and fed to the shared TorchScript teacher
(``../shared/models/go2_parkour_teacher/policy.pt``) at 50 Hz (4 physics
steps per policy step) on a :class:`SimulatedRobot`, without any ZeroMQ.
A faithful simulator makes the teacher walk (~0.6 m/s at a 0.5 m/s command)
and climb boxes; a wrong joint order makes it fail.

Usage::

    python benchmarks/sim_teacher_check.py [--policy PATH] [--quick] [--compare-baseline]

Writes ``benchmarks/results/sim_teacher_check.json`` and prints a summary
(per case; wall time of a policy step p50/p99/max).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
import math
from pathlib import Path
import sys
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
    summary,
    write_json,
)
import numpy as np
import torch

from krabby_parkour_ros.sim.go2_model import FOOT_NAMES, JOINT_NAMES
from krabby_parkour_ros.sim.robot import SimulatedRobot
from krabby_parkour_ros.sim.scenarios import make_scenario

DEFAULT_POLICY = REPO / '..' / 'shared' / 'models' / 'go2_parkour_teacher' / 'policy.pt'

#: Policy joint order of the doc (Isaac Lab, grouped by joint type) and defaults.
POLICY_JOINTS = (
    'FL_hip',
    'FR_hip',
    'RL_hip',
    'RR_hip',
    'FL_thigh',
    'FR_thigh',
    'RL_thigh',
    'RR_thigh',
    'FL_calf',
    'FR_calf',
    'RL_calf',
    'RR_calf',
)
POLICY_DEFAULTS = np.array([0.1, -0.1, 0.1, -0.1, 0.8, 0.8, 1.0, 1.0, -1.5, -1.5, -1.5, -1.5])
#: The common bug: joints leg by leg (FL hip, thigh, calf, FR ...).
LEG_BY_LEG_JOINTS = (
    'FL_hip',
    'FL_thigh',
    'FL_calf',
    'FR_hip',
    'FR_thigh',
    'FR_calf',
    'RL_hip',
    'RL_thigh',
    'RL_calf',
    'RR_hip',
    'RR_thigh',
    'RR_calf',
)
POLICY_FEET = ('FL', 'FR', 'RL', 'RR')
PHYSICS_STEPS_PER_POLICY_STEP = 4
REFRESH_STEPS = 5
HISTORY = 10
PROPRIO = 53


def _wrap(angle: float) -> float:
    return (angle + math.pi) % (2.0 * math.pi) - math.pi


@dataclass
class TeacherRun:
    """Result of one closed-loop run."""

    scenario: str
    joint_order: str
    scan_order: str
    duration_s: float
    command_vx: float
    distance_x: float
    mean_speed: float
    final_position: list[float]
    min_base_height: float
    max_base_z: float
    max_tilt_deg: float
    fell: bool
    fall_time_s: float | None
    obstacle_end_x: float
    past_obstacle: bool
    wall_s: float
    #: Wall time of one policy step (observation, inference, 4 physics steps).
    step_us: dict[str, float] = field(default_factory=dict)
    trajectory: list[list[float]] = field(default_factory=list)


class TeacherDriver:
    """
    Build the teacher's observation from a SimulatedRobot, straight from the doc.

    :param robot: the simulated robot.
    :param joint_order: policy joint name per policy slot (the doc's grouped
        order for a correct deployment; another order reproduces the bug).
    :param command_vx: commanded forward velocity (m/s).
    :param target_yaw: heading to keep (rad, world).
    :param scan_order: 'xy' (x fastest, as trained), 'yx' (transposed: the
        classic scan bug) or 'blind' (flat ground everywhere).
    """

    def __init__(
        self,
        robot: SimulatedRobot,
        joint_order: Sequence[str] = POLICY_JOINTS,
        command_vx: float = 0.5,
        target_yaw: float = 0.0,
        scan_order: str = 'xy',
    ) -> None:
        """Resolve the joint and foot indices into the robot's MuJoCo order."""
        self.robot = robot
        self.order = np.array([JOINT_NAMES.index(n + '_joint') for n in joint_order])
        self.feet = np.array([FOOT_NAMES.index(f) for f in POLICY_FEET])
        self.command_vx = command_vx
        self.target_yaw = target_yaw
        if scan_order not in ('xy', 'yx', 'blind'):
            raise ValueError(f"scan_order: expected 'xy', 'yx' or 'blind', got {scan_order!r}")
        self.scan_order = scan_order
        self.step_count = 0
        self.last_action = np.zeros(12)
        self.history = np.zeros((HISTORY, PROPRIO))
        self.previous_contacts = robot.foot_contacts()[self.feet]
        self.delta_yaw = 0.0
        self.scan = np.zeros(132)

    def observation(self) -> np.ndarray:
        """Return the 753-float observation of the current state (and update history)."""
        robot = self.robot
        roll, pitch, yaw = robot.roll_pitch_yaw()
        if self.step_count % REFRESH_STEPS == 0:
            self.delta_yaw = self.target_yaw - _wrap(yaw)
            heights = robot.height_scan()
            if self.scan_order == 'yx':
                # Read the 11 x 12 grid as if y varied fastest.
                heights = heights.reshape(11, 12).T.ravel()
            elif self.scan_order == 'blind':
                heights = np.full_like(heights, robot.base_height_above_ground())
            self.scan = np.clip(heights - 0.3, -1.0, 1.0)
        contacts = robot.foot_contacts()[self.feet]
        filtered = np.logical_or(contacts, self.previous_contacts)
        self.previous_contacts = contacts
        proprio = np.concatenate(
            [
                robot.base_angular_velocity_body() * 0.25,
                [_wrap(roll), _wrap(pitch)],
                [0.0, self.delta_yaw, self.delta_yaw],
                [0.0, 0.0, self.command_vx, 1.0, 0.0],
                robot.joint_positions()[self.order] - POLICY_DEFAULTS,
                robot.joint_velocities()[self.order] * 0.05,
                self.last_action,
                filtered.astype(np.float64) - 0.5,
            ]
        )
        priv_explicit = np.concatenate([robot.base_linear_velocity_body() * 2.0, np.zeros(6)])
        obs = np.concatenate(
            [proprio, self.scan, priv_explicit, np.zeros(29), self.history.ravel()]
        )
        stored = proprio.copy()
        stored[6:8] = 0.0
        if self.step_count <= 1:
            self.history[:] = stored
        else:
            self.history = np.vstack([self.history[1:], stored])
        return np.clip(obs, -100.0, 100.0)

    def apply(self, raw_action: np.ndarray) -> None:
        """Clip the action, set the targets and advance one policy step."""
        action = np.clip(raw_action, -4.8, 4.8)
        targets = self.robot.targets
        targets[self.order] = POLICY_DEFAULTS + 0.25 * action
        self.robot.set_targets(targets)
        self.last_action = action
        self.robot.step(PHYSICS_STEPS_PER_POLICY_STEP)
        self.step_count += 1


def load_policy(path: Path) -> torch.jit.ScriptModule:
    """Load the TorchScript teacher (from the shared models, tests only)."""
    policy = torch.jit.load(str(path), map_location='cpu')
    policy.eval()
    return policy


def run_teacher(
    policy: torch.jit.ScriptModule,
    scenario: str = 'flat',
    duration_s: float = 20.0,
    seed: int = 0,
    command_vx: float = 0.5,
    joint_order: Sequence[str] = POLICY_JOINTS,
    scan_order: str = 'xy',
    stop_on_fall: bool = True,
    **scenario_parameters: float,
) -> TeacherRun:
    """Run the teacher on a fresh robot and return what happened."""
    torch.set_num_threads(1)
    robot = SimulatedRobot(make_scenario(scenario, **scenario_parameters), seed=seed, camera=None)
    driver = TeacherDriver(robot, joint_order, command_vx, scan_order=scan_order)
    steps = int(round(duration_s / (robot.timestep * PHYSICS_STEPS_PER_POLICY_STEP)))
    start = robot.base_position()
    min_height = robot.base_clearance()
    max_tilt = 0.0
    max_z = float(start[2])
    fall_time = None
    trajectory = []
    wall = time.perf_counter()
    step_ns: list[int] = []
    for k in range(steps):
        start_ns = time.perf_counter_ns()
        obs = torch.from_numpy(driver.observation()).float().unsqueeze(0)
        with torch.no_grad():
            action = policy(obs).squeeze(0).numpy().astype(np.float64)
        driver.apply(action)
        step_ns.append(time.perf_counter_ns() - start_ns)
        min_height = min(min_height, robot.base_clearance())
        max_tilt = max(max_tilt, math.degrees(robot.tilt()))
        max_z = max(max_z, float(robot.data.qpos[2]))
        if k % 10 == 0:
            trajectory.append([round(robot.sim_time, 3)] + robot.base_position().round(4).tolist())
        if fall_time is None and robot.has_fallen():
            fall_time = robot.sim_time
            if stop_on_fall:
                break
    end = robot.base_position()
    elapsed = robot.sim_time
    end_x = robot.scenario.end_x
    order_name = 'grouped' if tuple(joint_order) == POLICY_JOINTS else ','.join(joint_order)
    return TeacherRun(
        scenario=scenario,
        joint_order=order_name,
        scan_order=scan_order,
        duration_s=elapsed,
        command_vx=command_vx,
        distance_x=float(end[0] - start[0]),
        mean_speed=float((end[0] - start[0]) / elapsed),
        final_position=end.round(4).tolist(),
        min_base_height=float(min_height),
        max_base_z=max_z,
        max_tilt_deg=float(max_tilt),
        fell=fall_time is not None,
        fall_time_s=fall_time,
        obstacle_end_x=end_x,
        past_obstacle=bool(end_x > 0.0 and end[0] > end_x and fall_time is None),
        wall_s=time.perf_counter() - wall,
        step_us=percentiles(step_ns, 1e-3),
        trajectory=trajectory,
    )


def case_label(run: TeacherRun, case: dict[str, Any]) -> str:
    """Return a short name of a case for a baseline (scenario, height, orders)."""
    label = run.scenario
    if 'height' in case:
        label += f'_{case["height"]:.1f}m'
    if run.joint_order != 'grouped':
        label += '_leg_by_leg'
    if run.scan_order != 'xy':
        label += f'_scan_{run.scan_order}'
    return label


def baseline_figures(runs: list[TeacherRun], cases: list[dict[str, Any]]) -> dict[str, float]:
    """Return the figures a baseline keeps: distance, speed, tilt and step time per case."""
    out: dict[str, float] = {}
    for run, case in zip(runs, cases):
        label = case_label(run, case)
        out[f'{label}.distance_m'] = run.distance_x
        out[f'{label}.mean_speed_mps'] = run.mean_speed
        out[f'{label}.max_tilt_deg'] = run.max_tilt_deg
        out.update(figures(f'{label}.step_us', run.step_us))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the fidelity cases, write JSON and print a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--policy', type=Path, default=DEFAULT_POLICY)
    parser.add_argument('--quick', action='store_true', help='flat and 0.2 m box only')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--output', type=Path, default=RESULTS / 'sim_teacher_check.json')
    add_baseline_arguments(parser, 'sim_teacher_check')
    args = parser.parse_args(argv)
    if not args.policy.is_file():
        print(f'policy not found: {args.policy} (needs ../shared)', file=sys.stderr)
        return 2
    policy = load_policy(args.policy)
    cases: list[dict] = [
        {'scenario': 'flat', 'duration_s': 20.0},
        {'scenario': 'box', 'duration_s': 12.0, 'height': 0.2},
    ]
    if not args.quick:
        cases += [
            {'scenario': 'box', 'duration_s': 12.0, 'height': 0.3},
            {'scenario': 'box', 'duration_s': 12.0, 'height': 0.4},
            {'scenario': 'box', 'duration_s': 12.0, 'height': 0.5},
            {'scenario': 'stairs', 'duration_s': 15.0},
            {'scenario': 'box_course', 'duration_s': 20.0},
            {'scenario': 'flat', 'duration_s': 20.0, 'joint_order': LEG_BY_LEG_JOINTS},
            {'scenario': 'box', 'duration_s': 12.0, 'height': 0.5, 'scan_order': 'yx'},
            {'scenario': 'box', 'duration_s': 12.0, 'height': 0.4, 'scan_order': 'blind'},
            {'scenario': 'box', 'duration_s': 12.0, 'height': 0.2, 'scan_order': 'blind'},
        ]
    runs = []
    for case in cases:
        run = run_teacher(policy, seed=args.seed, **case)
        runs.append(run)
        height = f'{case["height"]:.2f} m' if 'height' in case else ''
        print(
            f'{run.scenario:10s} {height:6s} order={run.joint_order[:8]:8s} '
            f'scan={run.scan_order:5s} t={run.duration_s:5.1f}s '
            f'dx={run.distance_x:6.2f} m v={run.mean_speed:5.2f} m/s '
            f'min_h={run.min_base_height:5.3f} max_z={run.max_base_z:5.3f} '
            f'tilt_max={run.max_tilt_deg:5.1f} '
            f'fell={run.fell} past={run.past_obstacle} wall={run.wall_s:5.1f}s'
        )
        print(summary('  policy step (wall)', run.step_us))
    report = {
        'benchmark': 'sim_teacher_check',
        'machine': machine(),
        'source': source(),
        'runs': [asdict(r) for r in runs],
    }
    write_json(report, args.output)
    print(f'written {args.output}')
    handle_baseline(args, 'sim_teacher_check', baseline_figures(runs, cases))
    return 0


if __name__ == '__main__':
    sys.exit(main())

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
Perturbations of the acceptance gate: training's randomisation and the gaps to hardware.

Each named perturbation is *realised* per episode from a seeded generator
(:func:`realize`) into concrete numbers (kept in the scorecard), then
applied in three places: the simulated physics (:func:`apply_physics`),
what the simulated HAL reports and receives (:class:`GateHooks`, a
:class:`~krabby_parkour_ros.sim.hal_server.SimHooks`), and the controller's
settings (joint map, missing-sensor substitutes: :attr:`Realized.runtime`).

Training (``env.yaml``) randomised at startup: friction U(0.6, 2.0), base
mass +U(-1, 3) kg, base centre of mass U(+-0.02) m per axis, and pushed by
setting the base velocity by U(+-0.5) m/s every 8 s. It added **no
observation noise** (``enable_corruption: false``, ``noise: null``) and no
action delay (``use_delay: false``). The noise scales used here are
legged_gym's defaults (uniform, raw units): joint position 0.01 rad, joint
velocity 1.5 rad/s, angular velocity 0.2 rad/s, gravity (roll/pitch)
0.05 rad, linear velocity 0.1 m/s, height scan 0.1 m.

``fault_*`` entries are wrong deployments, not perturbations: the gate
must score them clearly below the correct one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
import math
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from krabby_parkour_ros.mapping.joint_map import config_directory
from krabby_parkour_ros.mapping.rotation import quaternion_multiply
from krabby_parkour_ros.sim.hal_server import SimHooks
from krabby_parkour_ros.sim.motor import DcMotorModel, MotorModel
from krabby_parkour_ros.sim.robot import SimObservation, SimulatedRobot

#: Simulated HAL observation period (s): latencies are whole periods.
PERIOD_S = 0.01
#: legged_gym's default observation noise scales (uniform +-, raw units).
NOISE_SCALES = {
    'joint_position': 0.01,
    'joint_velocity': 1.5,
    'angular_velocity': 0.2,
    'gravity': 0.05,
    'linear_velocity': 0.1,
    'height_scan': 0.1,
}


class PerturbationError(ValueError):
    """An unknown perturbation name."""


#: Perturbation names and one line each (the report's legend).
PERTURBATIONS: dict[str, str] = {
    'nominal': 'no perturbation',
    'training_dr': "training's randomisation: friction U(0.6,2), base mass +U(-1,3) kg, "
    'CoM U(+-0.02) m, one push U(+-0.5) m/s',
    'obs_noise': 'observation noise at legged_gym scales (training used none)',
    'latency': 'observation latency U{0..20} ms + action latency U{0..20} ms',
    'dropped_obs': '10 % of observations dropped',
    'pd_gains': 'PD gains Kp, Kd x U(0.8, 1.2)',
    'motor_strength': 'motor strength x U(0.8, 1.2) per joint',
    'payload': 'payload +U(0, 3) kg, centre of mass shifted U(+-0.05) m in x, y',
    'friction': 'friction U(0.3, 1.5)',
    'pushes': 'pushes of 0.5-1.0 m/s in a random direction at 2, 4, 6 s',
    'imu_bias': 'IMU bias: gyro U(+-0.1) rad/s, roll/pitch U(+-0.05) rad',
    'joint_offsets': 'joint calibration offsets U(+-0.05) rad per joint',
    'missing_joint_velocities': 'no joint velocities: finite differences substitute',
    'missing_foot_contacts': 'no foot contacts: assume_stance substitute',
    'missing_base_velocity': "no base velocity: the policy's estimator "
    '(refused when the checkpoint has none)',
    'fault_swapped_legs': 'FAULT: joint map with front and rear legs swapped',
    'fault_transposed_scan': 'FAULT: height scan sent transposed (y fastest)',
    'fault_latency_40ms': 'FAULT: 40 ms added latency (20 ms observation + 20 ms action)',
}
#: The faults (wrong deployments) among :data:`PERTURBATIONS`.
FAULTS = tuple(name for name in PERTURBATIONS if name.startswith('fault_'))


@dataclass
class Realized:
    """
    One perturbation's concrete numbers for one episode.

    :param name: perturbation name.
    :param values: the sampled numbers (JSON-ready, for the scorecard).
    :param runtime: changes to the controller settings: ``joint_map`` (a
        path), ``observation`` (ObservationConfig field overrides),
        ``base_velocity_source``.
    """

    name: str
    values: dict[str, Any] = field(default_factory=dict)
    runtime: dict[str, Any] = field(default_factory=dict)


def _u(rng: np.random.Generator, low: float, high: float, size: int | None = None) -> Any:
    value = rng.uniform(low, high, size=size)
    return [round(float(v), 5) for v in value] if size is not None else round(float(value), 5)


def _pushes(rng: np.random.Generator) -> list[list[float]]:
    pushes = []
    for t in (2.0, 4.0, 6.0):
        speed, angle = _u(rng, 0.5, 1.0), _u(rng, -math.pi, math.pi)
        pushes.append([t, round(speed * math.cos(angle), 5), round(speed * math.sin(angle), 5)])
    return pushes


#: Per perturbation: its numbers drawn from a generator (faults draw nothing).
_DRAWS: dict[str, Callable[[np.random.Generator], dict[str, Any]]] = {
    'nominal': lambda rng: {},
    'training_dr': lambda rng: {
        'friction': _u(rng, 0.6, 2.0),
        'added_mass_kg': _u(rng, -1.0, 3.0),
        'com_shift_m': _u(rng, -0.02, 0.02, 3),
        'pushes': [[_u(rng, 2.0, 6.0), *_u(rng, -0.5, 0.5, 2)]],
    },
    'obs_noise': lambda rng: {'noise': dict(NOISE_SCALES)},
    'latency': lambda rng: {
        'observation_delay_periods': int(rng.integers(0, 3)),
        'action_delay_periods': int(rng.integers(0, 3)),
    },
    'dropped_obs': lambda rng: {'drop_probability': 0.1},
    'pd_gains': lambda rng: {'kp_scale': _u(rng, 0.8, 1.2), 'kd_scale': _u(rng, 0.8, 1.2)},
    'motor_strength': lambda rng: {'strength': _u(rng, 0.8, 1.2, 12)},
    'payload': lambda rng: {
        'added_mass_kg': _u(rng, 0.0, 3.0),
        'com_shift_m': _u(rng, -0.05, 0.05, 2) + [0.0],
    },
    'friction': lambda rng: {'friction': _u(rng, 0.3, 1.5)},
    'pushes': lambda rng: {'pushes': _pushes(rng)},
    'imu_bias': lambda rng: {
        'gyro_bias': _u(rng, -0.1, 0.1, 3),
        'roll_pitch_bias': _u(rng, -0.05, 0.05, 2),
    },
    'joint_offsets': lambda rng: {'joint_offsets': _u(rng, -0.05, 0.05, 12)},
    'missing_joint_velocities': lambda rng: {'remove_keys': ['joint_velocities']},
    'missing_foot_contacts': lambda rng: {'remove_keys': ['foot_contacts']},
    'missing_base_velocity': lambda rng: {'remove_keys': ['base_linear_velocity']},
    'fault_swapped_legs': lambda rng: {'joint_map': 'front and rear legs swapped'},
    'fault_transposed_scan': lambda rng: {'transpose_scan': True},
    'fault_latency_40ms': lambda rng: {'observation_delay_periods': 2, 'action_delay_periods': 2},
}
#: Controller settings a perturbation changes (a missing sensor's substitute).
_RUNTIME: dict[str, dict[str, Any]] = {
    'missing_joint_velocities': {'observation': {'missing_joint_velocities': 'finite_difference'}},
    'missing_foot_contacts': {'observation': {'missing_foot_contacts': 'assume_stance'}},
    'missing_base_velocity': {'base_velocity_source': 'estimator'},
}


def realize(name: str, rng: np.random.Generator, scratch_dir: Path | None = None) -> Realized:
    """
    Return the perturbation ``name`` with its numbers drawn from ``rng``.

    :param scratch_dir: where a fault's joint map file is written.
    :raises PerturbationError: for an unknown name.
    """
    if name not in PERTURBATIONS:
        raise PerturbationError(
            f'perturbation: expected one of {sorted(PERTURBATIONS)}, got {name!r}'
        )
    runtime = dict(_RUNTIME.get(name, {}))
    if name == 'fault_swapped_legs':
        runtime['joint_map'] = str(swapped_legs_joint_map(scratch_dir))
    return Realized(name, _DRAWS[name](rng), runtime)


def swapped_legs_joint_map(directory: Path | None = None) -> Path:
    """Write (once) the go2_sim joint map with front and rear legs swapped; return its path."""
    folder = Path(directory) if directory is not None else Path.cwd()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / 'go2_sim_front_rear_swapped.yaml'
    if path.is_file():
        return path
    data = yaml.safe_load((config_directory() / 'go2_sim.yaml').read_text(encoding='utf-8'))
    swap = {'FL': 'RL', 'RL': 'FL', 'FR': 'RR', 'RR': 'FR'}
    for joint in data['policy']['joints']:
        leg, rest = joint['hardware'].split('_', 1)
        joint['hardware'] = f'{swap[leg]}_{rest}'
    data['name'] = 'go2_sim_front_rear_swapped'
    tmp = path.with_suffix('.tmp')
    tmp.write_text(yaml.safe_dump(data), encoding='utf-8')
    tmp.replace(path)
    return path


def apply_physics(realized: Realized, robot: SimulatedRobot) -> None:
    """Change masses, friction and motors of ``robot`` as the perturbation says."""
    v = realized.values
    model = robot.model
    base = robot.model.body('base').id
    if 'friction' in v:
        model.geom_friction[:, 0] = float(v['friction'])
    if 'added_mass_kg' in v:
        old = float(model.body_mass[base])
        new = max(old + float(v['added_mass_kg']), 0.1 * old)
        model.body_inertia[base] *= new / old
        model.body_mass[base] = new
    if 'com_shift_m' in v:
        model.body_ipos[base] += np.asarray(v['com_shift_m'], dtype=np.float64)
    if 'kp_scale' in v:
        motor = robot.motor
        if not isinstance(motor, DcMotorModel):
            raise PerturbationError(
                f'kp_scale: expected the robot to have a DcMotorModel, got {type(motor).__name__}'
            )
        robot.motor = replace(
            motor, kp=motor.kp * float(v['kp_scale']), kd=motor.kd * float(v.get('kd_scale', 1.0))
        )
    if 'strength' in v:
        robot.motor = ScaledMotor(robot.motor, np.asarray(v['strength'], dtype=np.float64))


class ScaledMotor:
    """
    A motor model whose whole torque (PD and limits) is scaled per joint.

    Training's ``motor_strength`` randomisation: the same torque law, each
    joint's output multiplied by its strength.
    """

    def __init__(self, motor: MotorModel, strength: np.ndarray) -> None:
        """Wrap ``motor``; ``strength`` has one factor per joint (MuJoCo order)."""
        self.motor = motor
        self.strength = strength

    def torque(self, target: np.ndarray, q: np.ndarray, qd: np.ndarray) -> np.ndarray:
        """Return the wrapped motor's torque times the strength."""
        return self.strength * self.motor.torque(target, q, qd)


def _roll_pitch_quat_xyzw(roll: float, pitch: float) -> np.ndarray:
    cr, sr = math.cos(roll / 2.0), math.sin(roll / 2.0)
    cp, sp = math.cos(pitch / 2.0), math.sin(pitch / 2.0)
    return np.array([sr * cp, cr * sp, -sr * sp, cr * cp])


def transpose_scan(scan: list[float], nx: int = 12, ny: int = 11) -> list[float]:
    """Return the scan re-ordered y fastest (the transposition bug)."""
    return np.asarray(scan, dtype=np.float64).reshape(ny, nx).T.reshape(-1).tolist()


class GateHooks(SimHooks):
    """
    What the simulated HAL reports and receives under a perturbation.

    :param realized: the perturbation's numbers.
    :param rng: generator of the per-step noise and drops.
    :param driven_slots: per hardware slot, True when a joint drives it.
    """

    def __init__(
        self, realized: Realized, rng: np.random.Generator, driven_slots: np.ndarray
    ) -> None:
        v = realized.values
        self._rng = rng
        self._noise: dict[str, float] = dict(v.get('noise', {}))
        self._obs_delay = int(v.get('observation_delay_periods', 0))
        self._act_delay = int(v.get('action_delay_periods', 0))
        self._drop = float(v.get('drop_probability', 0.0))
        self._gyro_bias = np.asarray(v.get('gyro_bias', (0.0, 0.0, 0.0)), dtype=np.float64)
        rp = v.get('roll_pitch_bias', (0.0, 0.0))
        self._tilt = _roll_pitch_quat_xyzw(float(rp[0]), float(rp[1]))
        self._has_tilt = any(abs(float(x)) > 0.0 for x in rp)
        self._offsets = np.zeros(len(driven_slots))
        if 'joint_offsets' in v:
            self._offsets[np.flatnonzero(driven_slots)] = np.asarray(v['joint_offsets'])
        self._remove = tuple(v.get('remove_keys', ()))
        self._transpose = bool(v.get('transpose_scan', False))
        self._pushes = sorted(tuple(p) for p in v.get('pushes', ()))
        self._driven = np.asarray(driven_slots, dtype=bool)
        self._observations: deque[SimObservation] = deque(maxlen=self._obs_delay + 1)
        self._commands: deque[tuple[int, np.ndarray]] = deque()
        self._period = 0
        #: Observations dropped and pushes applied (for the scorecard).
        self.counts = {'dropped': 0, 'pushes': 0}

    def observation(
        self, robot: SimulatedRobot, observation: SimObservation
    ) -> SimObservation | None:
        """Return the (delayed, biased, noisy) observation, or None when dropped."""
        self._observations.append(self._corrupt(observation))
        delayed = self._observations[0]
        if self._drop > 0.0 and self._rng.random() < self._drop:
            self.counts['dropped'] += 1
            return None
        return delayed

    def _corrupt(self, observation: SimObservation) -> SimObservation:
        ext = dict(observation.extensions)
        q = observation.joint_positions.astype(np.float64) + self._offsets
        n = self._noise
        rng = self._rng
        if n:
            q[self._driven] += rng.uniform(-1, 1, int(self._driven.sum())) * n['joint_position']
            qd = np.asarray(ext['joint_velocities'])
            qd[self._driven] += rng.uniform(-1, 1, int(self._driven.sum())) * n['joint_velocity']
            ext['joint_velocities'] = qd.tolist()
            ext['imu_angular_velocity'] = (
                np.asarray(ext['imu_angular_velocity'])
                + rng.uniform(-1, 1, 3) * n['angular_velocity']
            ).tolist()
            ext['base_linear_velocity'] = (
                np.asarray(ext['base_linear_velocity'])
                + rng.uniform(-1, 1, 3) * n['linear_velocity']
            ).tolist()
            ext['height_scan'] = (
                np.asarray(ext['height_scan'])
                + rng.uniform(-1, 1, len(ext['height_scan'])) * n['height_scan']
            ).tolist()
            wobble = rng.uniform(-1, 1, 2) * n['gravity']
            ext['imu_orientation_xyzw'] = quaternion_multiply(
                np.asarray(ext['imu_orientation_xyzw']),
                _roll_pitch_quat_xyzw(float(wobble[0]), float(wobble[1])),
            ).tolist()
        if self._has_tilt:
            ext['imu_orientation_xyzw'] = quaternion_multiply(
                np.asarray(ext['imu_orientation_xyzw']), self._tilt
            ).tolist()
        if np.any(self._gyro_bias):
            ext['imu_angular_velocity'] = (
                np.asarray(ext['imu_angular_velocity']) + self._gyro_bias
            ).tolist()
        if self._transpose:
            ext['height_scan'] = transpose_scan(ext['height_scan'])
        for key in self._remove:
            ext.pop(key, None)
        return replace(observation, joint_positions=q.astype(np.float32), extensions=ext)

    def command(self, robot: SimulatedRobot, joint_positions: np.ndarray) -> np.ndarray | None:
        """Return the targets to apply now (calibration offsets removed), or keep them."""
        targets = np.asarray(joint_positions, dtype=np.float64) - self._offsets
        if self._act_delay == 0:
            return targets
        self._commands.append((self._period + self._act_delay, targets))
        return None

    def before_advance(self, robot: SimulatedRobot) -> None:
        """Apply the delayed commands now due and the pushes now due."""
        while self._commands and self._commands[0][0] <= self._period:
            robot.set_hardware_targets(self._commands.popleft()[1])
        now = robot.sim_time
        while self._pushes and self._pushes[0][0] <= now + 1e-9:
            _, dvx, dvy = self._pushes.pop(0)
            velocity = robot.base_linear_velocity_world() + np.array([dvx, dvy, 0.0])
            robot.set_base_state(linear_velocity_world=velocity)
            self.counts['pushes'] += 1
        self._period += 1

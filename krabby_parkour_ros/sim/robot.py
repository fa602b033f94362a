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
The simulated Go2: MuJoCo physics, motor model, sensors, hardware view.

:class:`SimulatedRobot` keeps its joints in MuJoCo order internally (legs
FL, FR, RL, RR; hip, thigh, calf) and offers an 18-slot *hardware* view
defined by a joint-map YAML (``hardware.joint_names`` and
``hardware.foot_names``; default ``config/joint_maps/go2_sim.yaml``). Slots
named ``spare_*`` read 0 and commands to them are ignored.

Position targets are held between control updates; :meth:`SimulatedRobot.step`
applies the PD + DC-motor torque of :mod:`krabby_parkour_ros.sim.motor` at
every physics step (0.005 s), as training did.

Frames: world z up; base (body) frame x forward, y left, z up. MuJoCo
stores the free joint as position, quaternion (w, x, y, z), linear velocity
in the world frame and angular velocity in the body frame.

Length: about 540 lines, beyond the usual ~450. One class over one MuJoCo model and data
(physics step, PD and motor model calls, sensors, the hardware view); the sensor and motor
models already live in :mod:`.sensors` and :mod:`.motor`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import math
import os
from pathlib import Path

import mujoco
import numpy as np
import yaml

from krabby_parkour_ros.contract import GO2_PARKOUR_TEACHER, ScanGrid
from krabby_parkour_ros.hal.messages import JOINT_COUNT
from krabby_parkour_ros.mapping.joint_map import config_directory
from krabby_parkour_ros.sim.go2_model import (
    build_model,
    FOOT_NAMES,
    FOOT_RADIUS,
    JOINT_NAMES,
)
from krabby_parkour_ros.sim.motor import DcMotorModel, MotorModel
from krabby_parkour_ros.sim.scenarios import make_scenario, reset_joint_positions, Scenario
from krabby_parkour_ros.sim.sensors import (
    CameraConfig,
    DepthCamera,
    HeightScanner,
    shade_depth,
    TerrainRayCaster,
    yaw_from_quat_wxyz,
)

#: Joint map of the simulated Go2 (file name under config/joint_maps/).
DEFAULT_JOINT_MAP = 'go2_sim.yaml'
#: Prefix of hardware slots without an actuator.
SPARE_PREFIX = 'spare'
#: Contact force norm above which a foot counts as in contact (N).
CONTACT_FORCE_THRESHOLD = 2.0
#: Fall criteria: base height above the lowest terrain under it, and tilt.
FALL_HEIGHT = 0.15
FALL_TILT_DEG = 60.0


class JointMapError(ValueError):
    """A joint-map YAML does not describe the simulated robot's hardware view."""


def default_joint_map_path() -> Path:
    """
    Return the path of the default joint map (``go2_sim.yaml``).

    Found through the one joint-map lookup
    (:func:`krabby_parkour_ros.mapping.joint_map.config_directory`: the
    installed share folder, else the source tree).

    :raises FileNotFoundError: when the file is not there.
    """
    path = config_directory() / DEFAULT_JOINT_MAP
    if not path.is_file():
        raise FileNotFoundError(f'joint map {DEFAULT_JOINT_MAP}: expected at {path}, not found')
    return path


@dataclass(frozen=True)
class HardwareLayout:
    """
    The 18-slot hardware view: joint names per slot and the foot order.

    :param joint_names: 18 names; Go2 joints as in the MJCF
        (``FR_hip_joint`` ...) or ``spare_*`` for slots without an actuator.
    :param foot_names: foot order of the ``foot_contacts`` key (FL, FR, RL, RR
        in any order).
    """

    joint_names: tuple[str, ...]
    foot_names: tuple[str, ...]

    def __post_init__(self) -> None:
        """Check slot count, names and that every Go2 joint has one slot."""
        if len(self.joint_names) != JOINT_COUNT:
            raise JointMapError(
                f'hardware.joint_names: expected {JOINT_COUNT} names, got {len(self.joint_names)}'
            )
        for name in self.joint_names:
            if name not in JOINT_NAMES and not name.startswith(SPARE_PREFIX):
                raise JointMapError(
                    f'hardware.joint_names: expected Go2 joint names '
                    f'{list(JOINT_NAMES)} or {SPARE_PREFIX}_*, got {name!r}'
                )
        driven = [n for n in self.joint_names if not n.startswith(SPARE_PREFIX)]
        if sorted(driven) != sorted(JOINT_NAMES):
            raise JointMapError(
                f'hardware.joint_names: expected each Go2 joint exactly once, got {driven}'
            )
        if sorted(self.foot_names) != sorted(FOOT_NAMES):
            raise JointMapError(
                f'hardware.foot_names: expected a permutation of '
                f'{list(FOOT_NAMES)}, got {list(self.foot_names)}'
            )

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> HardwareLayout:
        """
        Read ``hardware.joint_names`` and ``hardware.foot_names`` from a joint map.

        :raises JointMapError: when the keys are missing or wrong.
        """
        with open(path, encoding='utf-8') as stream:
            document = yaml.safe_load(stream)
        hardware = document.get('hardware') if isinstance(document, dict) else None
        if not isinstance(hardware, dict):
            raise JointMapError(f'{path}: expected a mapping "hardware", got {hardware!r}')
        for key in ('joint_names', 'foot_names'):
            if not isinstance(hardware.get(key), list):
                raise JointMapError(
                    f'{path}: hardware.{key}: expected a list, got {hardware.get(key)!r}'
                )
        return cls(
            tuple(str(n) for n in hardware['joint_names']),
            tuple(str(n) for n in hardware['foot_names']),
        )

    @classmethod
    def default(cls) -> HardwareLayout:
        """Return the layout of the default joint map (``go2_sim.yaml``)."""
        return cls.from_yaml(default_joint_map_path())

    def joint_slots(self) -> np.ndarray:
        """Return, per hardware slot, the MuJoCo joint index or -1 for a spare slot."""
        return np.array(
            [JOINT_NAMES.index(n) if n in JOINT_NAMES else -1 for n in self.joint_names],
            dtype=np.int64,
        )

    def foot_indices(self) -> np.ndarray:
        """Return, per hardware foot, the index into :data:`FOOT_NAMES`."""
        return np.array([FOOT_NAMES.index(n) for n in self.foot_names], dtype=np.int64)


@dataclass(frozen=True)
class SimObservation:
    """
    Everything one HAL observation carries, before encoding.

    :param sim_time: simulated time of the sample (s).
    :param joint_positions: (18,) float32 hardware order.
    :param rgb: (H, W, 3) uint8 depth-shaded grey image (both cameras).
    :param depth: (H, W) float32 metres, 0 where no hit.
    :param confidence: (H, W) float32, 1 where a ray hit, else 0.
    :param extensions: the extension metadata keys (JSON-ready lists).
    """

    sim_time: float
    joint_positions: np.ndarray
    rgb: np.ndarray
    depth: np.ndarray
    confidence: np.ndarray
    extensions: dict[str, list[float]]


def quat_wxyz_to_rotation(quat_wxyz: np.ndarray) -> np.ndarray:
    """Return the 3x3 rotation matrix (body to world) of a w, x, y, z quaternion."""
    mat = np.zeros(9)
    mujoco.mju_quat2Mat(mat, np.asarray(quat_wxyz, dtype=np.float64))
    return mat.reshape(3, 3)


class SimulatedRobot:
    """
    A Go2 in MuJoCo with the training motor model and ray-cast sensors.

    :param scenario: a :class:`Scenario` or a scenario name (default parameters).
    :param seed: seed of the reset-pose generator.
    :param layout: hardware view; default from ``go2_sim.yaml``.
    :param camera: depth camera configuration; None disables the camera
        (observations then carry 1x1 images).
    :param scan_grid: height-scan grid (default: the teacher's).
    :param motor: joint motor model (default: training's, MuJoCo joint order).
    """

    def __init__(
        self,
        scenario: Scenario | str = 'flat',
        seed: int = 0,
        layout: HardwareLayout | None = None,
        camera: CameraConfig | None = CameraConfig(),
        scan_grid: ScanGrid = GO2_PARKOUR_TEACHER.scan_grid,
        motor: MotorModel | None = None,
    ) -> None:
        """Build the model of the scenario and reset to the seeded pose."""
        self.scenario = make_scenario(scenario) if isinstance(scenario, str) else scenario
        self.layout = layout if layout is not None else HardwareLayout.default()
        self.model = build_model(self.scenario.terrain)
        self.data = mujoco.MjData(self.model)
        self.motor: MotorModel = (
            motor if motor is not None else DcMotorModel.for_joints(JOINT_NAMES)
        )
        self._slots = self.layout.joint_slots()
        self._driven = self._slots >= 0
        self._feet = self.layout.foot_indices()
        self._qpos_adr = np.array(
            [self.model.jnt_qposadr[self.model.joint(n).id] for n in JOINT_NAMES]
        )
        self._qvel_adr = np.array(
            [self.model.jnt_dofadr[self.model.joint(n).id] for n in JOINT_NAMES]
        )
        self._actuator_ids = np.array(
            [self.model.actuator(n.replace('_joint', '')).id for n in JOINT_NAMES]
        )
        self._foot_geoms = np.array([self.model.geom(n).id for n in FOOT_NAMES])
        self._hip_ids = [self.model.body(f'{leg}_hip').id for leg in FOOT_NAMES]
        self._ground = TerrainRayCaster(self.model)
        self.scanner = HeightScanner(self.model, scan_grid)
        self.camera = DepthCamera(self.model, camera) if camera is not None else None
        self._seed = seed
        self._rng = np.random.default_rng(seed)
        self._targets = np.zeros(len(JOINT_NAMES))
        self._torque = np.zeros(len(JOINT_NAMES))
        self.physics_steps = 0
        self.reset()

    # ------------------------------------------------------------------ reset
    def reset(
        self, seed: int | None = None, position_xy: Sequence[float] = (0.0, 0.0), yaw: float = 0.0
    ) -> np.ndarray:
        """
        Reset to the seeded pose, upright, at rest, feet on the ground.

        :param seed: re-seed the reset generator first (None: continue it).
        :param position_xy: base x, y in the world (m).
        :param yaw: base heading (rad).
        :return: the reset joint positions (MuJoCo order), also the initial targets.
        """
        if seed is not None:
            self._seed = seed
            self._rng = np.random.default_rng(seed)
        joints = reset_joint_positions(self._rng)
        mujoco.mj_resetData(self.model, self.data)
        qpos = self.data.qpos
        qpos[0:2] = position_xy
        qpos[2] = 0.0
        qpos[3:7] = (math.cos(yaw / 2.0), 0.0, 0.0, math.sin(yaw / 2.0))
        qpos[self._qpos_adr] = joints
        mujoco.mj_kinematics(self.model, self.data)
        # Lift the base so that the lowest foot (relative to the terrain under
        # it) just touches the ground.
        lift = max(
            self._ground.ground_z(self.data, *self.data.geom_xpos[g][:2])
            - (self.data.geom_xpos[g][2] - FOOT_RADIUS)
            for g in self._foot_geoms
        )
        qpos[2] = lift
        self.data.qvel[:] = 0.0
        self._targets = joints.copy()
        self._torque[:] = 0.0
        self.physics_steps = 0
        mujoco.mj_forward(self.model, self.data)
        return joints.copy()

    @property
    def seed(self) -> int:
        """Return the seed of the last seeding (construction or reset)."""
        return self._seed

    # --------------------------------------------------------------- control
    @property
    def targets(self) -> np.ndarray:
        """Return a copy of the current PD set points, MuJoCo order (rad)."""
        return self._targets.copy()

    def set_targets(self, targets: Sequence[float]) -> None:
        """
        Set position targets in MuJoCo joint order (12 values, rad).

        :raises ValueError: on a wrong length or a non-finite value.
        """
        values = np.asarray(targets, dtype=np.float64)
        if values.shape != (len(JOINT_NAMES),) or not np.all(np.isfinite(values)):
            raise ValueError(
                f'targets: expected {len(JOINT_NAMES)} finite values, got shape {values.shape}'
            )
        self._targets = values.copy()

    def set_hardware_targets(self, targets: Sequence[float] | np.ndarray) -> None:
        """
        Set position targets from an 18-slot hardware vector (spare slots ignored).

        :raises ValueError: on a wrong length or a non-finite driven value.
        """
        values = np.asarray(targets, dtype=np.float64)
        if values.shape != (JOINT_COUNT,):
            raise ValueError(
                f'hardware targets: expected shape ({JOINT_COUNT},), got {values.shape}'
            )
        driven = values[self._driven]
        if not np.all(np.isfinite(driven)):
            raise ValueError(f'hardware targets: expected finite values, got {values.tolist()}')
        new = self._targets.copy()
        new[self._slots[self._driven]] = driven
        self._targets = new

    def hardware_targets(self) -> np.ndarray:
        """Return the current targets in the 18-slot hardware view (spare 0)."""
        return self._to_hardware(self._targets)

    def step(self, n_physics_steps: int = 1) -> None:
        """Advance ``n_physics_steps`` physics steps with PD toward the targets."""
        model, data = self.model, self.data
        for _ in range(n_physics_steps):
            q = data.qpos[self._qpos_adr]
            qd = data.qvel[self._qvel_adr]
            self._torque = self.motor.torque(self._targets, q, qd)
            data.ctrl[self._actuator_ids] = self._torque
            mujoco.mj_step(model, data)
            self.physics_steps += 1

    @property
    def sim_time(self) -> float:
        """Return the simulated time since reset (s)."""
        return float(self.data.time)

    @property
    def timestep(self) -> float:
        """Return the physics step (s)."""
        return float(self.model.opt.timestep)

    @property
    def applied_torque(self) -> np.ndarray:
        """Return the torque applied at the last physics step (MuJoCo order)."""
        return self._torque.copy()

    # ----------------------------------------------------------------- state
    def _to_hardware(self, values: np.ndarray) -> np.ndarray:
        out = np.zeros(JOINT_COUNT)
        out[self._driven] = values[self._slots[self._driven]]
        return out

    def joint_positions(self) -> np.ndarray:
        """Return joint positions (rad), MuJoCo order."""
        return self.data.qpos[self._qpos_adr].copy()

    def joint_velocities(self) -> np.ndarray:
        """Return joint velocities (rad/s), MuJoCo order."""
        return self.data.qvel[self._qvel_adr].copy()

    def hardware_joint_positions(self) -> np.ndarray:
        """Return joint positions (rad) in the 18-slot hardware view (spare 0)."""
        return self._to_hardware(self.joint_positions())

    def hardware_joint_velocities(self) -> np.ndarray:
        """Return joint velocities (rad/s) in the 18-slot hardware view (spare 0)."""
        return self._to_hardware(self.joint_velocities())

    def base_position(self) -> np.ndarray:
        """Return the base origin in the world (m)."""
        return self.data.qpos[0:3].copy()

    def base_quaternion_wxyz(self) -> np.ndarray:
        """Return the base orientation (world from body) as w, x, y, z."""
        return self.data.qpos[3:7].copy()

    def orientation_xyzw(self) -> np.ndarray:
        """Return the base orientation (world from body) as x, y, z, w (IMU key order)."""
        w, x, y, z = self.data.qpos[3:7]
        return np.array([x, y, z, w])

    def base_rotation(self) -> np.ndarray:
        """Return the 3x3 rotation body -> world."""
        return quat_wxyz_to_rotation(self.data.qpos[3:7])

    def roll_pitch_yaw(self) -> np.ndarray:
        """Return roll, pitch, yaw (rad, ZYX Euler) of the base."""
        w, x, y, z = self.data.qpos[3:7]
        roll = math.atan2(2.0 * (w * x + y * z), 1.0 - 2.0 * (x * x + y * y))
        pitch = math.asin(max(-1.0, min(1.0, 2.0 * (w * y - z * x))))
        return np.array([roll, pitch, yaw_from_quat_wxyz(self.data.qpos[3:7])])

    def base_linear_velocity_world(self) -> np.ndarray:
        """Return the base origin's linear velocity in the world frame (m/s)."""
        return self.data.qvel[0:3].copy()

    def base_linear_velocity_body(self) -> np.ndarray:
        """Return the base origin's linear velocity in the body frame (m/s)."""
        return self.base_rotation().T @ self.data.qvel[0:3]

    def base_angular_velocity_body(self) -> np.ndarray:
        """Return the base angular velocity in the body frame (rad/s)."""
        return self.data.qvel[3:6].copy()

    def set_base_state(
        self,
        position: Sequence[float] | None = None,
        quat_wxyz: Sequence[float] | None = None,
        linear_velocity_world: Sequence[float] | None = None,
        angular_velocity_body: Sequence[float] | None = None,
    ) -> None:
        """Overwrite parts of the base state (for tests and scripted scenes)."""
        if position is not None:
            self.data.qpos[0:3] = position
        if quat_wxyz is not None:
            quat = np.asarray(quat_wxyz, dtype=np.float64)
            self.data.qpos[3:7] = quat / np.linalg.norm(quat)
        if linear_velocity_world is not None:
            self.data.qvel[0:3] = linear_velocity_world
        if angular_velocity_body is not None:
            self.data.qvel[3:6] = angular_velocity_body
        mujoco.mj_forward(self.model, self.data)

    def ground_height(self, x: float, y: float) -> float:
        """Return the terrain height (m) under a world point."""
        return self._ground.ground_z(self.data, x, y)

    def base_height_above_ground(self) -> float:
        """Return the base height above the terrain directly under it (m)."""
        pos = self.data.qpos[0:3]
        return float(pos[2] - self.ground_height(pos[0], pos[1]))

    def base_clearance(self) -> float:
        """
        Return the base height above the lowest terrain under base and hips (m).

        Using the lowest of the five samples keeps a robot half-way up a box
        (base over the edge) from reading as collapsed.
        """
        xy = [self.data.qpos[0:2]] + [self.data.xpos[b][:2] for b in self._hip_ids]
        lowest = min(self.ground_height(float(x), float(y)) for x, y in xy)
        return float(self.data.qpos[2] - lowest)

    def tilt(self) -> float:
        """Return the angle (rad) between the base z axis and the world z axis."""
        return float(math.acos(max(-1.0, min(1.0, self.base_rotation()[2, 2]))))

    def has_fallen(
        self, min_height: float = FALL_HEIGHT, max_tilt_deg: float = FALL_TILT_DEG
    ) -> bool:
        """Return True when the base is too low (:meth:`base_clearance`) or too tilted."""
        return self.base_clearance() < min_height or self.tilt() > math.radians(max_tilt_deg)

    # --------------------------------------------------------------- sensors
    def foot_contact_forces(self) -> np.ndarray:
        """Return the (4, 3) net contact force on each foot (world frame, MuJoCo foot order)."""
        forces = np.zeros((len(FOOT_NAMES), 3))
        data = self.data
        if data.ncon == 0:
            return forces
        wrench = np.zeros(6)
        geoms = data.contact.geom[: data.ncon]
        for i in range(data.ncon):
            for k, foot in enumerate(self._foot_geoms):
                if geoms[i, 0] == foot or geoms[i, 1] == foot:
                    mujoco.mj_contactForce(self.model, data, i, wrench)
                    frame = data.contact.frame[i].reshape(3, 3)
                    force = frame.T @ wrench[:3]
                    # The contact force acts on geom2 along +normal; flip for geom1.
                    forces[k] += force if geoms[i, 1] == foot else -force
        return forces

    def foot_contacts(self, threshold: float = CONTACT_FORCE_THRESHOLD) -> np.ndarray:
        """Return per-foot contact flags (force norm > threshold), MuJoCo foot order."""
        return np.linalg.norm(self.foot_contact_forces(), axis=1) > threshold

    def hardware_foot_contacts(self) -> np.ndarray:
        """Return contact flags in the hardware foot order."""
        return self.foot_contacts()[self._feet]

    def height_scan(self) -> np.ndarray:
        """Return base height above the terrain (m) at the scan points, policy order."""
        return self.scanner.measure(
            self.data, self.data.qpos[0:3], yaw_from_quat_wxyz(self.data.qpos[3:7])
        )

    def depth_image(self) -> tuple[np.ndarray, np.ndarray]:
        """
        Return ``(depth, hit)`` of the head camera.

        :raises RuntimeError: when the robot was built without a camera.
        """
        if self.camera is None:
            raise RuntimeError(
                'depth_image: expected a robot built with a camera, got camera=None'
            )
        return self.camera.render(self.data, self.data.qpos[0:3], self.base_rotation())

    def extensions(self) -> dict[str, list[float]]:
        """Return the HAL extension metadata keys for the current state."""
        return {
            'imu_orientation_xyzw': self.orientation_xyzw().tolist(),
            'imu_angular_velocity': self.base_angular_velocity_body().tolist(),
            'joint_velocities': self.hardware_joint_velocities().tolist(),
            'base_linear_velocity': self.base_linear_velocity_body().tolist(),
            'foot_contacts': [int(c) for c in self.hardware_foot_contacts()],
            'height_scan': self.height_scan().tolist(),
            'base_position': self.base_position().tolist(),
        }

    def observe(self) -> SimObservation:
        """Return every observation field for the current state."""
        if self.camera is not None:
            depth, hit = self.depth_image()
            rgb = shade_depth(depth, hit, self.camera.config.max_range)
        else:
            depth = np.zeros((1, 1), dtype=np.float32)
            hit = np.zeros((1, 1), dtype=bool)
            rgb = np.zeros((1, 1, 3), dtype=np.uint8)
        return SimObservation(
            sim_time=self.sim_time,
            joint_positions=self.hardware_joint_positions().astype(np.float32),
            rgb=rgb,
            depth=depth,
            confidence=hit.astype(np.float32),
            extensions=self.extensions(),
        )

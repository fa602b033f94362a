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
Joint motor model of training: PD torque limited by a DC-motor curve.

At every physics step ``tau = kp * (q* - q) - kd * qd`` (training's
``ParkourDCMotor``: PD on position with a zero velocity target), then
clipped to the speed-dependent torque band of a DC motor::

    upper = clip(sat * ( 1 - qd / vmax),    0, lim)
    lower = clip(sat * (-1 - qd / vmax), -lim,   0)

with ``lim`` the effort limit, ``sat`` the saturation torque and ``vmax``
the velocity limit of each joint (hip / thigh / calf: 35 / 40 / 40 N*m,
35 / 45 / 45 N*m, 52.4 / 30.1 / 30.1 rad/s).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

#: Per joint type (hip, thigh, calf): effort limit, saturation, velocity limit.
EFFORT_LIMIT = {'hip': 35.0, 'thigh': 40.0, 'calf': 40.0}
SATURATION_EFFORT = {'hip': 35.0, 'thigh': 45.0, 'calf': 45.0}
VELOCITY_LIMIT = {'hip': 52.4, 'thigh': 30.1, 'calf': 30.1}
KP = 40.0
KD = 1.0


def joint_type(joint_name: str) -> str:
    """
    Return 'hip', 'thigh' or 'calf' for a Go2 joint name such as 'FL_calf_joint'.

    :raises ValueError: when the name names none of the three.
    """
    for kind in ('hip', 'thigh', 'calf'):
        if f'_{kind}' in joint_name:
            return kind
    raise ValueError(
        f'joint name: expected one containing _hip, _thigh or _calf, got {joint_name!r}'
    )


class MotorModel(Protocol):
    """What the simulated robot asks of a motor model (:class:`DcMotorModel` or a wrapper)."""

    def torque(self, target: np.ndarray, q: np.ndarray, qd: np.ndarray) -> np.ndarray:
        """Return the joint torques for position targets, positions and velocities."""


@dataclass(frozen=True)
class DcMotorModel:
    """
    PD + DC-motor torque model of a set of joints (arrays in joint order).

    :param kp: position gain (N*m/rad).
    :param kd: velocity gain (N*m*s/rad).
    :param effort_limit: ``lim`` per joint (N*m).
    :param saturation_effort: ``sat`` per joint (N*m).
    :param velocity_limit: ``vmax`` per joint (rad/s).
    """

    kp: float
    kd: float
    effort_limit: np.ndarray
    saturation_effort: np.ndarray
    velocity_limit: np.ndarray

    def __post_init__(self) -> None:
        """Check that the three per-joint arrays agree and are positive."""
        n = len(self.effort_limit)
        for name in ('saturation_effort', 'velocity_limit'):
            size = len(getattr(self, name))
            if size != n:
                raise ValueError(f'{name}: expected {n} values (as effort_limit), got {size}')
        for name in ('effort_limit', 'saturation_effort', 'velocity_limit'):
            if np.any(np.asarray(getattr(self, name)) <= 0.0):
                raise ValueError(
                    f'{name}: expected positive values, got {list(getattr(self, name))}'
                )

    @classmethod
    def for_joints(
        cls, joint_names: Sequence[str], kp: float = KP, kd: float = KD
    ) -> DcMotorModel:
        """Return the training motor model for Go2 joints named as in the MJCF."""
        kinds = [joint_type(name) for name in joint_names]
        return cls(
            kp=kp,
            kd=kd,
            effort_limit=np.array([EFFORT_LIMIT[k] for k in kinds]),
            saturation_effort=np.array([SATURATION_EFFORT[k] for k in kinds]),
            velocity_limit=np.array([VELOCITY_LIMIT[k] for k in kinds]),
        )

    def torque_limits(self, qd: np.ndarray) -> tuple:
        """Return ``(lower, upper)`` torque bounds at joint velocities ``qd``."""
        sat = self.saturation_effort
        ratio = np.asarray(qd, dtype=np.float64) / self.velocity_limit
        upper = np.clip(sat * (1.0 - ratio), 0.0, self.effort_limit)
        lower = np.clip(sat * (-1.0 - ratio), -self.effort_limit, 0.0)
        return lower, upper

    def torque(self, target: np.ndarray, q: np.ndarray, qd: np.ndarray) -> np.ndarray:
        """Return the applied torque for position targets ``target`` at state (q, qd)."""
        desired = self.kp * (np.asarray(target) - q) - self.kd * np.asarray(qd)
        lower, upper = self.torque_limits(qd)
        return np.clip(desired, lower, upper)

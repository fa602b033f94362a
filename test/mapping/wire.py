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

"""Shared helpers of the mapping tests: HAL observations and joint maps built by hand."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
import contextlib
import copy
import logging
import math
from pathlib import Path

import numpy as np

from krabby_parkour_ros.hal.messages import HalObservation, ObservationExtensions

REPO_ROOT = Path(__file__).resolve().parents[2]
JOINT_MAP_DIR = REPO_ROOT / 'config' / 'joint_maps'

_IMAGE = np.zeros((2, 3, 3), dtype=np.uint8)
_DEPTH = np.zeros((2, 3), dtype=np.float32)
_IMAGE.setflags(write=False)
_DEPTH.setflags(write=False)


def _frozen(values: Sequence[float] | None) -> np.ndarray | None:
    if values is None:
        return None
    array = np.array(values, dtype=np.float64)
    array.setflags(write=False)
    return array


def make_observation(
    timestamp_ns: int,
    joint_positions: Sequence[float],
    *,
    orientation: Sequence[float] | None = None,
    angular_velocity: Sequence[float] | None = None,
    joint_velocities: Sequence[float] | None = None,
    base_velocity: Sequence[float] | None = None,
    foot_contacts: Sequence[float] | None = None,
    height_scan: Sequence[float] | None = None,
) -> HalObservation:
    """Return a HalObservation with tiny images and the given extensions."""
    q = np.array(joint_positions, dtype=np.float32)
    q.setflags(write=False)
    extensions = ObservationExtensions(
        imu_orientation_xyzw=_frozen(orientation),
        imu_angular_velocity=_frozen(angular_velocity),
        joint_velocities=_frozen(joint_velocities),
        base_linear_velocity=_frozen(base_velocity),
        foot_contacts=_frozen(foot_contacts),
        height_scan=_frozen(height_scan),
    )
    return HalObservation(
        timestamp_ns=int(timestamp_ns),
        joint_positions=q,
        rgb_camera_1=_IMAGE,
        rgb_camera_2=_IMAGE,
        depth_map=_DEPTH,
        confidence_map=_DEPTH,
        metadata={},
        extensions=extensions,
    )


def quat_from_rpy(roll: float, pitch: float, yaw: float) -> tuple:
    """Return (x, y, z, w) of R = Rz(yaw) Ry(pitch) Rx(roll), by half angles."""
    cr, sr = math.cos(roll / 2), math.sin(roll / 2)
    cp, sp = math.cos(pitch / 2), math.sin(pitch / 2)
    cy, sy = math.cos(yaw / 2), math.sin(yaw / 2)
    w = cy * cp * cr + sy * sp * sr
    x = cy * cp * sr - sy * sp * cr
    y = cy * sp * cr + sy * cp * sr
    z = sy * cp * cr - cy * sp * sr
    return (x, y, z, w)


#: A valid joint map (Go2 joints on a scrambled wire, signs and offsets).
GO2_NAMES = (
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
SCRAMBLED_MAP = {
    'name': 'scrambled',
    'hardware': {
        'joint_names': [f'hw_{i}' for i in range(18)],
        'target_lower': [-3.0] * 18,
        'target_upper': [3.0] * 18,
        'hold_position': [0.25] * 18,
        'foot_names': ['f_a', 'f_b', 'f_c', 'f_d', 'f_e'],
    },
    'policy': {
        # policy joint k -> wire slot, sign, offset
        'joints': [
            {'name': name, 'hardware': f'hw_{slot}', 'sign': sign, 'offset': offset}
            for name, slot, sign, offset in zip(
                GO2_NAMES,
                (17, 3, 5, 0, 11, 9, 2, 14, 6, 12, 8, 1),
                (1.0, -1.0, 1.0, -1.0, -1.0, 1.0, 1.0, -1.0, 1.0, -1.0, 1.0, 1.0),
                (0.0, 0.5, -0.25, 0.0, 1.0, 0.0, -0.5, 0.25, 0.0, -1.0, 0.0, 0.125),
            )
        ],
        'feet': ['f_d', 'f_a', 'f_e', 'f_b'],
    },
}


def scrambled_map_dict() -> dict:
    """Return a deep copy of :data:`SCRAMBLED_MAP`."""
    return copy.deepcopy(SCRAMBLED_MAP)


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def captured_logs(logger_name: str) -> Iterator[list[logging.LogRecord]]:
    """
    Collect the records of one logger.

    pytest's caplog relies on propagation to the root logger, which the
    launch_testing plugin's logger class turns off; attach to the logger itself.
    """
    handler = _ListHandler()
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)

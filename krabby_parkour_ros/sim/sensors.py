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
Ray-cast sensors of the simulated robot: height scanner and depth camera.

Both cast rays against the terrain geom group only (floor and obstacles),
never against the robot.

- :class:`HeightScanner`: vertical rays at the policy's scan points, a grid
  aligned with the base yaw (training ``attach_yaw_only``), starting 20 m
  above the base as in training; returns ``base_z - ground_z`` per point in
  the scan grid's order (x fastest).
- :class:`DepthCamera`: a pinhole camera fixed on the robot's head looking
  forward and down; returns the depth image (distance along the optical
  axis, metres, 0 where no terrain within range) and a hit mask.
"""

from __future__ import annotations

from dataclasses import dataclass
import math

import mujoco
import numpy as np

from krabby_parkour_ros.contract import ScanGrid
from krabby_parkour_ros.sim.go2_model import TERRAIN_GROUP

#: Height above the base from which the scan rays start (training offset).
SCAN_RAY_START_HEIGHT = 20.0


def terrain_group_mask() -> np.ndarray:
    """Return the MuJoCo geomgroup mask that enables the terrain group only."""
    mask = np.zeros(6, dtype=np.uint8)
    mask[TERRAIN_GROUP] = 1
    return mask


def yaw_from_quat_wxyz(quat_wxyz: np.ndarray) -> float:
    """Return the yaw (rad, ZYX Euler) of a w, x, y, z quaternion."""
    w, x, y, z = (float(v) for v in quat_wxyz)
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


class TerrainRayCaster:
    """Cast single vertical rays onto the terrain group of a model."""

    def __init__(self, model: mujoco.MjModel) -> None:
        """Keep the model; buffers are reused across casts."""
        self._model = model
        self._mask = terrain_group_mask()
        self._geomid = np.zeros(1, dtype=np.int32)
        self._down = np.array([0.0, 0.0, -1.0])
        self._point = np.zeros(3)

    def ground_z(
        self, data: mujoco.MjData, x: float, y: float, start_z: float = SCAN_RAY_START_HEIGHT
    ) -> float:
        """
        Return the terrain height under (x, y), cast down from ``start_z``.

        The floor is an infinite plane at z = 0, so a ray started above the
        terrain always hits; a miss (start below the floor) returns 0.0.
        """
        self._point[:] = (x, y, start_z)
        dist = mujoco.mj_ray(
            self._model, data, self._point, self._down, self._mask, 1, -1, self._geomid
        )
        if dist < 0.0:
            return 0.0
        return start_z - dist


class HeightScanner:
    """
    The policy's height scan: base height above the terrain at grid points.

    :param model: the compiled simulation model.
    :param grid: scan grid (points in the yaw-aligned base frame, policy order).
    """

    def __init__(self, model: mujoco.MjModel, grid: ScanGrid) -> None:
        """Precompute the grid points."""
        self._caster = TerrainRayCaster(model)
        self.grid = grid
        self.points_xy = np.array(grid.points_xy(), dtype=np.float64)

    def world_points(self, base_pos: np.ndarray, yaw: float) -> np.ndarray:
        """Return the (n, 2) world x, y of the scan points for a base pose."""
        c, s = math.cos(yaw), math.sin(yaw)
        rot = np.array([[c, -s], [s, c]])
        return base_pos[:2] + self.points_xy @ rot.T

    def measure(self, data: mujoco.MjData, base_pos: np.ndarray, yaw: float) -> np.ndarray:
        """Return ``base_z - ground_z`` (m) at every scan point, policy order."""
        start_z = float(base_pos[2]) + SCAN_RAY_START_HEIGHT
        ground = np.array(
            [
                self._caster.ground_z(data, float(x), float(y), start_z)
                for x, y in self.world_points(base_pos, yaw)
            ]
        )
        return float(base_pos[2]) - ground


@dataclass(frozen=True)
class CameraConfig:
    """
    Pinhole depth camera on the robot's head.

    :param height: image rows.
    :param width: image columns.
    :param horizontal_fov_deg: horizontal field of view (square pixels).
    :param position: optical centre in the base frame (m).
    :param pitch_down_deg: tilt of the optical axis below the base x axis.
    :param max_range: farthest depth reported (m); beyond it a pixel is a miss.
    """

    height: int = 58
    width: int = 87
    horizontal_fov_deg: float = 87.0
    position: tuple[float, float, float] = (0.33, 0.0, 0.03)
    pitch_down_deg: float = 30.0
    max_range: float = 3.0

    def __post_init__(self) -> None:
        """Check the image size, field of view and range."""
        if self.height < 1 or self.width < 1:
            raise ValueError(
                f'camera size: expected positive height and width, got {self.height}x{self.width}'
            )
        if not 0.0 < self.horizontal_fov_deg < 180.0:
            raise ValueError(
                f'horizontal_fov_deg: expected in (0, 180), got {self.horizontal_fov_deg}'
            )
        if not self.max_range > 0.0:
            raise ValueError(f'max_range: expected a positive value, got {self.max_range}')


class DepthCamera:
    """
    Depth image by ray casting (``mj_multiRay``) from the camera's centre.

    Ray ``(u, v)`` has camera-frame direction ``((u - cx) / f, (v - cy) / f, 1)``
    (x right, y down, z forward): its ray parameter at a hit is the depth
    along the optical axis directly.
    """

    def __init__(self, model: mujoco.MjModel, config: CameraConfig) -> None:
        """Precompute the ray directions in the base frame."""
        self._model = model
        self.config = config
        self._mask = terrain_group_mask()
        h, w = config.height, config.width
        focal = (w / 2.0) / math.tan(math.radians(config.horizontal_fov_deg) / 2.0)
        u, v = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
        cam = np.stack(
            [(u - (w - 1) / 2.0) / focal, (v - (h - 1) / 2.0) / focal, np.ones_like(u)], axis=-1
        ).reshape(-1, 3)
        self._dirs_base = cam @ self.camera_to_base().T
        self._geomid = np.zeros(h * w, dtype=np.int32)
        self._dist = np.zeros(h * w, dtype=np.float64)

    def camera_to_base(self) -> np.ndarray:
        """Return the rotation from the camera frame (x right, y down, z fwd) to the base."""
        pitch = math.radians(self.config.pitch_down_deg)
        c, s = math.cos(pitch), math.sin(pitch)
        right = np.array([0.0, -1.0, 0.0])
        down = np.array([-s, 0.0, -c])
        forward = np.array([c, 0.0, -s])
        return np.stack([right, down, forward], axis=1)

    def render(
        self, data: mujoco.MjData, base_pos: np.ndarray, base_rot: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """
        Return ``(depth, hit)`` for a base pose (position, 3x3 world rotation).

        ``depth`` is (H, W) float32 metres along the optical axis, 0 where
        nothing was hit within ``max_range``; ``hit`` is the (H, W) bool mask.
        """
        origin = base_pos + base_rot @ np.asarray(self.config.position)
        dirs = np.ascontiguousarray(self._dirs_base @ base_rot.T).ravel()
        n = self._geomid.size
        mujoco.mj_multiRay(
            self._model,
            data,
            origin,
            dirs,
            self._mask,
            1,
            -1,
            self._geomid,
            self._dist,
            None,
            n,
            self.config.max_range,
        )
        hit = (self._geomid >= 0) & (self._dist >= 0.0) & (self._dist <= self.config.max_range)
        depth = np.where(hit, self._dist, 0.0).astype(np.float32)
        shape = (self.config.height, self.config.width)
        return depth.reshape(shape), hit.reshape(shape)


def shade_depth(depth: np.ndarray, hit: np.ndarray, max_range: float) -> np.ndarray:
    """
    Return an (H, W, 3) uint8 grey image of a depth map.

    Near surfaces are bright, far ones dark: ``255 * (1 - depth / max_range)``;
    pixels without a hit are black.
    """
    level = np.where(hit, 255.0 * (1.0 - np.clip(depth / max_range, 0.0, 1.0)), 0.0)
    grey = level.astype(np.uint8)
    return np.repeat(grey[:, :, None], 3, axis=2)

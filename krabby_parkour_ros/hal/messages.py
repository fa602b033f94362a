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
Decoded Krabby HAL messages (schema 1.0), independent of ZeroMQ.

The codec (:mod:`krabby_parkour_ros.hal.codec`) produces these from wire
frames; the observation builder and the simulator consume and produce them.
Array fields of a decoded observation are read-only views into the received
frames (no copies of camera or depth data).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Joints on the wire: the Krabby hardware always sends 18.
JOINT_COUNT = 18
SCHEMA_VERSION = '1.0'
OBSERVATION_TOPIC = b'observation'

#: Optional proprioception keys of the observation metadata (hal-protocol.md).
EXTENSION_KEYS = (
    'imu_orientation_xyzw',
    'imu_angular_velocity',
    'joint_velocities',
    'base_linear_velocity',
    'foot_contacts',
    'height_scan',
    'base_position',
)


@dataclass(frozen=True)
class ObservationExtensions:
    """
    Optional proprioception carried as extra metadata keys.

    Each field is None when the HAL did not send the key, else a
    read-only float64 array of the documented length (finite values):
    orientation (4,) x, y, z, w (base orientation in the world frame);
    angular velocity (3,) rad/s body frame; joint velocities (18,) rad/s in
    hardware order; base linear velocity (3,) m/s body frame; foot contacts
    (n,) 0/1 in the robot's foot order; height scan (n,) metres of base
    height above the terrain at the policy's scan points, policy order;
    base position (3,) metres in the world frame (a krabby_parkour
    extension for odometry; the orientation is ``imu_orientation_xyzw``).
    """

    imu_orientation_xyzw: np.ndarray | None = None
    imu_angular_velocity: np.ndarray | None = None
    joint_velocities: np.ndarray | None = None
    base_linear_velocity: np.ndarray | None = None
    foot_contacts: np.ndarray | None = None
    height_scan: np.ndarray | None = None
    base_position: np.ndarray | None = None


@dataclass(frozen=True)
class HalObservation:
    """
    One decoded observation message (8 frames).

    :param timestamp_ns: HAL wall-clock time of the sample, nanoseconds.
    :param joint_positions: (18,) float32 radians, hardware order.
    :param rgb_camera_1: (H, W, 3) image, dtype from the metadata.
    :param rgb_camera_2: (H, W, 3) image, same shape and dtype.
    :param depth_map: (H, W) float32 metres.
    :param confidence_map: (H, W) float32.
    :param metadata: the parsed JSON metadata, unknown keys included.
    :param extensions: the optional proprioception keys, parsed and checked.
    :param receive_time_ns: local ``time.monotonic_ns()`` when the message
        was received (0 when decoded outside a client).
    """

    timestamp_ns: int
    joint_positions: np.ndarray
    rgb_camera_1: np.ndarray
    rgb_camera_2: np.ndarray
    depth_map: np.ndarray
    confidence_map: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)
    extensions: ObservationExtensions = field(default_factory=ObservationExtensions)
    receive_time_ns: int = 0


@dataclass(frozen=True)
class JointCommand:
    """
    A joint command as the deployed Krabby HAL client's code builds it.

    :meth:`~krabby_parkour_ros.hal.client.HalClient.put_joint_command`
    accepts it, so code written against that client ports by changing
    imports.

    :param joint_positions: (18,) desired positions, radians.
    :param timestamp_ns: the deployed client's one stamp; used as the
        observation stamp when ``observation_timestamp_ns`` is None.
    :param observation_timestamp_ns: ``timestamp_ns`` of the observation the
        command answers.
    """

    joint_positions: np.ndarray
    timestamp_ns: int = 0
    observation_timestamp_ns: int | None = None

    @property
    def answers(self) -> int:
        """Return the observation stamp the command answers."""
        if self.observation_timestamp_ns is not None:
            return self.observation_timestamp_ns
        return self.timestamp_ns


@dataclass(frozen=True)
class HalCommand:
    """
    One decoded command message (2 frames).

    :param timestamp_ns: client wall-clock time when the command was sent.
    :param observation_timestamp_ns: ``timestamp_ns`` of the observation
        this command answers.
    :param joint_positions: (18,) float32 desired positions, radians.
    """

    timestamp_ns: int
    observation_timestamp_ns: int
    joint_positions: np.ndarray

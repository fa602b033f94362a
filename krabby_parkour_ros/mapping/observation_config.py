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
Settings and errors of the observation builder (:mod:`krabby_parkour_ros.mapping.observation`).

:class:`ObservationConfig` holds the deployment choices (what to do when a
source is missing, terrain flags, yaw frame); the error classes say which
input or setting is wrong. Kept apart from the builder so that the settings
read without the builder's numerics.
"""

from __future__ import annotations

from dataclasses import dataclass
import math

#: Source names (the HAL extension keys) used in errors and substitutions.
SOURCE_ORIENTATION = 'imu_orientation_xyzw'
SOURCE_ANGULAR_VELOCITY = 'imu_angular_velocity'
SOURCE_JOINT_VELOCITIES = 'joint_velocities'
SOURCE_BASE_VELOCITY = 'base_linear_velocity'
SOURCE_FOOT_CONTACTS = 'foot_contacts'
SOURCE_HEIGHT_SCAN = 'height_scan'

MISSING_IMU_POLICIES = ('refuse', 'assume_level')
MISSING_JOINT_VELOCITY_POLICIES = ('finite_difference', 'refuse')
MISSING_FOOT_CONTACT_POLICIES = ('refuse', 'assume_stance')
MISSING_HEIGHT_SCAN_POLICIES = ('refuse', 'flat_ground')
MISSING_BASE_VELOCITY_POLICIES = ('estimator', 'refuse')
YAW_FRAMES = ('reset', 'world')
#: Base height (m) above flat ground of the Go2 standing in the default pose
#: (thigh 0.213 m, calf 0.213 m, foot radius 0.022 m at thigh 0.8-1.0 rad and
#: calf -1.5 rad: about 0.33 m). Used by the 'flat_ground' scan substitute.
DEFAULT_FLAT_GROUND_HEIGHT = 0.33


class ObservationError(ValueError):
    """An observation cannot be built from the given inputs."""


class MissingInputError(ObservationError):
    """
    A required source is absent and its policy is 'refuse'.

    :ivar source: the missing source (HAL extension key).
    """

    def __init__(self, source: str, setting: str, alternative: str) -> None:
        self.source = source
        super().__init__(
            f'{source}: required but absent from the HAL observation ({setting} is '
            f"'refuse'; the substitute '{alternative}' is available, see "
            'docs/observation.md)'
        )


class ObservationInputError(ObservationError):
    """
    An input has the wrong length or non-finite values.

    :ivar field: the input (HAL field or extension key).
    :ivar expected: what was expected.
    :ivar actual: what arrived.
    """

    def __init__(self, field: str, expected: str, actual: str) -> None:
        self.field = field
        self.expected = expected
        self.actual = actual
        super().__init__(f'{field}: expected {expected}, got {actual}')


class ObservationConfigError(ValueError):
    """An :class:`ObservationConfig` or builder setup is invalid."""


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ObservationConfigError(f'{name}: expected one of {list(allowed)}, got {value!r}')


@dataclass(frozen=True)
class ObservationConfig:
    """
    Deployment choices of the observation builder (``docs/observation.md``).

    :param terrain_flags: proprio 11 and 12: (1, 0) 'parkour' (default, safe
        everywhere) or (0, 1) 'walk' (flat ground, calmer).
    :param missing_imu: 'refuse' or 'assume_level' (roll = pitch = 0, on
        heading, angular velocity 0) when an IMU key is absent.
    :param missing_joint_velocities: 'finite_difference' (default) or 'refuse'.
    :param missing_foot_contacts: 'refuse' or 'assume_stance' (all feet down).
    :param missing_height_scan: 'refuse' or 'flat_ground' (every point at
        ``flat_ground_height`` below the base).
    :param missing_base_velocity: 'estimator' (default: priv_explicit left 0
        and :attr:`ObservationBuilder.base_velocity_measured` False, so the
        policy's estimator fills it) or 'refuse'.
    :param flat_ground_height: base height above the ground (m) used by the
        'flat_ground' substitute.
    :param yaw_frame: 'reset' (default): the delta yaw is computed with yaws
        measured from the heading at the last reset, as in training where
        every episode starts facing +x; 'world': with the IMU's yaw as is
        (an arbitrary origin can put the +-pi seam next to the heading).
    :param max_heading_lead: when set (rad), the heading target is kept at
        most this far from the measured yaw, so a robot that cannot follow a
        yaw-rate command does not accumulate a huge delta yaw. None keeps the
        plain integration.
    """

    terrain_flags: tuple[float, float] = (1.0, 0.0)
    missing_imu: str = 'refuse'
    missing_joint_velocities: str = 'finite_difference'
    missing_foot_contacts: str = 'refuse'
    missing_height_scan: str = 'refuse'
    missing_base_velocity: str = 'estimator'
    flat_ground_height: float = DEFAULT_FLAT_GROUND_HEIGHT
    yaw_frame: str = 'reset'
    max_heading_lead: float | None = None

    def __post_init__(self) -> None:
        """Validate every field."""
        try:
            flags = tuple(float(f) for f in self.terrain_flags)
        except (TypeError, ValueError):
            raise ObservationConfigError(
                f'terrain_flags: expected two numbers, got {self.terrain_flags!r}'
            ) from None
        if len(flags) != 2 or not all(math.isfinite(f) for f in flags):
            raise ObservationConfigError(
                f'terrain_flags: expected two finite numbers, got {self.terrain_flags!r}'
            )
        object.__setattr__(self, 'terrain_flags', flags)
        _check_choice('missing_imu', self.missing_imu, MISSING_IMU_POLICIES)
        _check_choice(
            'missing_joint_velocities',
            self.missing_joint_velocities,
            MISSING_JOINT_VELOCITY_POLICIES,
        )
        _check_choice(
            'missing_foot_contacts', self.missing_foot_contacts, MISSING_FOOT_CONTACT_POLICIES
        )
        _check_choice(
            'missing_height_scan', self.missing_height_scan, MISSING_HEIGHT_SCAN_POLICIES
        )
        _check_choice(
            'missing_base_velocity', self.missing_base_velocity, MISSING_BASE_VELOCITY_POLICIES
        )
        _check_choice('yaw_frame', self.yaw_frame, YAW_FRAMES)
        height = self.flat_ground_height
        if (
            isinstance(height, bool)
            or not isinstance(height, (int, float))
            or not (math.isfinite(height) and height > 0.0)
        ):
            raise ObservationConfigError(
                f'flat_ground_height: expected a finite height > 0 m, got {height!r}'
            )
        lead = self.max_heading_lead
        if lead is not None and (
            isinstance(lead, bool)
            or not isinstance(lead, (int, float))
            or not (math.isfinite(lead) and 0.0 < lead <= math.pi)
        ):
            raise ObservationConfigError(
                f'max_heading_lead: expected None or a number in (0, pi], got {lead!r}'
            )

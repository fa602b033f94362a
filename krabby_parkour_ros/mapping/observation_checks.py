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
The inputs of one observation build, checked before anything changes.

:class:`InputCheck` reads the sources of a
:class:`~krabby_parkour_ros.hal.messages.HalObservation` (lengths,
finiteness, a unit quaternion) and applies the
:class:`~krabby_parkour_ros.mapping.observation_config.ObservationConfig`'s
refusals, so that a build that fails leaves the builder as if it never
happened (``docs/observation.md``, "Sources and what happens when one is
missing").
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from krabby_parkour_ros.contract import FILL_RULE_EXTREME_PARKOUR, PolicyContract
from krabby_parkour_ros.finite import all_finite
from krabby_parkour_ros.hal.messages import HalObservation, JOINT_COUNT
from krabby_parkour_ros.mapping.checks import non_finite_indices
from krabby_parkour_ros.mapping.observation_config import (
    MissingInputError,
    ObservationConfig,
    ObservationConfigError,
    ObservationInputError,
    SOURCE_ANGULAR_VELOCITY,
    SOURCE_BASE_VELOCITY,
    SOURCE_FOOT_CONTACTS,
    SOURCE_HEIGHT_SCAN,
    SOURCE_JOINT_VELOCITIES,
    SOURCE_ORIENTATION,
)

#: Allowed deviation of the orientation quaternion's norm from 1.
QUATERNION_NORM_TOLERANCE = 0.1
#: Proprio slots before the joint terms: ang vel (3), roll, pitch, 0, delta
#: yaw, delta next yaw, 0, 0, vx, two terrain flags.
PROPRIO_HEAD = 13


def check_contract(contract: PolicyContract) -> None:
    """
    Check that the observation builder implements ``contract``'s layout.

    :raises ObservationConfigError: listing every difference.
    """
    layout = contract.layout
    n = contract.action_dim
    feet = len(contract.foot_names)
    problems: list[str] = []
    if layout.proprio != PROPRIO_HEAD + 3 * n + feet:
        problems.append(
            f'layout.proprio: expected {PROPRIO_HEAD} + 3 * {n} joints + '
            f'{feet} feet = {PROPRIO_HEAD + 3 * n + feet}, got {layout.proprio}'
        )
    if layout.scan != contract.scan_grid.size:
        problems.append(
            f'layout.scan: expected the scan grid size '
            f'{contract.scan_grid.size}, got {layout.scan}'
        )
    if layout.priv_explicit < 3:
        problems.append(
            f'layout.priv_explicit: expected >= 3 (base velocity), got {layout.priv_explicit}'
        )
    if layout.history_length < 1:
        problems.append(f'layout.history_length: expected >= 1, got {layout.history_length}')
    if contract.history_fill_rule != FILL_RULE_EXTREME_PARKOUR:
        problems.append(
            f'history_fill_rule: expected {FILL_RULE_EXTREME_PARKOUR!r}, got '
            f'{contract.history_fill_rule!r}'
        )
    if int(contract.scan_refresh_steps) < 1:
        problems.append(f'scan_refresh_steps: expected >= 1, got {contract.scan_refresh_steps}')
    if len(contract.default_joint_positions) != n:
        problems.append(
            f'default_joint_positions: expected {n} values, got '
            f'{len(contract.default_joint_positions)}'
        )
    if not contract.policy_period > 0.0:
        problems.append(f'policy_period: expected > 0 s, got {contract.policy_period}')
    if problems:
        raise ObservationConfigError(
            f'contract {contract.name!r} does not fit the extreme-parkour observation '
            'builder: ' + '; '.join(problems)
        )


class ObservationInputs(NamedTuple):
    """The checked sources of one build (wire order); None: absent, substitute."""

    joint_positions: np.ndarray
    orientation: np.ndarray | None
    angular_velocity: np.ndarray | None
    joint_velocities: np.ndarray | None
    base_velocity: np.ndarray | None
    foot_contacts: np.ndarray | None
    height_scan: np.ndarray | None


class InputCheck:
    """
    Validate the sources of HAL observations against a configuration.

    :param config: what to refuse when a source is absent.
    :param foot_count: length of the wire's ``foot_contacts``.
    :param scan_size: length of ``height_scan``.
    """

    def __init__(self, config: ObservationConfig, foot_count: int, scan_size: int) -> None:
        self._config = config
        self._foot_count = foot_count
        self._scan_size = scan_size

    def __call__(
        self, observation: HalObservation, refresh: bool, previous_timestamp_ns: int | None
    ) -> ObservationInputs:
        """
        Return the checked sources of ``observation``.

        :param refresh: this build refreshes the scan (else it is not needed).
        :param previous_timestamp_ns: the timestamp of the previous build's
            joint positions when velocities are finite differences, else None.
        :raises MissingInputError: an absent source is refused by the config.
        :raises ObservationInputError: a wrong length, non-finite values, a
            quaternion that is not a unit one, or time going backwards.
        """
        ext = observation.extensions
        inputs = ObservationInputs(
            self.checked(observation.joint_positions, 'joint_positions', JOINT_COUNT),
            self.optional(ext.imu_orientation_xyzw, SOURCE_ORIENTATION, 4),
            self.optional(ext.imu_angular_velocity, SOURCE_ANGULAR_VELOCITY, 3),
            self.optional(ext.joint_velocities, SOURCE_JOINT_VELOCITIES, JOINT_COUNT),
            self.optional(ext.base_linear_velocity, SOURCE_BASE_VELOCITY, 3),
            self.optional(ext.foot_contacts, SOURCE_FOOT_CONTACTS, self._foot_count),
            self.optional(ext.height_scan, SOURCE_HEIGHT_SCAN, self._scan_size),
        )
        if inputs.orientation is not None:
            _check_unit_quaternion(inputs.orientation)
        self._refuse_missing(inputs, refresh, observation.timestamp_ns, previous_timestamp_ns)
        return inputs

    def _refuse_missing(
        self,
        inputs: ObservationInputs,
        refresh: bool,
        timestamp_ns: int,
        previous_timestamp_ns: int | None,
    ) -> None:
        cfg = self._config
        if cfg.missing_imu == 'refuse':
            if inputs.orientation is None:
                raise MissingInputError(SOURCE_ORIENTATION, 'missing_imu', 'assume_level')
            if inputs.angular_velocity is None:
                raise MissingInputError(SOURCE_ANGULAR_VELOCITY, 'missing_imu', 'assume_level')
        if inputs.joint_velocities is None:
            if cfg.missing_joint_velocities == 'refuse':
                raise MissingInputError(
                    SOURCE_JOINT_VELOCITIES, 'missing_joint_velocities', 'finite_difference'
                )
            if previous_timestamp_ns is not None and timestamp_ns < previous_timestamp_ns:
                raise ObservationInputError(
                    'timestamp_ns',
                    f'>= the previous timestamp {previous_timestamp_ns} '
                    '(joint velocities are finite differences)',
                    str(timestamp_ns),
                )
        if inputs.base_velocity is None and cfg.missing_base_velocity == 'refuse':
            raise MissingInputError(SOURCE_BASE_VELOCITY, 'missing_base_velocity', 'estimator')
        if inputs.foot_contacts is None and cfg.missing_foot_contacts == 'refuse':
            raise MissingInputError(SOURCE_FOOT_CONTACTS, 'missing_foot_contacts', 'assume_stance')
        # The scan is only read on refresh steps (training's sub-rate).
        if inputs.height_scan is None and cfg.missing_height_scan == 'refuse' and refresh:
            raise MissingInputError(SOURCE_HEIGHT_SCAN, 'missing_height_scan', 'flat_ground')

    def optional(self, value: npt.ArrayLike | None, field: str, length: int) -> np.ndarray | None:
        """
        Return ``value`` as an array of ``length`` finite numbers; None when absent.

        :raises ObservationInputError: wrong shape or non-finite values.
        """
        if value is None:
            return None
        array = value if isinstance(value, np.ndarray) else np.asarray(value, np.float64)
        if array.shape != (length,):
            raise ObservationInputError(field, f'shape ({length},)', f'shape {array.shape}')
        if not all_finite(array):
            raise ObservationInputError(
                field, 'finite values', f'non-finite values at indices {non_finite_indices(array)}'
            )
        return array

    def checked(self, value: npt.ArrayLike, field: str, length: int) -> np.ndarray:
        """Return :meth:`optional` ``value`` for a required input (None is refused)."""
        array = self.optional(value, field, length)
        if array is None:
            raise ObservationInputError(field, f'shape ({length},)', 'None')
        return array


def _check_unit_quaternion(orientation: np.ndarray) -> None:
    norm = math.sqrt(float(np.dot(orientation, orientation)))
    if abs(norm - 1.0) > QUATERNION_NORM_TOLERANCE:
        raise ObservationInputError(
            SOURCE_ORIENTATION,
            f'a unit quaternion (x, y, z, w), norm within {QUATERNION_NORM_TOLERANCE} of 1',
            f'norm {norm:.6g}',
        )

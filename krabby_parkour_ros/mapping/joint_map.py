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
Where each policy joint and foot lives on the 18-joint hardware wire.

A joint map is configuration (``config/joint_maps/<name>.yaml``), never
code: joint order is the most common deployment bug. The map says, for each
policy joint in policy order, which hardware slot carries it and how its
angle convention differs::

    q_policy  = sign * q_hw + offset        (sign is +1 or -1)
    qd_policy = sign * qd_hw
    q_hw      = sign * (q_policy - offset)  (commands)

Hardware joints that no policy joint drives hold ``hold_position``.

Two kinds of limit, kept apart on purpose:

- ``target_lower`` / ``target_upper``: the **target limits**. Every command
  the node sends lies inside them, in every mode (the action mapper clamps
  policy targets to them and counts each clamp per joint; the HAL client
  enforces them again at the wire). Training clamped no target (its
  actuators limit torque only), so every clamp is a departure from training:
  a simulator map sets them wide enough that nothing the policy can ask for
  is clamped; a hardware map sets them where the hardware must never be
  commanded.
- ``position_lower`` / ``position_upper`` (optional; default: the target
  limits): the joints' **position ranges** (the robot description). A
  measured pose further than ``activation_margin`` outside them is a sensor
  or calibration fault: the controller refuses to activate from it.

``soft_lower`` / ``soft_upper`` (the old names of the target limits) are
still read, with a warning. The policy's feet (contact terms) are taken from
the wire's ``foot_contacts`` by name.

File format (YAML)::

    name: go2_sim
    hardware:
      joint_names: [18 unique names, wire order]
      target_lower: [18 rad]       # every command is clamped into
      target_upper: [18 rad]       #   [target_lower, target_upper]
      position_lower: [18 rad]     # optional: joint ranges (activation check)
      position_upper: [18 rad]
      hold_position: [18 rad, inside the target limits]
      foot_names: [names, order of the foot_contacts extension key]
    policy:
      joints:        # one per policy joint, in policy order
        - {name: FL_hip, hardware: FL_hip_joint, sign: 1.0, offset: 0.0}
      feet: [hardware foot names, in the policy's foot order]

``hardware`` may also be a slot index (0-17). :meth:`JointMap.validate_against`
checks a map against a :class:`~krabby_parkour_ros.contract.PolicyContract`
(same joints in the same order, foot count, default pose inside the target
limits); run it at start-up.

Length: about 740 lines, beyond the usual ~450. One concept: the YAML schema, its checks
(one specific error per mistake) and the policy/hardware index arithmetic of a joint map.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
import logging
import math
import os
from pathlib import Path
import re
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from krabby_parkour_ros.contract import PolicyContract
from krabby_parkour_ros.hal.messages import JOINT_COUNT
from krabby_parkour_ros.mapping.joint_order import joint_order_problems

#: ROS package whose share directory holds the installed joint maps.
PACKAGE_NAME = 'krabby_parkour'
#: Joint maps shipped with the package (``config/joint_maps/<name>.yaml``).
SHIPPED_JOINT_MAPS = ('go2_sim', 'krabby')
_NAME_PATTERN = re.compile(r'^[A-Za-z0-9_\-]+$')
#: Slack (rad) when checking that poses lie inside the target limits, so that
#: limits written with 5 decimals still accept a pose on their boundary.
LIMIT_TOLERANCE = 1e-9
#: The limit arrays of the file format (wire order, radians).
_LIMIT_KEYS = ('target_lower', 'target_upper', 'position_lower', 'position_upper')
#: Old names of the target limits, still read (with a warning).
_LEGACY_KEYS = {'soft_lower': 'target_lower', 'soft_upper': 'target_upper'}

_LOG = logging.getLogger(__name__)


class JointMapError(ValueError):
    """
    A joint map is malformed or does not fit a policy contract.

    :ivar problems: every problem found, one readable line each.
    """

    def __init__(self, where: str, problems: Sequence[str]) -> None:
        self.where = where
        self.problems = tuple(problems)
        lines = '\n'.join(f'  - {p}' for p in self.problems)
        super().__init__(f'invalid joint map {where}: {len(self.problems)} problem(s)\n{lines}')


def _readonly(values: Iterable[Any], dtype: Any) -> np.ndarray:
    array = np.array(values, dtype=dtype)
    array.setflags(write=False)
    return array


def _duplicates(items: Sequence[Any]) -> list[Any]:
    seen, dups = set(), []
    for item in items:
        if item in seen and item not in dups:
            dups.append(item)
        seen.add(item)
    return dups


@dataclass(frozen=True, eq=False)
class JointMap:
    """
    A validated mapping between policy joints/feet and the hardware wire.

    Construct it with :meth:`from_yaml`, :meth:`from_dict` or
    :func:`load_joint_map`; the constructor validates everything and stores
    read-only arrays.

    :param name: a label for messages and logs.
    :param hardware_joint_names: the 18 wire joint names, wire order.
    :param policy_joint_names: policy joint names, policy order.
    :param hardware_index: per policy joint, its wire slot (0-17).
    :param sign: per policy joint, +1 or -1.
    :param offset: per policy joint, radians.
    :param target_lower: (18,) lower target limits, wire order, radians.
    :param target_upper: (18,) upper target limits, wire order, radians.
    :param hold_position: (18,) targets of undriven joints, radians.
    :param hardware_foot_names: foot names in the wire's ``foot_contacts`` order.
    :param policy_foot_index: per policy foot, index into ``foot_contacts``.
    :param position_lower: (18,) lower joint position ranges; None: the
        target limits.
    :param position_upper: (18,) upper joint position ranges; None: the
        target limits.
    :param source: where the map came from (file path), for messages.
    """

    name: str
    hardware_joint_names: tuple[str, ...]
    policy_joint_names: tuple[str, ...]
    hardware_index: np.ndarray
    sign: np.ndarray
    offset: np.ndarray
    target_lower: np.ndarray
    target_upper: np.ndarray
    hold_position: np.ndarray
    hardware_foot_names: tuple[str, ...]
    policy_foot_index: np.ndarray
    position_lower: np.ndarray | None = None
    position_upper: np.ndarray | None = None
    source: str = ''
    #: (18,) True where a policy joint drives the wire slot; set by ``__post_init__``.
    driven_mask: np.ndarray = field(init=False, repr=False)
    #: Contracts this map was checked against (by identity): the runtime, the
    #: observation builder and the action mapper each ask, the check runs once.
    _fits: list[PolicyContract] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        """Validate every field and freeze the arrays."""
        set_ = object.__setattr__
        set_(self, 'hardware_joint_names', tuple(self.hardware_joint_names))
        set_(self, 'policy_joint_names', tuple(self.policy_joint_names))
        set_(self, 'hardware_foot_names', tuple(self.hardware_foot_names))
        problems: list[str] = []
        arrays = {}
        if self.position_lower is None:
            set_(self, 'position_lower', self.target_lower)
        if self.position_upper is None:
            set_(self, 'position_upper', self.target_upper)
        for field_name, dtype in (
            ('hardware_index', np.int64),
            ('sign', np.float64),
            ('offset', np.float64),
            ('target_lower', np.float64),
            ('target_upper', np.float64),
            ('hold_position', np.float64),
            ('position_lower', np.float64),
            ('position_upper', np.float64),
            ('policy_foot_index', np.int64),
        ):
            try:
                arrays[field_name] = _readonly(getattr(self, field_name), dtype)
            except (TypeError, ValueError) as exc:
                problems.append(
                    f'{field_name}: expected numbers, got {getattr(self, field_name)!r} ({exc})'
                )
        if problems:
            raise JointMapError(self._where(), problems)
        for field_name, array in arrays.items():
            set_(self, field_name, array)
        problems.extend(self._check_hardware())
        problems.extend(self._check_policy())
        problems.extend(self._check_feet())
        if problems:
            raise JointMapError(self._where(), problems)
        driven = np.zeros(JOINT_COUNT, dtype=bool)
        driven[self.hardware_index] = True
        driven.setflags(write=False)
        set_(self, 'driven_mask', driven)

    # -- validation ------------------------------------------------------------------------

    def _where(self) -> str:
        return repr(self.name) + (f' ({self.source})' if self.source else '')

    def _check_hardware(self) -> list[str]:
        names = self.hardware_joint_names
        problems = _hardware_name_problems(names)
        lengths_ok = True
        for field_name in (
            'target_lower',
            'target_upper',
            'position_lower',
            'position_upper',
            'hold_position',
        ):
            array = getattr(self, field_name)
            if array.shape != (JOINT_COUNT,):
                problems.append(
                    f'hardware.{field_name}: expected {JOINT_COUNT} values, '
                    f'got shape {array.shape}'
                )
                lengths_ok = False
            elif not np.all(np.isfinite(array)):
                bad = [
                    names[i] if i < len(names) else i for i in np.flatnonzero(~np.isfinite(array))
                ]
                problems.append(f'hardware.{field_name}: non-finite values at {bad}')
                lengths_ok = False
        if not lengths_ok:
            return problems
        position_lower, position_upper = self._position_range()
        for i in range(JOINT_COUNT):
            label = names[i] if i < len(names) else f'slot {i}'
            lower, upper, hold = (
                self.target_lower[i],
                self.target_upper[i],
                self.hold_position[i],
            )
            if position_lower[i] > position_upper[i] and (
                position_lower[i],
                position_upper[i],
            ) != (lower, upper):
                problems.append(
                    f'hardware position range of {label}: lower '
                    f'{position_lower[i]} > upper {position_upper[i]}'
                )
            if lower > upper:
                problems.append(
                    f'hardware target limits of {label}: lower {lower} > upper {upper}'
                )
            elif not (lower - LIMIT_TOLERANCE <= hold <= upper + LIMIT_TOLERANCE):
                problems.append(
                    f'hardware.hold_position of {label}: {hold} is outside its '
                    f'target limits [{lower}, {upper}]'
                )
        return problems

    def _check_policy(self) -> list[str]:
        problems: list[str] = []
        names = self.policy_joint_names
        count = len(names)
        if count == 0:
            problems.append('policy.joints: expected at least one joint, got none')
        if count > JOINT_COUNT:
            problems.append(
                f'policy.joints: at most {JOINT_COUNT} joints fit the wire, got {count}'
            )
        if any(not isinstance(n, str) or not n for n in names):
            problems.append(f'policy.joints: names must be non-empty strings, got {names!r}')
        dups = _duplicates(names)
        if dups:
            problems.append(f'policy.joints: duplicate policy joint names {dups}')
        for field_name in ('hardware_index', 'sign', 'offset'):
            array = getattr(self, field_name)
            if array.shape != (count,):
                problems.append(
                    f'{field_name}: expected one value per policy joint '
                    f'({count}), got shape {array.shape}'
                )
        if problems:
            return problems
        for j, name in enumerate(names):
            index = int(self.hardware_index[j])
            if not 0 <= index < JOINT_COUNT:
                problems.append(
                    f'policy joint {name}: hardware slot {index} is out of range '
                    f'0..{JOINT_COUNT - 1}'
                )
            sign = self.sign[j]
            if sign not in (1.0, -1.0):
                problems.append(f'policy joint {name}: sign must be +1 or -1, got {sign}')
            if not math.isfinite(self.offset[j]):
                problems.append(
                    f'policy joint {name}: offset must be finite, got {self.offset[j]}'
                )
        slots = [int(i) for i in self.hardware_index]
        for slot in _duplicates(slots):
            users = [names[j] for j, s in enumerate(slots) if s == slot]
            label = (
                self.hardware_joint_names[slot]
                if 0 <= slot < len(self.hardware_joint_names)
                else f'slot {slot}'
            )
            problems.append(
                f'hardware joint {label} is the target of several policy joints {users}'
            )
        return problems

    def _check_feet(self) -> list[str]:
        problems: list[str] = []
        feet = self.hardware_foot_names
        if any(not isinstance(n, str) or not n for n in feet):
            problems.append(f'hardware.foot_names: expected non-empty strings, got {feet!r}')
        dups = _duplicates(feet)
        if dups:
            problems.append(f'hardware.foot_names: duplicate names {dups}')
        index = self.policy_foot_index
        if index.ndim != 1:
            problems.append(f'policy.feet: expected a list, got shape {index.shape}')
            return problems
        for k, i in enumerate(index):
            if not 0 <= int(i) < len(feet):
                problems.append(
                    f'policy.feet[{k}]: foot index {int(i)} is out of range 0..{len(feet) - 1}'
                )
        dups_idx = _duplicates([int(i) for i in index])
        if dups_idx:
            problems.append(
                'policy.feet: the same hardware foot is used twice: '
                f'{[feet[i] for i in dups_idx if 0 <= i < len(feet)]}'
            )
        return problems

    def _position_range(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the position ranges; an unset one is the target limits (as documented)."""
        lower = self.target_lower if self.position_lower is None else self.position_lower
        upper = self.target_upper if self.position_upper is None else self.position_upper
        return lower, upper

    # -- construction ----------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = '') -> JointMap:
        """
        Build and validate a map from its YAML structure.

        :raises JointMapError: listing every problem found.
        """
        where = (repr(data.get('name', '?')) if isinstance(data, Mapping) else '?') + (
            f' ({source})' if source else ''
        )
        if not isinstance(data, Mapping):
            raise JointMapError(
                where, [f'expected a mapping at the top level, got {type(data).__name__}']
            )
        problems: list[str] = []
        hardware = _section(data, 'hardware', problems)
        policy = _section(data, 'policy', problems)
        if problems:
            raise JointMapError(where, problems)
        hardware = _renamed_limit_keys(hardware, where, problems)
        hw_names = _list(hardware, 'hardware', 'joint_names', problems)
        lists: dict[str, list[Any] | None] = {
            key: _list(hardware, 'hardware', key, problems)
            for key in ('target_lower', 'target_upper', 'hold_position', 'foot_names')
        }
        for key in ('position_lower', 'position_upper'):
            lists[key] = _list(hardware, 'hardware', key, problems) if key in hardware else None
        joints = _list(policy, 'policy', 'joints', problems)
        feet = _list(policy, 'policy', 'feet', problems)
        if problems:
            raise JointMapError(where, problems)
        for key in _LIMIT_KEYS + ('hold_position',):
            given = lists[key]
            if given is not None:
                lists[key] = _numbers(given, f'hardware.{key}', problems)
        names, index, sign, offset = _parse_joints(joints, hw_names, problems)
        foot_names = [str(f) for f in lists['foot_names'] or ()]
        foot_index: list[int] = []
        for k, foot in enumerate(feet):
            if foot not in foot_names:
                problems.append(
                    f'policy.feet[{k}]: unknown foot {foot!r}; hardware.foot_names '
                    f'are {foot_names}'
                )
            else:
                foot_index.append(foot_names.index(foot))
        if problems:
            # Structural problems of the wire names explain most lookup failures.
            raise JointMapError(where, _hardware_name_problems(hw_names) + problems)
        return cls(
            name=str(data.get('name', Path(source).stem if source else 'unnamed')),
            hardware_joint_names=tuple(str(n) for n in hw_names),
            policy_joint_names=tuple(names),
            hardware_index=np.asarray(index, dtype=np.int64),
            sign=np.asarray(sign, dtype=np.float64),
            offset=np.asarray(offset, dtype=np.float64),
            target_lower=_float_array(lists['target_lower']),
            target_upper=_float_array(lists['target_upper']),
            hold_position=_float_array(lists['hold_position']),
            hardware_foot_names=tuple(foot_names),
            policy_foot_index=np.asarray(foot_index, dtype=np.int64),
            position_lower=_optional_float_array(lists['position_lower']),
            position_upper=_optional_float_array(lists['position_upper']),
            source=source,
        )

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> JointMap:
        """
        Read and validate a joint map file.

        :raises JointMapError: the file is missing, not YAML, or invalid.
        """
        file = Path(path)
        try:
            text = file.read_text(encoding='utf-8')
        except OSError as exc:
            raise JointMapError(f'({file})', [f'cannot read the file: {exc}']) from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise JointMapError(f'({file})', [f'not valid YAML: {exc}']) from None
        return cls.from_dict(data, source=str(file))

    # -- use -------------------------------------------------------------------------------

    @property
    def policy_joint_count(self) -> int:
        """Return the number of policy joints."""
        return len(self.policy_joint_names)

    @property
    def policy_foot_names(self) -> tuple[str, ...]:
        """Return the hardware foot name of each policy foot, policy order."""
        return tuple(self.hardware_foot_names[int(i)] for i in self.policy_foot_index)

    def hardware_from_policy(self, q_policy: npt.ArrayLike) -> np.ndarray:
        """
        Return (18,) hardware targets for policy positions; undriven joints hold.

        Not clamped to the target limits (the action mapper does that).
        """
        q = np.asarray(q_policy, dtype=np.float64)
        if q.shape != (self.policy_joint_count,):
            raise JointMapError(
                self._where(),
                [
                    f'hardware_from_policy: expected {self.policy_joint_count} policy '
                    f'positions, got shape {q.shape}'
                ],
            )
        out = np.array(self.hold_position, dtype=np.float64)
        out[self.hardware_index] = self.sign * (q - self.offset)
        return out

    def implausible_positions(self, q_hw: npt.ArrayLike, margin: float) -> list[str]:
        """
        Return why a measured (18,) hardware pose cannot be true, one line per joint.

        A position is implausible when it is non-finite or further than
        ``margin`` (rad) outside the joint's position range: a sensor,
        calibration or wiring fault, never a pose to ramp from.
        """
        q = np.asarray(q_hw, dtype=np.float64).reshape(-1)
        if q.shape != (JOINT_COUNT,):
            return [f'expected {JOINT_COUNT} joint positions, got {q.shape[0]}']
        position_lower, position_upper = self._position_range()
        out = []
        for i in range(JOINT_COUNT):
            value = q[i]
            lower = position_lower[i] - margin
            upper = position_upper[i] + margin
            if not math.isfinite(value) or not lower <= value <= upper:
                out.append(
                    f'{self.hardware_joint_names[i]} measured at {value:.6g} rad, '
                    f'outside its position range [{position_lower[i]:.6g}, '
                    f'{position_upper[i]:.6g}] by more than {margin:g} rad'
                )
        return out

    def policy_from_hardware(self, q_hw: npt.ArrayLike) -> np.ndarray:
        """Return policy-order positions from (18,) hardware positions."""
        q = np.asarray(q_hw, dtype=np.float64)
        if q.shape != (JOINT_COUNT,):
            raise JointMapError(
                self._where(),
                [
                    f'policy_from_hardware: expected {JOINT_COUNT} hardware positions, '
                    f'got shape {q.shape}'
                ],
            )
        result: np.ndarray = self.sign * q[self.hardware_index] + self.offset
        return result

    def validate_against(self, contract: PolicyContract) -> None:
        """
        Check that this map fits a policy contract; run it at start-up.

        A contract that passed once (the same object) is not checked again.

        Checks: the policy joints are exactly the contract's, in the contract's
        order; one policy foot per contract foot; the contract's default pose
        maps to hardware targets inside the target limits.

        :raises JointMapError: listing every mismatch.
        """
        if any(fitted is contract for fitted in self._fits):
            return
        problems = joint_order_problems(contract, self.policy_joint_names, 'policy.joints')
        if len(self.policy_foot_index) != len(contract.foot_names):
            problems.append(
                f'policy.feet: expected {len(contract.foot_names)} feet (contract '
                f'order {list(contract.foot_names)}), got '
                f'{len(self.policy_foot_index)}'
            )
        if not problems:
            default = self.hardware_from_policy(contract.default_joint_positions)
            for i in np.flatnonzero(self.driven_mask):
                lower, upper = self.target_lower[i], self.target_upper[i]
                if not lower - LIMIT_TOLERANCE <= default[i] <= upper + LIMIT_TOLERANCE:
                    problems.append(
                        f'default pose of contract {contract.name!r} puts hardware joint '
                        f'{self.hardware_joint_names[i]} at {default[i]:.6g} rad, outside its '
                        f'target limits [{lower}, {upper}] (check sign/offset)'
                    )
        if problems:
            raise JointMapError(self._where(), problems)
        self._fits.append(contract)


def _hardware_name_problems(names: Sequence[Any]) -> list[str]:
    problems: list[str] = []
    if len(names) != JOINT_COUNT:
        problems.append(
            f'hardware.joint_names: expected {JOINT_COUNT} names (the wire '
            f'always carries {JOINT_COUNT}), got {len(names)}'
        )
    if any(not isinstance(n, str) or not n for n in names):
        problems.append(f'hardware.joint_names: expected non-empty strings, got {names!r}')
    dups = _duplicates(names)
    if dups:
        problems.append(f'hardware.joint_names: duplicate names {dups}')
    return problems


def _renamed_limit_keys(
    hardware: Mapping[str, Any], where: str, problems: list[str]
) -> Mapping[str, Any]:
    """Return ``hardware`` with the legacy ``soft_*`` keys read as ``target_*``."""
    out = dict(hardware)
    for old, new in _LEGACY_KEYS.items():
        if old not in out:
            continue
        if new in out:
            problems.append(
                f'hardware: both {old} and {new} given; {old} is the old name '
                f'of {new}: keep only {new}'
            )
            continue
        _LOG.warning(
            'joint map %s: hardware.%s is the old name of hardware.%s (the target '
            'limits every command is clamped into): rename it',
            where,
            old,
            new,
        )
        out[new] = out.pop(old)
    return out


def _section(data: Mapping[str, Any], key: str, problems: list[str]) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        problems.append(f'{key}: expected a mapping, got {type(value).__name__}')
        return {}
    return value


def _list(section: Mapping[str, Any], prefix: str, key: str, problems: list[str]) -> list:
    value = section.get(key)
    if not isinstance(value, (list, tuple)):
        problems.append(
            f'{prefix}.{key}: expected a list, got '
            f'{"nothing" if value is None else type(value).__name__}'
        )
        return []
    return list(value)


def _numbers(values: list, label: str, problems: list[str]) -> list[float]:
    out = []
    for k, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f'{label}[{k}]: expected a number, got {value!r}')
            out.append(math.nan)
        else:
            out.append(float(value))
    return out


def _float_array(values: list[Any] | None) -> np.ndarray:
    """Return a required limit list of the file as an array (``_list`` gives ``[]`` if absent)."""
    return np.asarray(values if values is not None else [], dtype=np.float64)


def _optional_float_array(values: list[Any] | None) -> np.ndarray | None:
    """Return an optional limit list of the file as an array, None when absent."""
    return None if values is None else np.asarray(values, dtype=np.float64)


def _parse_joints(
    joints: list, hw_names: list, problems: list[str]
) -> tuple[list[str], list[int], list[float], list[float]]:
    names: list[str] = []
    index: list[int] = []
    sign: list[float] = []
    offset: list[float] = []
    for k, entry in enumerate(joints):
        label = f'policy.joints[{k}]'
        if not isinstance(entry, Mapping):
            problems.append(
                f'{label}: expected a mapping {{name, hardware, sign, offset}}, got {entry!r}'
            )
            continue
        unknown = sorted(set(entry) - {'name', 'hardware', 'sign', 'offset'})
        if unknown:
            problems.append(f'{label}: unknown keys {unknown}')
        if 'name' not in entry or 'hardware' not in entry:
            problems.append(f'{label}: "name" and "hardware" are required, got {dict(entry)}')
            continue
        name = str(entry['name'])
        label = f'{label} ({name})'
        slot = _slot(entry['hardware'], hw_names, label, problems)
        values = _numbers(
            [entry.get('sign', 1.0), entry.get('offset', 0.0)], label + ' sign/offset', problems
        )
        names.append(name)
        index.append(slot)
        sign.append(values[0])
        offset.append(values[1])
    return names, index, sign, offset


def _slot(hardware: Any, hw_names: list, label: str, problems: list[str]) -> int:
    if isinstance(hardware, bool):
        problems.append(f'{label}: hardware must be a joint name or slot index, got {hardware!r}')
        return -1
    if isinstance(hardware, int):
        if not 0 <= hardware < JOINT_COUNT:
            problems.append(
                f'{label}: hardware slot {hardware} is out of range 0..{JOINT_COUNT - 1}'
            )
            return -1
        return hardware
    if hardware not in hw_names:
        problems.append(
            f'{label}: unknown hardware joint {hardware!r}; hardware.joint_names '
            f'are {list(hw_names)}'
        )
        return -1
    return hw_names.index(hardware)


def config_directory() -> Path:
    """
    Return the folder holding the shipped joint maps.

    The installed package's share folder
    (``share/krabby_parkour/config/joint_maps``, found with
    ``ament_index_python``) when the package is installed, else the source
    tree's ``config/joint_maps``.
    """
    source_tree = Path(__file__).resolve().parents[2] / 'config' / 'joint_maps'
    try:
        from ament_index_python.packages import get_package_share_directory
        from ament_index_python.packages import PackageNotFoundError
    except ImportError:
        return source_tree
    try:
        share = Path(get_package_share_directory(PACKAGE_NAME)) / 'config' / 'joint_maps'
    except (PackageNotFoundError, LookupError, ValueError, OSError):
        return source_tree
    return share if share.is_dir() else source_tree


def load_joint_map(
    name_or_path: str | os.PathLike[str], directory: str | os.PathLike[str] | None = None
) -> JointMap:
    """
    Load a joint map by shipped name (``'go2_sim'``, ``'krabby'``) or file path.

    :param name_or_path: a bare name resolved to ``<directory>/<name>.yaml``,
        or a path to a YAML file.
    :param directory: where names are looked up (default: :func:`config_directory`).
    :raises JointMapError: unknown name, unreadable or invalid file.
    """
    text = os.fspath(name_or_path)
    if _NAME_PATTERN.match(text) and not text.endswith(('.yaml', '.yml')):
        folder = Path(directory) if directory is not None else config_directory()
        path = folder / f'{text}.yaml'
        if not path.is_file():
            available = sorted(p.stem for p in folder.glob('*.yaml')) if folder.is_dir() else []
            raise JointMapError(
                repr(text), [f'no joint map named {text!r} in {folder}; available: {available}']
            )
        return JointMap.from_yaml(path)
    return JointMap.from_yaml(text)

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
Policy cards: the YAML file beside a checkpoint that states its training contract.

A card (``policy_card.yaml``) holds everything a deployment must reproduce:
observation layout and scales, history length and fill rule, joint order
and default pose, action scale and clip, physics dt and decimation (the
policy period), PD gains, effort and velocity limits, the scan grid and
whether a scan is required, the trained flag, the checkpoint formats it
describes and the weights' source and license. :func:`load_card` validates
it strictly (every field present, typed and consistent; unknown fields
refused), ``card_from_training_config``
(:mod:`krabby_parkour_ros.policy.card_from_training`) derives it from an
Isaac Lab run's ``env.yaml`` + ``agent.yaml``, and :func:`check_deployment`
compares a card's contract with what the node is about to do, listing every
difference at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
import math
import os
from pathlib import Path
from typing import Any, Union

import yaml

from krabby_parkour_ros.contract import (
    FILL_RULE_EXTREME_PARKOUR,
    ObservationLayout,
    PolicyContract,
    ScanGrid,
)
from krabby_parkour_ros.policy.errors import PolicyCardError, PolicyCardMismatchError

PathLike = Union[str, 'os.PathLike[str]']

CARD_VERSION = 1
CARD_FILENAME = 'policy_card.yaml'
#: Tolerance of the policy-period check (seconds).
PERIOD_TOLERANCE = 1e-9
_FORMAT_NAMES = ('torchscript', 'onnx', 'rsl_rl_teacher', 'rsl_rl_student', 'safetensors')


@dataclass(frozen=True)
class DepthPreprocessing:
    """
    How a raw depth map (metres) becomes the student's 58 x 87 input.

    Crop the given pixel counts, replace non-finite pixels by ``far_clip``,
    clip to [``near_clip``, ``far_clip``], resize (bilinear) to 58 x 87 and
    normalise to ``(d - near) / (far - near) - 0.5`` (extreme-parkour code).
    """

    crop_top: int = 0
    crop_bottom: int = 2
    crop_left: int = 4
    crop_right: int = 4
    near_clip: float = 0.0
    far_clip: float = 2.0


@dataclass(frozen=True)
class PolicyCard:
    """A checkpoint's contract plus provenance (the content of ``policy_card.yaml``)."""

    contract: PolicyContract
    #: Checkpoint formats (:class:`CheckpointFormat` values) this card describes.
    formats: tuple[str, ...] = ()
    source: str = ''
    license: str = ''  # noqa: A003 (the card field's name)
    notes: str = ''
    #: Depth preprocessing of student (depth) policies; None for teachers.
    depth: DepthPreprocessing | None = None
    card_version: int = CARD_VERSION

    @property
    def trained(self) -> bool:
        """Return False for generated, untrained weights."""
        return self.contract.trained

    @property
    def name(self) -> str:
        """Return the policy name."""
        return self.contract.name


# -- YAML form --------------------------------------------------------------------------


def card_to_dict(card: PolicyCard) -> dict[str, Any]:
    """Return the YAML mapping of ``card`` (plain Python types, stable order)."""
    c = card.contract
    grid = c.scan_grid
    out: dict[str, Any] = {
        'card_version': card.card_version,
        'name': c.name,
        'trained': bool(c.trained),
        'formats': list(card.formats),
        'source': card.source,
        'license': card.license,
        'notes': card.notes,
        'observation': {
            'proprio': c.layout.proprio,
            'scan': c.layout.scan,
            'priv_explicit': c.layout.priv_explicit,
            'priv_latent': c.layout.priv_latent,
            'history_length': c.layout.history_length,
            'history_fill_rule': c.history_fill_rule,
            'ang_vel_scale': float(c.ang_vel_scale),
            'joint_vel_scale': float(c.joint_vel_scale),
            'base_lin_vel_scale': float(c.base_lin_vel_scale),
            'clip': float(c.observation_clip),
            'contact_force_threshold': float(c.contact_force_threshold),
        },
        'joints': {
            'names': list(c.joint_names),
            'default_positions': [float(v) for v in c.default_joint_positions],
            'foot_names': list(c.foot_names),
        },
        'action': {'scale': float(c.action_scale), 'clip': float(c.action_clip)},
        'timing': {
            'physics_dt': float(c.physics_dt),
            'decimation': c.decimation,
            'scan_refresh_steps': c.scan_refresh_steps,
        },
        'pd': {'kp': float(c.kp), 'kd': float(c.kd)},
        'limits': {
            'effort': [float(v) for v in c.effort_limits],
            'velocity': [float(v) for v in c.velocity_limits],
        },
        'scan': {
            'required': bool(c.scan_required),
            'nx': grid.nx,
            'ny': grid.ny,
            'resolution': float(grid.resolution),
            'center_x': float(grid.center_x),
            'center_y': float(grid.center_y),
            'offset': float(grid.offset),
            'clip_low': float(grid.clip_low),
            'clip_high': float(grid.clip_high),
        },
    }
    if card.depth is not None:
        d = card.depth
        out['depth'] = {
            'crop_top': d.crop_top,
            'crop_bottom': d.crop_bottom,
            'crop_left': d.crop_left,
            'crop_right': d.crop_right,
            'near_clip': float(d.near_clip),
            'far_clip': float(d.far_clip),
        }
    return out


class _CardDumper(yaml.SafeDumper):
    """Block-style mappings, one-line lists (joint vectors read as rows)."""


def _represent_list(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
    return dumper.represent_sequence('tag:yaml.org,2002:seq', data, flow_style=True)


_CardDumper.add_representer(list, _represent_list)


def save_card(card: PolicyCard, path: PathLike) -> None:
    """Write ``card`` to ``path`` as YAML (validated first by a round trip)."""
    data = card_to_dict(card)
    card_from_dict(data, str(path))
    header = (
        '# Policy card: the training contract of the checkpoint(s) beside it.\n'
        '# Checked by krabby_parkour_ros.policy.card; see docs/policy.md.\n'
    )
    text = header + yaml.dump(
        data, Dumper=_CardDumper, sort_keys=False, default_flow_style=False, width=200
    )
    Path(path).write_text(text, encoding='utf-8')


def load_card(path: PathLike) -> PolicyCard:
    """
    Read and validate a policy card.

    :raises PolicyCardError: naming the field, what was expected and what was found.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding='utf-8')
    except OSError as exc:
        raise PolicyCardError(f'cannot read policy card {path}: {exc}') from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyCardError(f'policy card {path} is not valid YAML: {exc}') from exc
    return card_from_dict(data, str(path))


class _Reader:
    """Typed, strict access to one mapping of a card (errors name the field path)."""

    def __init__(self, data: Any, where: str, section: str) -> None:
        if not isinstance(data, dict):
            raise PolicyCardError(
                f'{where}: {section or "the card"} must be a mapping, got {type(data).__name__}'
            )
        self.data = data
        self.where = where
        self.section = section
        self.used: set = set()

    def _name(self, key: str) -> str:
        return f'{self.section}.{key}' if self.section else key

    def get(self, key: str) -> Any:
        if key not in self.data:
            raise PolicyCardError(f'{self.where}: missing field {self._name(key)!r}')
        self.used.add(key)
        return self.data[key]

    def optional(self, key: str, default: Any) -> Any:
        if key not in self.data:
            return default
        return self.get(key)

    def integer(self, key: str, minimum: int = 0) -> int:
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise PolicyCardError(
                f'{self.where}: {self._name(key)} must be an integer >= {int(minimum)}, got'
                f' {value!r}'
            )
        return value

    def number(self, key: str, positive: bool = False) -> float:
        value = self.get(key)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or (positive and value <= 0)
        ):
            raise PolicyCardError(
                f'{self.where}: {self._name(key)} must be a finite'
                f' {"positive " if positive else ""}number, got {value!r}'
            )
        return float(value)

    def boolean(self, key: str) -> bool:
        value = self.get(key)
        if not isinstance(value, bool):
            raise PolicyCardError(
                f'{self.where}: {self._name(key)} must be true or false, got {value!r}'
            )
        return value

    def text(self, key: str, default: str | None = None) -> str:
        value = self.get(key) if default is None else self.optional(key, default)
        if not isinstance(value, str):
            raise PolicyCardError(
                f'{self.where}: {self._name(key)} must be a string, got {value!r}'
            )
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise PolicyCardError(
                f'{self.where}: {self._name(key)} must be a list of strings, got {value!r}'
            )
        return tuple(value)

    def numbers(self, key: str, length: int) -> tuple[float, ...]:
        value = self.get(key)
        ok = isinstance(value, list) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            for v in value
        )
        if not ok or len(value) != length:
            raise PolicyCardError(
                f'{self.where}: {self._name(key)} must be a list of {int(length)} finite numbers'
                f' (one per joint), got {value!r}'
            )
        return tuple(float(v) for v in value)

    def section_reader(self, key: str) -> _Reader:
        return _Reader(self.get(key), self.where, self._name(key))

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise PolicyCardError(
                f'{self.where}: unknown field(s) {", ".join(self._name(k) for k in unknown)} in'
                f' {self.section or "the card"} (misspelt?)'
            )


def card_from_dict(data: Any, where: str = 'policy card') -> PolicyCard:
    """
    Build a :class:`PolicyCard` from its YAML mapping, validating every field.

    :raises PolicyCardError: for a missing, unknown, mistyped or inconsistent field.
    """
    top = _Reader(data, where, '')
    version = top.integer('card_version', 1)
    if version != CARD_VERSION:
        raise PolicyCardError(
            f'{where}: card_version {int(version)} is not supported (this code reads'
            f' {int(CARD_VERSION)})'
        )
    formats = top.strings('formats')
    bad = [f for f in formats if f not in _FORMAT_NAMES]
    if bad:
        raise PolicyCardError(
            f'{where}: formats {bad} unknown; expected some of {list(_FORMAT_NAMES)}'
        )
    joints = top.section_reader('joints')
    names = joints.strings('names')
    if not names or len(set(names)) != len(names):
        raise PolicyCardError(
            f'{where}: joints.names must be non-empty and unique, got {list(names)!r}'
        )
    count = len(names)
    contract_fields = _read_observation(top.section_reader('observation'))
    contract_fields.update(_read_timing(top, count))
    contract_fields.update(
        name=top.text('name'),
        trained=top.boolean('trained'),
        joint_names=names,
        default_joint_positions=joints.numbers('default_positions', count),
        foot_names=joints.strings('foot_names'),
    )
    joints.finish()
    scan = top.section_reader('scan')
    contract_fields['scan_required'] = scan.boolean('required')
    contract_fields['scan_grid'] = ScanGrid(
        nx=scan.integer('nx', 1),
        ny=scan.integer('ny', 1),
        resolution=scan.number('resolution', positive=True),
        center_x=scan.number('center_x'),
        center_y=scan.number('center_y'),
        offset=scan.number('offset'),
        clip_low=scan.number('clip_low'),
        clip_high=scan.number('clip_high'),
    )
    scan.finish()
    if contract_fields['scan_grid'].size != contract_fields['layout'].scan:
        raise PolicyCardError(
            f'{where}: scan grid has {int(contract_fields["scan_grid"].nx)} x'
            f' {int(contract_fields["scan_grid"].ny)} = {int(contract_fields["scan_grid"].size)}'
            f' points but observation.scan is {int(contract_fields["layout"].scan)}'
        )
    depth = None
    if 'depth' in top.data:
        depth = _read_depth(top.section_reader('depth'))
    card = PolicyCard(
        contract=PolicyContract(**contract_fields),
        formats=formats,
        source=top.text('source', ''),
        license=top.text('license', ''),
        notes=top.text('notes', ''),
        depth=depth,
        card_version=version,
    )
    top.finish()
    return card


def _read_observation(obs: _Reader) -> dict[str, Any]:
    layout = ObservationLayout(
        proprio=obs.integer('proprio', 1),
        scan=obs.integer('scan'),
        priv_explicit=obs.integer('priv_explicit'),
        priv_latent=obs.integer('priv_latent'),
        history_length=obs.integer('history_length'),
    )
    rule = obs.text('history_fill_rule')
    if rule != FILL_RULE_EXTREME_PARKOUR:
        raise PolicyCardError(
            f'{obs.where}: observation.history_fill_rule {rule!r} is not supported; expected'
            f' {FILL_RULE_EXTREME_PARKOUR!r}'
        )
    out = {
        'layout': layout,
        'history_fill_rule': rule,
        'ang_vel_scale': obs.number('ang_vel_scale'),
        'joint_vel_scale': obs.number('joint_vel_scale'),
        'base_lin_vel_scale': obs.number('base_lin_vel_scale'),
        'observation_clip': obs.number('clip', positive=True),
        'contact_force_threshold': obs.number('contact_force_threshold'),
    }
    obs.finish()
    return out


def _read_timing(top: _Reader, count: int) -> dict[str, Any]:
    action = top.section_reader('action')
    timing = top.section_reader('timing')
    pd = top.section_reader('pd')
    limits = top.section_reader('limits')
    out = {
        'action_scale': action.number('scale', positive=True),
        'action_clip': action.number('clip', positive=True),
        'physics_dt': timing.number('physics_dt', positive=True),
        'decimation': timing.integer('decimation', 1),
        'scan_refresh_steps': timing.integer('scan_refresh_steps', 1),
        'kp': pd.number('kp'),
        'kd': pd.number('kd'),
        'effort_limits': limits.numbers('effort', count),
        'velocity_limits': limits.numbers('velocity', count),
    }
    for reader in (action, timing, pd, limits):
        reader.finish()
    return out


def _read_depth(depth: _Reader) -> DepthPreprocessing:
    out = DepthPreprocessing(
        crop_top=depth.integer('crop_top'),
        crop_bottom=depth.integer('crop_bottom'),
        crop_left=depth.integer('crop_left'),
        crop_right=depth.integer('crop_right'),
        near_clip=depth.number('near_clip'),
        far_clip=depth.number('far_clip', positive=True),
    )
    if out.far_clip <= out.near_clip:
        raise PolicyCardError(
            f'{depth.where}: depth.far_clip ({out.far_clip:g}) must exceed depth.near_clip'
            f' ({out.near_clip:g})'
        )
    depth.finish()
    return out


# -- from a training run ----------------------------------------------------------------


def untrained_card(
    contract: PolicyContract,
    formats: Sequence[str],
    source: str,
    depth: DepthPreprocessing | None = None,
) -> PolicyCard:
    """Return a card for generated weights: ``trained: false``, ``<name>_untrained``."""
    return PolicyCard(
        contract=replace(contract, name=contract.name + '_untrained', trained=False),
        formats=tuple(formats),
        source=source,
        license='Apache-2.0',
        notes='UNTRAINED random weights for tests and demos: never run on a robot.',
        depth=depth,
    )


# -- checks -----------------------------------------------------------------------------


def check_deployment(
    contract: PolicyContract,
    *,
    policy_joint_names: Sequence[str],
    control_rate_hz: float,
    policy_decimation: int,
    scan_available: bool,
    base_velocity_available: bool,
    has_estimator: bool,
) -> None:
    """
    Check that a deployment matches ``contract``; list every difference.

    :param policy_joint_names: the joint names the deployment feeds the
        policy, in the order it uses for observation and action.
    :param control_rate_hz: the node's control rate (ticks per second).
    :param policy_decimation: run the policy every this many control ticks.
    :param scan_available: a height scan source is configured.
    :param base_velocity_available: a measured base velocity is configured.
    :param has_estimator: the checkpoint carries a trained velocity estimator.
    :raises PolicyCardMismatchError: with one line per difference.
    """
    issues: list[str] = []
    issues.extend(_joint_issues(contract, tuple(policy_joint_names)))
    if not control_rate_hz > 0 or not math.isfinite(control_rate_hz):
        issues.append(f'control rate must be a positive number of Hz, got {control_rate_hz!r}')
    elif (
        isinstance(policy_decimation, bool)
        or not isinstance(policy_decimation, int)
        or policy_decimation < 1
    ):
        issues.append(f'policy decimation must be an integer >= 1, got {policy_decimation!r}')
    else:
        period = policy_decimation / control_rate_hz
        if abs(period - contract.policy_period) > PERIOD_TOLERANCE:
            suggestion = contract.policy_period * control_rate_hz
            if abs(suggestion - round(suggestion)) < 1e-6:
                hint = f' (use policy decimation {round(suggestion)})'
            else:
                hint = ' (no integer decimation fits this control rate)'
            issues.append(
                f'policy period: the policy was trained at {contract.policy_period:.6g} s'
                f' ({contract.policy_rate:.6g} Hz: physics dt {contract.physics_dt:g} x'
                f' decimation {contract.decimation}) but the deployment runs it every'
                f' {policy_decimation} tick(s) of {control_rate_hz:.6g} Hz = {period:.6g} s{hint}'
            )
    if contract.scan_required and not scan_available:
        issues.append(
            f'height scan: the policy requires a {int(contract.scan_grid.size)}-point height scan'
            ' but none is provided'
        )
    if not base_velocity_available and not has_estimator:
        issues.append(
            'base velocity: no measured base velocity is provided and the '
            'checkpoint has no estimator to fill priv_explicit'
        )
    if issues:
        raise PolicyCardMismatchError(
            f'deployment does not match policy {contract.name!r}', issues
        )


def _joint_issues(contract: PolicyContract, names: tuple[str, ...]) -> list[str]:
    expected = contract.joint_names
    if len(names) != len(expected):
        return [
            f'joint count: the policy has {len(expected)} joints {list(expected)} but the'
            f' deployment gives {len(names)} {list(names)}'
        ]
    if names == expected:
        return []
    if sorted(names) == sorted(expected):
        wrong = [i for i, (a, b) in enumerate(zip(names, expected)) if a != b]
        return [
            f'joint order: same joints in a different order; positions {wrong} hold'
            f' {[names[i] for i in wrong]} but the policy expects {[expected[i] for i in wrong]}'
        ]
    unknown = [n for n in names if n not in expected]
    absent = [n for n in expected if n not in names]
    return [f'joint names: {unknown} are not policy joints and {absent} are missing']


def check_card_against_checkpoint(
    card: PolicyCard,
    *,
    obs_dim: int,
    action_dim: int,
    format_name: str,
    trained_marker: bool | None,
    where: str,
) -> None:
    """
    Check that ``card`` describes the loaded checkpoint; list every difference.

    :param trained_marker: the trained flag written into the checkpoint by
        this project's tools (None when the checkpoint carries none).
    :raises PolicyCardMismatchError: with one line per difference.
    """
    issues = []
    contract = card.contract
    if contract.layout.total != obs_dim:
        issues.append(
            f'observation size: card layout totals {int(contract.layout.total)} but the checkpoint'
            f' takes {int(obs_dim)}'
        )
    if contract.action_dim != action_dim:
        issues.append(
            f'action size: card lists {int(contract.action_dim)} joints but the checkpoint outputs'
            f' {int(action_dim)}'
        )
    if card.formats and format_name not in card.formats:
        issues.append(
            f'format: card describes {list(card.formats)} but the checkpoint is {format_name}'
        )
    if trained_marker is not None and trained_marker != contract.trained:
        issues.append(
            f'trained flag: card says trained={contract.trained} but the checkpoint is marked'
            f' trained={trained_marker}'
        )
    if issues:
        raise PolicyCardMismatchError(f'policy card {where}', issues)


def find_card(checkpoint_path: PathLike, card_path: PathLike | None) -> Path | None:
    """Return ``card_path`` or ``<checkpoint dir>/policy_card.yaml`` when it exists."""
    if card_path is not None:
        return Path(card_path)
    candidate = Path(checkpoint_path).resolve().parent / CARD_FILENAME
    return candidate if candidate.is_file() else None


__all__ = [
    'CARD_FILENAME',
    'DepthPreprocessing',
    'PolicyCard',
    'card_from_dict',
    'card_to_dict',
    'check_card_against_checkpoint',
    'check_deployment',
    'find_card',
    'load_card',
    'save_card',
    'untrained_card',
]

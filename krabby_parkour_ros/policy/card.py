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
describes and the weights' source and license. This module holds the schema
(:class:`PolicyCard`), its YAML form and reader: :func:`load_card` validates
a card strictly (every field present, typed and consistent; unknown fields
refused, through :class:`~krabby_parkour_ros.policy.card_reader.CardReader`).

Elsewhere: :mod:`krabby_parkour_ros.policy.card_from_training` derives a
card from an Isaac Lab run's ``env.yaml`` + ``agent.yaml``, and
:mod:`krabby_parkour_ros.policy.card_checks` compares a card with the
deployment (:func:`check_deployment`) and with its checkpoint, listing
every difference at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
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
from krabby_parkour_ros.policy.card_reader import CardReader
from krabby_parkour_ros.policy.errors import PolicyCardError
from krabby_parkour_ros.policy.formats import CheckpointFormat

PathLike = Union[str, 'os.PathLike[str]']

CARD_VERSION = 1
CARD_FILENAME = 'policy_card.yaml'
_FORMAT_NAMES = tuple(f.value for f in CheckpointFormat)


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


def card_from_dict(data: Any, where: str = 'policy card') -> PolicyCard:
    """
    Build a :class:`PolicyCard` from its YAML mapping, validating every field.

    :raises PolicyCardError: for a missing, unknown, mistyped or inconsistent field.
    """
    top = CardReader(data, where, '')
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


def _read_observation(obs: CardReader) -> dict[str, Any]:
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


def _read_timing(top: CardReader, count: int) -> dict[str, Any]:
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


def _read_depth(depth: CardReader) -> DepthPreprocessing:
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


# -- generated weights -------------------------------------------------------------------


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
    'find_card',
    'load_card',
    'save_card',
    'untrained_card',
]

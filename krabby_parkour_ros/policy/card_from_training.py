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
Derive a policy card from an Isaac Lab training run's ``env.yaml`` + ``agent.yaml``.

:func:`card_from_training_config` reads what the run trained (joint order,
default pose, action scale and clip, observation scales, scan grid, rates)
into a :class:`~krabby_parkour_ros.policy.card.PolicyCard`; the few
constants of the extreme-parkour code that are not in the YAML are named
here. The card schema, its reader and writer live in
:mod:`krabby_parkour_ros.policy.card`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
import re
from typing import Any

from krabby_parkour_ros.contract import (
    FILL_RULE_EXTREME_PARKOUR,
    GO2_PARKOUR_TEACHER,
    ObservationLayout,
    PolicyContract,
    ScanGrid,
)
from krabby_parkour_ros.policy.card import (
    card_from_dict,
    card_to_dict,
    DepthPreprocessing,
    PathLike,
    PolicyCard,
)
from krabby_parkour_ros.policy.errors import PolicyCardError
from krabby_parkour_ros.policy.training_config import (
    is_agent_config,
    is_env_config,
    load_training_yaml,
)

#: Isaac Lab articulation (policy) joint order of robots whose USD is known.
#: The order is not in env.yaml: it comes from the USD's articulation tree.
KNOWN_JOINT_ORDERS: dict[str, tuple[str, ...]] = {'go2': GO2_PARKOUR_TEACHER.joint_names}

# Constants of the extreme-parkour observation and terrain code (not in env.yaml).
_CODE_SCAN_OFFSET = 0.3
_CODE_SCAN_CLIP = 1.0
_CODE_CONTACT_THRESHOLD = 2.0
_CODE_SCAN_REFRESH_STEPS = 5
_CODE_SCALES = {'ang_vel': 0.25, 'joint_vel': 0.05, 'base_lin_vel': 2.0}


def _regex_lookup(table: Any, joint: str, field_name: str, path: PathLike) -> float:
    """Return the value of ``table`` (number or {regex: number}) for ``joint``."""
    if isinstance(table, (int, float)) and not isinstance(table, bool):
        return float(table)
    if not isinstance(table, dict):
        raise PolicyCardError(
            f'{path}: {field_name} must be a number or a {{joint regex: number}} mapping, '
            f'got {table!r}'
        )
    hits = [
        float(v)
        for pattern, v in table.items()
        if re.fullmatch(pattern, joint + '_joint') or re.fullmatch(pattern, joint)
    ]
    if len(hits) != 1:
        raise PolicyCardError(
            f'{path}: {field_name}: joint {joint!r} matches {len(hits)} patterns of'
            f' {sorted(table)}, expected exactly 1'
        )
    return hits[0]


def _uniform(table: Any, joints: Sequence[str], field_name: str, path: PathLike) -> float:
    values = {_regex_lookup(table, j, field_name, path) for j in joints}
    if len(values) != 1:
        raise PolicyCardError(
            f'{path}: {field_name} differs between joints ({sorted(values)}); a card holds one'
            ' value'
        )
    return values.pop()


def _dig(data: Mapping[str, Any], dotted: str, path: PathLike) -> Any:
    node: Any = data
    for part in dotted.split('.'):
        if not isinstance(node, dict) or part not in node:
            raise PolicyCardError(f'{path}: missing field {dotted}')
        node = node[part]
    return node


def card_from_training_config(
    env_yaml_path: PathLike,
    agent_yaml_path: PathLike,
    *,
    joint_names: Sequence[str] | None = None,
    name: str | None = None,
    source: str = '',
    license: str = '',  # noqa: A002 (the card field's name)
    formats: Sequence[str] = (),
    notes: str = '',
) -> PolicyCard:
    """
    Derive a policy card from an Isaac Lab run's ``env.yaml`` and ``agent.yaml``.

    Values come from the configs (dt, decimation, gains, limits, action
    scale and clip, scan pattern, history length, observation clip, layout
    sizes) and, where the configs are silent, from the extreme-parkour
    observation code (observation scales 0.25 / 0.05 / 2.0, scan offset 0.3
    and clip +-1, contact threshold 2 N, refresh every 5 policy steps).
    The joint order is not in the configs: pass ``joint_names`` or use a
    robot listed in :data:`KNOWN_JOINT_ORDERS` (recognised by its USD name).

    :raises PolicyCardError: when a needed field is missing or inconsistent.
    """
    env = load_training_yaml(env_yaml_path)
    agent = load_training_yaml(agent_yaml_path)
    if not is_env_config(env):
        raise PolicyCardError(
            f'{env_yaml_path} is not an Isaac Lab env.yaml (no scene/decimation)'
        )
    if not is_agent_config(agent):
        raise PolicyCardError(
            f'{agent_yaml_path} is not an rsl_rl agent.yaml (no policy/algorithm)'
        )
    robot = _dig(env, 'scene.robot', env_yaml_path)
    usd = str(_dig(robot, 'spawn.usd_path', env_yaml_path) or '')
    robot_name = Path(usd).stem.lower() or 'robot'
    if joint_names is None:
        if robot_name not in KNOWN_JOINT_ORDERS:
            raise PolicyCardError(
                f'{env_yaml_path}: the policy joint order of robot {robot_name!r} is unknown; pass'
                ' joint_names in the Isaac Lab articulation order'
            )
        joint_names = KNOWN_JOINT_ORDERS[robot_name]
    joints = tuple(joint_names)
    student = agent.get('depth_encoder') is not None
    actuators = _dig(robot, 'actuators', env_yaml_path)
    if not isinstance(actuators, dict) or len(actuators) != 1:
        raise PolicyCardError(
            f'{env_yaml_path}: expected exactly one actuator group, got {actuators!r}'
        )
    actuator = next(iter(actuators.values()))
    defaults = _dig(robot, 'init_state.joint_pos', env_yaml_path)
    fields: dict[str, Any] = {
        'name': name or f'{robot_name}_parkour_{"student" if student else "teacher"}',
        'joint_names': joints,
        'default_joint_positions': tuple(
            _regex_lookup(defaults, j, 'init_state.joint_pos', env_yaml_path) for j in joints
        ),
        'effort_limits': tuple(
            _regex_lookup(actuator.get('effort_limit'), j, 'effort_limit', env_yaml_path)
            for j in joints
        ),
        'velocity_limits': tuple(
            _regex_lookup(actuator.get('velocity_limit'), j, 'velocity_limit', env_yaml_path)
            for j in joints
        ),
        'kp': _uniform(actuator.get('stiffness'), joints, 'stiffness', env_yaml_path),
        'kd': _uniform(actuator.get('damping'), joints, 'damping', env_yaml_path),
        'physics_dt': float(_dig(env, 'sim.dt', env_yaml_path)),
        'decimation': int(_dig(env, 'decimation', env_yaml_path)),
        'scan_refresh_steps': _CODE_SCAN_REFRESH_STEPS,
        'contact_force_threshold': _CODE_CONTACT_THRESHOLD,
        'ang_vel_scale': _CODE_SCALES['ang_vel'],
        'joint_vel_scale': _CODE_SCALES['joint_vel'],
        'base_lin_vel_scale': _CODE_SCALES['base_lin_vel'],
        'scan_required': not student,
        'trained': True,
    }
    fields.update(_action_fields(env, joints, env_yaml_path))
    fields.update(_observation_fields(env, agent, env_yaml_path, agent_yaml_path))
    card = PolicyCard(
        contract=PolicyContract(**fields),
        formats=tuple(formats),
        source=source,
        license=license,
        notes=notes,
        depth=DepthPreprocessing() if student else None,
    )
    card_from_dict(card_to_dict(card), f'card derived from {env_yaml_path}')
    return card


def _action_fields(
    env: Mapping[str, Any], joints: Sequence[str], path: PathLike
) -> dict[str, Any]:
    action = _dig(env, 'actions.joint_pos', path)
    if not action.get('use_default_offset', False):
        raise PolicyCardError(
            f'{path}: actions.joint_pos.use_default_offset is false; the card assumes target ='
            ' default + scale * action'
        )
    scale = action.get('scale')
    clip = action.get('clip')
    if isinstance(clip, dict):
        bounds = {tuple(v) for v in clip.values()}
        if len(bounds) != 1:
            raise PolicyCardError(
                f'{path}: actions.joint_pos.clip differs between joints: {sorted(bounds)}'
            )
        low, high = bounds.pop()
        if low != -high:
            raise PolicyCardError(
                f'{path}: actions.joint_pos.clip ({low:g}, {high:g}) is not symmetric'
            )
        clip_value = float(high)
    else:
        raise PolicyCardError(
            f'{path}: actions.joint_pos.clip must be a {{regex: [low, high]}} '
            f'mapping, got {clip!r}'
        )
    return {
        'action_scale': _uniform(scale, joints, 'actions.joint_pos.scale', path),
        'action_clip': clip_value,
    }


def _observation_fields(
    env: Mapping[str, Any], agent: Mapping[str, Any], env_path: PathLike, agent_path: PathLike
) -> dict[str, Any]:
    term = _dig(env, 'observations.policy.extreme_parkour_observations', env_path)
    clip = term.get('clip')
    if not isinstance(clip, list) or len(clip) != 2 or clip[0] != -clip[1]:
        raise PolicyCardError(
            f'{env_path}: observation clip must be a symmetric [low, high], got {clip!r}'
        )
    actor = _dig(agent, 'policy.actor', agent_path)
    history = int(_dig(term, 'params.history_length', env_path))
    if int(actor.get('num_hist', history)) != history:
        raise PolicyCardError(
            f'{env_path}: history length {int(history)} differs from agent num_hist'
            f' {actor.get("num_hist")!r}'
        )
    layout = ObservationLayout(
        proprio=int(actor['num_prop']),
        scan=int(actor['num_scan']),
        priv_explicit=int(actor['num_priv_explicit']),
        priv_latent=int(actor['num_priv_latent']),
        history_length=history,
    )
    scanner = _dig(env, 'scene.height_scanner', env_path)
    pattern = scanner.get('pattern_cfg') or {}
    if pattern.get('ordering') != 'xy':
        raise PolicyCardError(
            f'{env_path}: height scan ordering {pattern.get("ordering")!r}; the observation'
            ' builder supports "xy" (x varying fastest)'
        )
    resolution = float(pattern['resolution'])
    size = pattern['size']
    offset = _dig(scanner, 'offset.pos', env_path)
    grid = ScanGrid(
        nx=int(round(size[0] / resolution)) + 1,
        ny=int(round(size[1] / resolution)) + 1,
        resolution=resolution,
        center_x=float(offset[0]),
        center_y=float(offset[1]),
        offset=_CODE_SCAN_OFFSET,
        clip_low=-_CODE_SCAN_CLIP,
        clip_high=_CODE_SCAN_CLIP,
    )
    return {
        'layout': layout,
        'scan_grid': grid,
        'observation_clip': float(clip[1]),
        'history_fill_rule': FILL_RULE_EXTREME_PARKOUR,
    }

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
Read Isaac Lab training configs (``env.yaml``, ``agent.yaml``) safely.

Isaac Lab dumps its configs with Python tags (``!!python/tuple``,
``!!python/object/apply:builtins.slice`` ...). :class:`TrainingConfigLoader`
is a :class:`yaml.SafeLoader` that reads tuples as lists and turns every
other ``python/*`` tag into ``None`` without importing or calling anything,
so a config file can never run code (``yaml.unsafe_load`` is never used).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
import os
from pathlib import Path
from typing import Any, Union

import yaml

from krabby_parkour_ros.policy.errors import CheckpointDimensionError, PolicyCardError
from krabby_parkour_ros.policy.networks import NetworkConfig

PathLike = Union[str, 'os.PathLike[str]']


class TrainingConfigLoader(yaml.SafeLoader):
    """Safe YAML loader for Isaac Lab configs: python tuples -> lists, other tags -> None."""


def _construct_tuple(loader: yaml.SafeLoader, node: yaml.Node) -> list:
    return loader.construct_sequence(node, deep=True)


def _construct_ignored(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> None:
    # Objects, names and modules are never built: they would import code.
    return None


TrainingConfigLoader.add_constructor('tag:yaml.org,2002:python/tuple', _construct_tuple)
TrainingConfigLoader.add_multi_constructor('tag:yaml.org,2002:python/', _construct_ignored)


def load_training_yaml(path: PathLike) -> dict[str, Any]:
    """
    Return the mapping of a training YAML file, read with :class:`TrainingConfigLoader`.

    :raises PolicyCardError: when the file is missing, not YAML or not a mapping.
    """
    path = Path(path)
    try:
        with open(path, encoding='utf-8') as handle:
            data = yaml.load(handle, Loader=TrainingConfigLoader)  # noqa: S506 (safe loader)
    except OSError as exc:
        raise PolicyCardError(f'cannot read training config {path}: {exc}') from exc
    except yaml.YAMLError as exc:
        raise PolicyCardError(f'training config {path} is not valid YAML: {exc}') from exc
    if not isinstance(data, dict):
        raise PolicyCardError(
            f'training config {path}: expected a mapping at the top, got {type(data).__name__}'
        )
    return data


def is_agent_config(data: Mapping[str, Any]) -> bool:
    """Return True for an rsl_rl ``agent.yaml`` (has ``policy`` and ``algorithm``)."""
    return isinstance(data.get('policy'), dict) and 'algorithm' in data


def is_env_config(data: Mapping[str, Any]) -> bool:
    """Return True for an Isaac Lab ``env.yaml`` (has ``scene`` and ``decimation``)."""
    return isinstance(data.get('scene'), dict) and 'decimation' in data


def _dims(value: Any, field: str, path: PathLike) -> tuple[int, ...]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, int) for v in value):
        raise PolicyCardError(f'{path}: {field} must be a list of integers, got {value!r}')
    return tuple(value)


def network_config_from_agent(
    data: Mapping[str, Any], path: PathLike, num_actions: int
) -> NetworkConfig:
    """
    Return the :class:`NetworkConfig` of an rsl_rl ``agent.yaml`` mapping.

    :raises PolicyCardError: when a needed field is missing or has the wrong type.
    """
    policy = data['policy']
    actor = policy.get('actor') if isinstance(policy.get('actor'), dict) else {}
    given_estimator = data.get('estimator')
    estimator = given_estimator if isinstance(given_estimator, dict) else {}
    history = actor.get('state_history_encoder') or {}

    def number(source: Mapping[str, Any], key: str, default: int) -> int:
        value = source.get(key, default)
        if not isinstance(value, int):
            raise PolicyCardError(f'{path}: {key} must be an integer, got {value!r}')
        return value

    base = NetworkConfig()
    config = replace(
        base,
        num_prop=number(actor, 'num_prop', base.num_prop),
        num_scan=number(actor, 'num_scan', base.num_scan),
        num_priv_explicit=number(actor, 'num_priv_explicit', base.num_priv_explicit),
        num_priv_latent=number(actor, 'num_priv_latent', base.num_priv_latent),
        num_hist=number(actor, 'num_hist', base.num_hist),
        num_actions=num_actions,
        channel_size=number(history, 'channel_size', base.channel_size),
        scan_encoder_dims=_dims(
            policy.get('scan_encoder_dims', base.scan_encoder_dims),
            'policy.scan_encoder_dims',
            path,
        ),
        priv_encoder_dims=_dims(
            policy.get('priv_encoder_dims', base.priv_encoder_dims),
            'policy.priv_encoder_dims',
            path,
        ),
        actor_hidden_dims=_dims(
            policy.get('actor_hidden_dims', base.actor_hidden_dims),
            'policy.actor_hidden_dims',
            path,
        ),
        estimator_hidden_dims=_dims(
            estimator.get('hidden_dims', base.estimator_hidden_dims), 'estimator.hidden_dims', path
        ),
        activation=str(policy.get('activation', base.activation)),
        tanh_encoder_output=bool(policy.get('tanh_encoder_output', False)),
    )
    depth = data.get('depth_encoder')
    if isinstance(depth, dict) and isinstance(depth.get('hidden_dims'), int):
        config = replace(config, depth_hidden_size=depth['hidden_dims'])
    return config


def read_network_config(
    config_paths: Sequence[PathLike],
    num_actions: int,
) -> tuple[NetworkConfig | None, dict[str, Any] | None]:
    """
    Return (network config from agent.yaml, env.yaml mapping) of ``config_paths``.

    Each file is recognised by its content; either may be absent (None). The
    env.yaml history length, when present, must equal the agent's.

    :raises PolicyCardError: for a file that is neither kind.
    :raises CheckpointDimensionError: when env.yaml and agent.yaml disagree.
    """
    network: NetworkConfig | None = None
    env: dict[str, Any] | None = None
    for path in config_paths:
        data = load_training_yaml(path)
        if is_agent_config(data):
            network = network_config_from_agent(data, path, num_actions)
        elif is_env_config(data):
            env = data
        else:
            raise PolicyCardError(
                f'{path} is neither an rsl_rl agent.yaml (policy, algorithm) nor an Isaac Lab'
                ' env.yaml (scene, decimation)'
            )
    if network is not None and env is not None:
        length = env_history_length(env)
        if length is not None and length != network.num_hist:
            raise CheckpointDimensionError(
                f'history length: env.yaml says {int(length)}, agent.yaml says'
                f' {int(network.num_hist)}'
            )
    return network, env


def env_history_length(env: Mapping[str, Any]) -> int | None:
    """Return the extreme-parkour observation history length of an env.yaml, if stated."""
    try:
        value = env['observations']['policy']['extreme_parkour_observations']['params'][
            'history_length'
        ]
    except (KeyError, TypeError):
        return None
    return value if isinstance(value, int) else None

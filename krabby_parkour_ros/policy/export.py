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
Export a teacher-type policy to ONNX (and, on request, TorchScript) with its card.

``krabby-parkour-export CHECKPOINT --out-dir DIR`` writes ``DIR/policy.onnx``
(input ``obs`` [1, 753], output ``actions`` [1, 12]) and
``DIR/policy_card.yaml``; with ``--torchscript`` also ``DIR/policy.pt``
(TorchScript, ``forward(obs [1, 753]) -> actions [1, 12]``). It then reloads
the exports and checks that they reproduce the source on plausible
observations (max abs difference <= 1e-5); exit code 1 when they do not.
ONNX is the default because it is data, not code: a TorchScript file is a
program and is only loaded with ``allow_torchscript`` (``docs/policy.md``).
Like the training exporter, the exported graph is normaliser + actor in
history mode: the estimator is not inside, so an exported policy needs a
measured base velocity.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
import dataclasses
import json
import logging
from pathlib import Path
import sys
from typing import Any

import numpy as np
import torch
from torch import nn

from krabby_parkour_ros.policy.backends import (
    onnx_bytes_of,
    quiet_torchscript_deprecation,
    TeacherGraph,
)
from krabby_parkour_ros.policy.card import CARD_FILENAME, PolicyCard, save_card
from krabby_parkour_ros.policy.checkpoint import (
    METADATA_KEY,
    ModelWeights,
    TORCHSCRIPT_METADATA_FILE,
)
from krabby_parkour_ros.policy.errors import CheckpointError
from krabby_parkour_ros.policy.formats import CheckpointFormat
from krabby_parkour_ros.policy.model import ModelIO, ParkourPolicyModel
from krabby_parkour_ros.policy.sampling import plausible_observations

_LOG = logging.getLogger(__name__)

#: Exports must reproduce their source to this (max abs action difference).
EXPORT_TOLERANCE = 1e-5


def _metadata_json(metadata: Mapping[str, Any]) -> str:
    return json.dumps(dict(metadata), sort_keys=True)


def save_torchscript(
    module: nn.Module, path: Path, obs_dim: int, metadata: Mapping[str, Any]
) -> None:
    """Trace ``module`` for ``[1, obs_dim]`` (or re-save a ScriptModule) with metadata."""
    extra = {TORCHSCRIPT_METADATA_FILE: _metadata_json(metadata)}
    with quiet_torchscript_deprecation():
        if isinstance(module, torch.jit.ScriptModule):
            script = module
        else:
            with torch.no_grad():
                script = torch.jit.trace(module.eval(), torch.zeros(1, obs_dim), check_trace=False)
        torch.jit.save(script, str(path), _extra_files=extra)


def save_onnx(module: nn.Module, path: Path, obs_dim: int, metadata: Mapping[str, Any]) -> None:
    """Export ``module`` to ONNX (``obs`` -> ``actions``) with metadata properties."""
    import onnx  # deferred: only exports need it

    model = onnx.load_model_from_string(onnx_bytes_of(module, obs_dim))
    entry = model.metadata_props.add()
    entry.key = METADATA_KEY
    entry.value = _metadata_json(metadata)
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())


def export_graph(weights: ModelWeights) -> nn.Module:
    """
    Return the module to export: normaliser + history-mode actor.

    :raises CheckpointError: for students and ONNX sources.
    """
    if weights.is_recurrent:
        raise CheckpointError(
            f'{weights.path}: students (depth, GRU) do not fit the [1, obs] -> [1, actions] export'
            ' interface'
        )
    if weights.format == CheckpointFormat.ONNX:
        raise CheckpointError(
            f'{weights.path} is already an ONNX export; converting ONNX back to TorchScript is not'
            ' supported (export from the state dict or TorchScript)'
        )
    if weights.format == CheckpointFormat.TORCHSCRIPT:
        return weights.fresh_torchscript()
    actor, normalizer = weights.teacher_modules()
    return TeacherGraph(actor, normalizer, None).eval()


def export_policy(
    weights: ModelWeights, out_dir: Path, card: PolicyCard, torchscript: bool = False
) -> dict[str, Path]:
    """
    Write ``policy.onnx`` and ``policy_card.yaml`` into ``out_dir``.

    :param torchscript: also write ``policy.pt`` (TorchScript; loading it
        needs ``allow_torchscript``).
    :returns: the written paths by kind (``onnx``, ``card``, and ``torchscript``
        when asked for).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    graph = export_graph(weights)
    metadata = dict(weights.metadata)
    metadata.update(
        trained=card.trained,
        exported_from=weights.path.name,
        source_format=weights.format.value,
        obs_dim=weights.obs_dim,
        action_dim=weights.action_dim,
    )
    paths = {'onnx': out_dir / 'policy.onnx', 'card': out_dir / CARD_FILENAME}
    formats: tuple[str, ...] = ('onnx',)
    if torchscript:
        paths['torchscript'] = out_dir / 'policy.pt'
        formats = ('torchscript', 'onnx')
        save_torchscript(graph, paths['torchscript'], weights.obs_dim, metadata)
    save_onnx(graph, paths['onnx'], weights.obs_dim, metadata)
    save_card(dataclasses.replace(card, formats=formats), paths['card'])
    return paths


def max_action_difference(
    models: Sequence[ParkourPolicyModel], count: int = 64, seed: int = 0
) -> float:
    """Return the largest action difference between ``models[0]`` and the others."""
    worst = 0.0
    for row in plausible_observations(count, seed):
        actions: list[np.ndarray] = []
        for model in models:
            response = model.inference(ModelIO(observation=row))
            if not response.success:
                raise CheckpointError(
                    f'{model.weights.path} failed on a plausible observation:'
                    f' {response.error_message}'
                )
            actions.append(response.action_numpy().copy())
        worst = max(worst, *(float(np.abs(a - actions[0]).max()) for a in actions[1:]))
    return worst


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='krabby-parkour-export',
        description=(
            'Export a teacher-type parkour policy (rsl_rl teacher, safetensors or '
            'TorchScript) to ONNX (and, with --torchscript, TorchScript) with its '
            'policy card.'
        ),
    )
    parser.add_argument('checkpoint', type=Path, help='checkpoint file (format from content)')
    parser.add_argument('--out-dir', type=Path, required=True, help='output folder')
    parser.add_argument(
        '--card',
        type=Path,
        default=None,
        help='policy card (default: policy_card.yaml beside the checkpoint)',
    )
    parser.add_argument(
        '--config',
        type=Path,
        action='append',
        default=None,
        help="the run's agent.yaml and/or env.yaml (repeatable)",
    )
    parser.add_argument('--obs-dim', type=int, default=753)
    parser.add_argument('--action-dim', type=int, default=12)
    parser.add_argument(
        '--allow-unsafe-pickle',
        action='store_true',
        help='allow pickled code in rsl_rl checkpoints (trusted files only)',
    )
    parser.add_argument(
        '--allow-torchscript',
        action='store_true',
        help='allow a TorchScript source checkpoint (its code runs: trusted files only)',
    )
    parser.add_argument(
        '--torchscript',
        action='store_true',
        help=(
            'also write policy.pt (TorchScript); loading it later needs '
            'allow_torchscript, so ONNX is the default'
        ),
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the export command; return the exit code (0 ok, 1 parity failed, 2 refused)."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format='%(levelname)s %(name)s: %(message)s')
    try:
        weights = ModelWeights(
            args.checkpoint,
            config_path=args.config,
            action_dim=args.action_dim,
            obs_dim=args.obs_dim,
            allow_unsafe_pickle=args.allow_unsafe_pickle,
            allow_torchscript=args.allow_torchscript,
            card_path=args.card,
        )
        if weights.card is None:
            print(
                f'error: {args.checkpoint} has no policy card; pass --card (an export always'
                ' carries one)',
                file=sys.stderr,
            )
            return 2
        paths = export_policy(weights, args.out_dir, weights.card, torchscript=args.torchscript)
        models = [ParkourPolicyModel(weights, backend='auto')]
        for kind in ('torchscript', 'onnx'):
            if kind in paths:
                # policy.pt was traced just now from the checked source: trusted.
                models.append(
                    ParkourPolicyModel(
                        ModelWeights(
                            paths[kind],
                            obs_dim=args.obs_dim,
                            action_dim=args.action_dim,
                            allow_torchscript=kind == 'torchscript',
                        )
                    )
                )
        worst = max_action_difference(models)
    except (CheckpointError, FileNotFoundError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    print(f'exported {args.checkpoint} ({weights.format.value}) ->')
    for kind, path in paths.items():
        print(f'  {kind:11} {path}')
    if not weights.card.trained:
        print('NOTE: these weights are UNTRAINED (card trained: false)')
    status = 'ok' if worst <= EXPORT_TOLERANCE else 'FAILED'
    print(
        f'parity source/{"TorchScript/ONNX" if "torchscript" in paths else "ONNX"} on 64 plausible'
        f' observations: max |diff| {worst:.3g} (limit {EXPORT_TOLERANCE:.0e}) {status}'
    )
    return 0 if worst <= EXPORT_TOLERANCE else 1


if __name__ == '__main__':
    sys.exit(main())

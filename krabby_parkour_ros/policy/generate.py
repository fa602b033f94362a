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
Generate deterministic, UNTRAINED checkpoints of every format (tests and demos).

``krabby-parkour-generate-checkpoint --format FORMAT --out FILE --seed N``
builds the extreme-parkour networks with PyTorch's default initialisation
from ``torch.manual_seed(N)`` (same seed, same tensors), writes them in the
requested format with a ``trained: false`` marker inside the file, and
writes ``policy_card.yaml`` beside it with ``trained: false``. The weights
are random: a robot must never run them.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import dataclasses
from pathlib import Path
import sys
from typing import Any

import torch
from torch import nn

from krabby_parkour_ros.contract import GO2_PARKOUR_TEACHER, PolicyContract
from krabby_parkour_ros.policy.backends import TeacherGraph
from krabby_parkour_ros.policy.card import (
    CARD_FILENAME,
    DepthPreprocessing,
    load_card,
    save_card,
    untrained_card,
)
from krabby_parkour_ros.policy.checkpoint import METADATA_KEY
from krabby_parkour_ros.policy.errors import PolicyCardError
from krabby_parkour_ros.policy.export import save_onnx, save_torchscript
from krabby_parkour_ros.policy.formats import CheckpointFormat
from krabby_parkour_ros.policy.networks import (
    Estimator,
    NetworkConfig,
    ParkourActor,
    RecurrentDepthEncoder,
)

GENERATOR = 'krabby-parkour-generate-checkpoint'


@dataclasses.dataclass
class GeneratedNetworks:
    """Randomly initialised networks of one seed."""

    config: NetworkConfig
    actor: ParkourActor
    estimator: Estimator
    critic: nn.Sequential
    std: torch.Tensor
    depth_encoder: RecurrentDepthEncoder
    depth_actor: ParkourActor


def generate_networks(seed: int, config: NetworkConfig = NetworkConfig()) -> GeneratedNetworks:
    """Return every network, initialised deterministically from ``seed``."""
    torch.manual_seed(seed)
    actor = ParkourActor(config).eval()
    estimator = Estimator(config).eval()
    critic = nn.Sequential(
        nn.Linear(config.obs_dim, 512),
        nn.ELU(),
        nn.Linear(512, 256),
        nn.ELU(),
        nn.Linear(256, 128),
        nn.ELU(),
        nn.Linear(128, 1),
    )
    std = torch.ones(config.num_actions)
    depth_encoder = RecurrentDepthEncoder(config).eval()
    depth_actor = ParkourActor(config).eval()
    return GeneratedNetworks(config, actor, estimator, critic, std, depth_encoder, depth_actor)


def _metadata(fmt: CheckpointFormat, seed: int, config: NetworkConfig) -> dict[str, Any]:
    return {
        'trained': False,
        'generator': GENERATOR,
        'seed': seed,
        'format': fmt.value,
        'obs_dim': config.obs_dim,
        'action_dim': config.num_actions,
        'license': 'Apache-2.0',
    }


def write_checkpoint(fmt: CheckpointFormat, out: Path, seed: int) -> Path:
    """
    Write a generated checkpoint of ``fmt`` to ``out`` and its card beside it.

    :returns: the card path.
    """
    nets = generate_networks(seed)
    config = nets.config
    meta = _metadata(fmt, seed, config)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt in (CheckpointFormat.RSL_RL_TEACHER, CheckpointFormat.RSL_RL_STUDENT):
        model_state = {'actor.' + k: v for k, v in nets.actor.state_dict().items()}
        model_state.update({'critic.' + k: v for k, v in nets.critic.state_dict().items()})
        model_state['std'] = nets.std
        data: dict[str, Any] = {
            'model_state_dict': model_state,
            'estimator_state_dict': nets.estimator.state_dict(),
            'optimizer_state_dict': {'state': {}, 'param_groups': []},
            'iter': 0,
            'infos': {METADATA_KEY: meta},
        }
        if fmt == CheckpointFormat.RSL_RL_STUDENT:
            data['depth_encoder_state_dict'] = nets.depth_encoder.state_dict()
            data['depth_actor_state_dict'] = nets.depth_actor.state_dict()
        torch.save(data, str(out))
    elif fmt == CheckpointFormat.SAFETENSORS:
        from safetensors.torch import save_file

        tensors = {'actor.' + k: v.contiguous() for k, v in nets.actor.state_dict().items()}
        tensors.update(
            {'estimator.' + k: v.contiguous() for k, v in nets.estimator.state_dict().items()}
        )
        save_file(
            tensors,
            str(out),
            metadata={
                k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in meta.items()
            },
        )
    else:
        graph = TeacherGraph(nets.actor, None, None).eval()
        writer = save_torchscript if fmt == CheckpointFormat.TORCHSCRIPT else save_onnx
        writer(graph, out, config.obs_dim, meta)
    return _write_card(fmt, out, seed)


def _write_card(fmt: CheckpointFormat, out: Path, seed: int) -> Path:
    contract: PolicyContract = GO2_PARKOUR_TEACHER
    depth = None
    if fmt == CheckpointFormat.RSL_RL_STUDENT:
        contract = dataclasses.replace(contract, name='go2_parkour_student', scan_required=False)
        depth = DepthPreprocessing()
    card = untrained_card(
        contract,
        [fmt.value],
        source=f'{GENERATOR} --format {fmt.value} --seed {int(seed)}',
        depth=depth,
    )
    card_path = out.parent / CARD_FILENAME
    if card_path.is_file():
        try:
            existing = load_card(card_path)
        except PolicyCardError:
            existing = None
        if existing is not None and existing.contract == card.contract and not existing.trained:
            merged = tuple(dict.fromkeys(existing.formats + card.formats))
            card = dataclasses.replace(card, formats=merged)
    save_card(card, card_path)
    return card_path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=GENERATOR,
        description='Write a deterministic UNTRAINED parkour checkpoint (random weights) and '
        'its policy card (trained: false). For tests and demos only.',
    )
    parser.add_argument(
        '--format',
        required=True,
        choices=[f.value for f in CheckpointFormat],
        help='checkpoint format to write',
    )
    parser.add_argument('--out', type=Path, required=True, help='checkpoint file to write')
    parser.add_argument('--seed', type=int, default=0, help='random seed (default 0)')
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the generate command; return the exit code."""
    args = _parser().parse_args(argv)
    fmt = CheckpointFormat(args.format)
    card_path = write_checkpoint(fmt, args.out, args.seed)
    print(f'wrote {fmt.value} checkpoint {args.out} (seed {int(args.seed)}) and card {card_path}')
    print(
        'WARNING: these weights are UNTRAINED random numbers (card trained: false). '
        'Never run them on a robot.'
    )
    if fmt == CheckpointFormat.TORCHSCRIPT:
        print(
            'NOTE: a TorchScript file is code; loading it needs allow_torchscript '
            '(safetensors and ONNX do not).'
        )
    return 0


if __name__ == '__main__':
    sys.exit(main())

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
The extreme-parkour networks, rebuilt so that training state dicts load as-is.

Module attribute names and ``nn.Sequential`` indices reproduce the training
code (extreme-parkour ``ActorCriticRMA`` / ``Actor`` / ``StateHistoryEncoder``
/ ``Estimator`` / ``DepthOnlyFCBackbone58x87`` / ``RecurrentDepthBackbone``
and their Isaac Lab port), so the state-dict keys and shapes are the
training ones:

- :class:`ParkourActor` (keys ``scan_encoder.*``, ``priv_encoder.*``,
  ``history_encoder.*``, ``actor_backbone.*``; ``actor.`` prefixed inside
  ``model_state_dict``). At deployment it runs in *history mode*: the latent
  comes from the history encoder, never from the privileged encoder.
- :class:`Estimator` (keys ``estimator.{0,2,4}``): proprio -> the whole
  ``priv_explicit`` block.
- :class:`RecurrentDepthEncoder` (keys ``base_backbone.image_compression.*``,
  ``combination_mlp.*``, ``rnn.*``, ``output_mlp.*``): depth image + proprio
  -> 32 scan latent + 2 yaw values; its GRU state is passed explicitly.

:class:`NetworkConfig` holds every size; :func:`infer_actor_config` and
friends recover it from a state dict's shapes when no training config is at
hand, and :func:`check_state_dict` names every missing, unexpected or
mis-shaped tensor.

Length: about 570 lines, beyond the usual ~450. One class per training network (actor,
encoders, estimator, depth backbones), each small; they stay together because their state-
dict keys must mirror the training code's module tree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

import torch
from torch import nn

from krabby_parkour_ros.policy.errors import (
    CheckpointDimensionError,
    CheckpointKeyError,
    CheckpointShapeError,
)

#: Depth image size the depth backbone was built for (rows, columns).
DEPTH_IMAGE_SHAPE = (58, 87)
#: Scan-latent size + 2 yaw outputs of the recurrent depth encoder.
DEPTH_YAW_OUTPUTS = 2
#: The student's yaw outputs are multiplied by this before use (training code).
DEPTH_YAW_SCALE = 1.5

#: History-encoder conv stacks of the training code, by history length:
#: ``(out_channels_factor, kernel, stride)`` per Conv1d, channel factors of
#: ``channel_size``.
_CONV_STACKS: dict[int, tuple[tuple[int, int, int, int], ...]] = {
    10: ((3, 2, 4, 2), (2, 1, 2, 1)),
    20: ((3, 2, 6, 2), (2, 1, 4, 2)),
    50: ((3, 2, 8, 4), (2, 1, 5, 1), (1, 1, 5, 1)),
}
_Module = TypeVar('_Module', bound=nn.Module)


def activation_module(name: str) -> nn.Module:
    """
    Return the activation module named as in the training config.

    :raises CheckpointDimensionError: for a name the training code does not know.
    """
    table = {
        'elu': nn.ELU,
        'selu': nn.SELU,
        'relu': nn.ReLU,
        'crelu': nn.ReLU,
        'lrelu': nn.LeakyReLU,
        'tanh': nn.Tanh,
        'sigmoid': nn.Sigmoid,
    }
    if name not in table:
        raise CheckpointDimensionError(
            f'activation {name!r} is not one of the training code activations {sorted(table)}'
        )
    return table[name]()


@dataclass(frozen=True)
class NetworkConfig:
    """Sizes of the actor, estimator and depth encoder (training config ``policy``)."""

    num_prop: int = 53
    num_scan: int = 132
    num_priv_explicit: int = 9
    num_priv_latent: int = 29
    num_hist: int = 10
    num_actions: int = 12
    scan_encoder_dims: tuple[int, ...] = (128, 64, 32)
    priv_encoder_dims: tuple[int, ...] = (64, 20)
    actor_hidden_dims: tuple[int, ...] = (512, 256, 128)
    estimator_hidden_dims: tuple[int, ...] = (128, 64)
    channel_size: int = 10
    activation: str = 'elu'
    #: Tanh after the last backbone layer (``tanh_encoder_output``).
    tanh_encoder_output: bool = False
    depth_hidden_size: int = 512
    depth_combination_dim: int = 128

    @property
    def obs_dim(self) -> int:
        """Return the length of the whole observation vector."""
        return (
            self.num_prop
            + self.num_scan
            + self.num_priv_explicit
            + self.num_priv_latent
            + self.num_hist * self.num_prop
        )

    @property
    def scan_latent_dim(self) -> int:
        """Return the size of the scan latent (the scan encoder output)."""
        return self.scan_encoder_dims[-1] if self.scan_encoder_dims else self.num_scan

    @property
    def priv_explicit_slice(self) -> slice:
        """Return the slice of ``priv_explicit`` in the observation."""
        start = self.num_prop + self.num_scan
        return slice(start, start + self.num_priv_explicit)

    @property
    def priv_latent_slice(self) -> slice:
        """Return the slice of ``priv_latent`` in the observation."""
        start = self.num_prop + self.num_scan + self.num_priv_explicit
        return slice(start, start + self.num_priv_latent)

    @property
    def history_slice(self) -> slice:
        """Return the slice of the flattened history in the observation."""
        return slice(self.obs_dim - self.num_hist * self.num_prop, self.obs_dim)


def _mlp(
    sizes: Sequence[int],
    activation: str,
    last_activation: nn.Module | None,
) -> nn.Sequential:
    layers: list[nn.Module] = []
    for index in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[index], sizes[index + 1]))
        if index < len(sizes) - 2:
            layers.append(activation_module(activation))
        elif last_activation is not None:
            layers.append(last_activation)
    return nn.Sequential(*layers)


class StateHistoryEncoder(nn.Module):
    """
    1-D convolutional encoder of the proprio history (the RMA adaptation module).

    Each of the ``num_hist`` steps goes through ``encoder`` (Linear + act),
    the ``[N, T, C]`` result is permuted to ``[N, C, T]`` for ``conv_layers``,
    flattened and projected by ``linear_output`` (Linear + act).
    """

    def __init__(self, config: NetworkConfig, output_size: int) -> None:
        super().__init__()
        if config.num_hist not in _CONV_STACKS:
            raise CheckpointDimensionError(
                f'history length {int(config.num_hist)}: the training code only has history'
                f' encoders for {sorted(_CONV_STACKS)}'
            )
        channel = config.channel_size
        self.num_hist = config.num_hist
        self.num_prop = config.num_prop
        self.encoder = nn.Sequential(
            nn.Linear(config.num_prop, 3 * channel), activation_module(config.activation)
        )
        layers: list[nn.Module] = []
        length = config.num_hist
        out_channels = 3 * channel
        for in_factor, out_factor, kernel, stride in _CONV_STACKS[config.num_hist]:
            out_channels = out_factor * channel
            layers.append(nn.Conv1d(in_factor * channel, out_channels, kernel, stride))
            layers.append(activation_module(config.activation))
            length = (length - kernel) // stride + 1
        layers.append(nn.Flatten())
        self.conv_layers = nn.Sequential(*layers)
        self.linear_output = nn.Sequential(
            nn.Linear(out_channels * length, output_size), activation_module(config.activation)
        )

    def forward(self, history: torch.Tensor) -> torch.Tensor:
        """Encode ``history`` ``[N, num_hist * num_prop]`` into ``[N, output_size]``."""
        batch = history.shape[0]
        projection = self.encoder(history.reshape(batch * self.num_hist, self.num_prop))
        features = self.conv_layers(projection.reshape(batch, self.num_hist, -1).permute(0, 2, 1))
        return self.linear_output(features)


class ParkourActor(nn.Module):
    """
    The extreme-parkour actor (training class ``Actor``), history mode.

    Backbone input: ``[proprio | scan latent | priv_explicit | history latent]``.
    ``priv_encoder`` is built (its weights are in every checkpoint) but the
    deployment path never calls it: :meth:`forward_privileged` exists only
    to show the difference in tests.
    """

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        self.config = config
        act = config.activation
        if config.priv_encoder_dims:
            self.priv_encoder: nn.Module = _mlp(
                (config.num_priv_latent,) + tuple(config.priv_encoder_dims),
                act,
                activation_module(act),
            )
            priv_out = config.priv_encoder_dims[-1]
        else:
            self.priv_encoder = nn.Identity()
            priv_out = config.num_priv_latent
        self.history_encoder = StateHistoryEncoder(config, priv_out)
        if config.scan_encoder_dims:
            self.scan_encoder: nn.Module = _mlp(
                (config.num_scan,) + tuple(config.scan_encoder_dims), act, nn.Tanh()
            )
        else:
            self.scan_encoder = nn.Identity()
        backbone_in = (
            config.num_prop + config.scan_latent_dim + config.num_priv_explicit + priv_out
        )
        self.actor_backbone = _mlp(
            (backbone_in,) + tuple(config.actor_hidden_dims) + (config.num_actions,),
            act,
            nn.Tanh() if config.tanh_encoder_output else None,
        )
        self._prop_end = config.num_prop
        self._scan_end = config.num_prop + config.num_scan
        self._explicit_end = self._scan_end + config.num_priv_explicit
        self._latent_end = self._explicit_end + config.num_priv_latent
        self._history_start = config.obs_dim - config.num_hist * config.num_prop

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Return the raw actions ``[N, num_actions]`` for ``obs`` ``[N, obs_dim]``."""
        scan_latent = self.scan_encoder(obs[:, self._prop_end : self._scan_end])
        return self.forward_with_scan_latent(obs, scan_latent)

    def forward_with_scan_latent(
        self, obs: torch.Tensor, scan_latent: torch.Tensor
    ) -> torch.Tensor:
        """Return the actions with ``scan_latent`` replacing the scan encoder (students)."""
        history_latent = self.history_encoder(obs[:, self._history_start :])
        backbone_input = torch.cat(
            [
                obs[:, : self._prop_end],
                scan_latent,
                obs[:, self._scan_end : self._explicit_end],
                history_latent,
            ],
            dim=1,
        )
        return self.actor_backbone(backbone_input)

    def forward_privileged(self, obs: torch.Tensor) -> torch.Tensor:
        """Return the actions in training's privileged mode (latent from ``priv_latent``)."""
        scan_latent = self.scan_encoder(obs[:, self._prop_end : self._scan_end])
        latent = self.priv_encoder(obs[:, self._explicit_end : self._latent_end])
        backbone_input = torch.cat(
            [
                obs[:, : self._prop_end],
                scan_latent,
                obs[:, self._scan_end : self._explicit_end],
                latent,
            ],
            dim=1,
        )
        return self.actor_backbone(backbone_input)


class Estimator(nn.Module):
    """MLP proprio -> ``priv_explicit`` (training class ``Estimator``/``DefaultEstimator``)."""

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        self.estimator = _mlp(
            (config.num_prop,) + tuple(config.estimator_hidden_dims) + (config.num_priv_explicit,),
            config.activation,
            None,
        )

    def forward(self, proprio: torch.Tensor) -> torch.Tensor:
        """Return the estimated ``priv_explicit`` ``[N, num_priv_explicit]``."""
        return self.estimator(proprio)


class DepthBackbone58x87(nn.Module):
    """
    Convolutional depth encoder (training class ``DepthOnlyFCBackbone58x87``).

    Output activation is ELU, as built by the training runners.
    """

    def __init__(self, scan_latent_dim: int) -> None:
        super().__init__()
        rows, cols = DEPTH_IMAGE_SHAPE
        flat = 64 * ((rows - 4) // 2 - 2) * ((cols - 4) // 2 - 2)
        self.image_compression = nn.Sequential(
            nn.Conv2d(1, 32, kernel_size=5),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.ELU(),
            nn.Conv2d(32, 64, kernel_size=3),
            nn.ELU(),
            nn.Flatten(),
            nn.Linear(flat, 128),
            nn.ELU(),
            nn.Linear(128, scan_latent_dim),
        )
        self.output_activation = nn.ELU()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Encode ``images`` ``[N, 58, 87]`` into ``[N, scan_latent_dim]``."""
        return self.output_activation(self.image_compression(images.unsqueeze(1)))


class RecurrentDepthEncoder(nn.Module):
    """
    Depth + proprio -> scan latent and yaw (training ``RecurrentDepthBackbone``).

    The GRU hidden state is an explicit argument and result, so the module
    holds no episode state itself.
    """

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        latent = config.scan_latent_dim
        self.base_backbone = DepthBackbone58x87(latent)
        self.combination_mlp = nn.Sequential(
            nn.Linear(latent + config.num_prop, config.depth_combination_dim),
            nn.ELU(),
            nn.Linear(config.depth_combination_dim, latent),
        )
        self.rnn = nn.GRU(
            input_size=latent, hidden_size=config.depth_hidden_size, batch_first=True
        )
        self.output_mlp = nn.Sequential(
            nn.Linear(config.depth_hidden_size, latent + DEPTH_YAW_OUTPUTS), nn.Tanh()
        )

    def forward(
        self, depth_image: torch.Tensor, proprio: torch.Tensor, hidden: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """
        Run one recurrent step.

        :param depth_image: ``[N, 58, 87]`` preprocessed depth.
        :param proprio: ``[N, num_prop]`` with the yaw slots 6:8 zeroed.
        :param hidden: ``[1, N, hidden]`` GRU state.
        :returns: (``[N, latent + 2]`` output, new hidden state).
        """
        image_latent = self.base_backbone(depth_image)
        combined = self.combination_mlp(torch.cat((image_latent, proprio), dim=-1))
        output, new_hidden = self.rnn(combined[:, None, :], hidden)
        return self.output_mlp(output.squeeze(1)), new_hidden


class ObservationNormalizer(nn.Module):
    """
    rsl_rl ``EmpiricalNormalization`` at inference: ``(x - mean) / (std + eps)``.

    Only used when a checkpoint carries ``obs_norm_state_dict`` (runs trained
    with ``empirical_normalization: true``); it applies to the whole
    observation before the estimator, the depth encoder and the actor, as
    the training runner normalised every observation it stored.
    """

    # Buffers (register_buffer): declared so that they type as tensors, not modules.
    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, mean: torch.Tensor, std: torch.Tensor, eps: float = 1e-2) -> None:
        super().__init__()
        self.register_buffer('mean', mean.reshape(1, -1).to(torch.float32).clone())
        self.register_buffer('std', std.reshape(1, -1).to(torch.float32).clone())
        self.eps = eps

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Return the normalised observation."""
        return (obs - self.mean) / (self.std + self.eps)


# -- state-dict inspection ---------------------------------------------------------------


def _shape(state: Mapping[str, torch.Tensor], key: str, where: str) -> tuple[int, ...]:
    if key not in state:
        raise CheckpointKeyError(where, missing=[key])
    return tuple(state[key].shape)


def _sequential_linear_dims(
    state: Mapping[str, torch.Tensor], prefix: str, where: str
) -> tuple[int, tuple[int, ...]]:
    """Return (input size, output sizes) of the Linear layers ``prefix.{0,2,4..}``."""
    # Indices from weights and biases, so a lost weight is reported as missing.
    indices = sorted(
        {
            int(k[len(prefix) :].split('.')[0])
            for k in state
            if k.startswith(prefix)
            and k.endswith(('.weight', '.bias'))
            and k[len(prefix) :].split('.')[0].isdigit()
        }
    )
    if not indices:
        raise CheckpointKeyError(where, missing=[prefix + '0.weight'])
    first = _shape(state, f'{prefix}{int(indices[0])}.weight', where)
    if len(first) != 2:
        raise CheckpointShapeError(
            where,
            f'{prefix}{int(indices[0])}.weight',
            (first[0], -1),
            first,
            'a Linear weight is 2-D',
        )
    outs = tuple(_shape(state, f'{prefix}{int(i)}.weight', where)[0] for i in indices)
    return first[1], outs


def infer_actor_config(
    state: Mapping[str, torch.Tensor], where: str, base: NetworkConfig | None = None
) -> NetworkConfig:
    """
    Recover the actor sizes from an actor state dict (keys without ``actor.``).

    Sizes come from each layer's output dimension and the first layers'
    input dimensions; :func:`check_state_dict` then verifies every other
    shape against a module built from them. Activation and output tanh
    cannot be seen in a state dict: they are taken from ``base``.
    """
    base = base or NetworkConfig()
    num_scan, scan_dims = _sequential_linear_dims(state, 'scan_encoder.', where)
    num_priv_latent, priv_dims = _sequential_linear_dims(state, 'priv_encoder.', where)
    enc = _shape(state, 'history_encoder.encoder.0.weight', where)
    if len(enc) != 2 or enc[0] % 3 != 0:
        raise CheckpointShapeError(
            where,
            'history_encoder.encoder.0.weight',
            (3 * base.channel_size, base.num_prop),
            enc,
            'rows must be 3 x channel_size',
        )
    num_prop = enc[1]
    channel = enc[0] // 3
    kernel = _shape(state, 'history_encoder.conv_layers.0.weight', where)
    num_hist = _history_length_from_conv(state, kernel, where)
    backbone_in, backbone_outs = _sequential_linear_dims(state, 'actor_backbone.', where)
    num_explicit = backbone_in - num_prop - scan_dims[-1] - priv_dims[-1]
    if num_explicit < 0:
        raise CheckpointShapeError(
            where,
            'actor_backbone.0.weight',
            (backbone_outs[0], num_prop + scan_dims[-1] + priv_dims[-1]),
            _shape(state, 'actor_backbone.0.weight', where),
            'backbone input smaller than proprio + scan latent + history latent',
        )
    return replace(
        base,
        num_prop=num_prop,
        num_scan=num_scan,
        num_priv_explicit=num_explicit,
        num_priv_latent=num_priv_latent,
        num_hist=num_hist,
        num_actions=backbone_outs[-1],
        scan_encoder_dims=scan_dims,
        priv_encoder_dims=priv_dims,
        actor_hidden_dims=backbone_outs[:-1],
        channel_size=channel,
    )


def _history_length_from_conv(
    state: Mapping[str, torch.Tensor], kernel: tuple[int, ...], where: str
) -> int:
    has_third = 'history_encoder.conv_layers.4.weight' in state
    for length, stack in _CONV_STACKS.items():
        if len(kernel) == 3 and kernel[2] == stack[0][2] and has_third == (len(stack) == 3):
            return length
    raise CheckpointShapeError(
        where,
        'history_encoder.conv_layers.0.weight',
        (20, 30, 4),
        kernel,
        'no training history encoder (history length 10, 20 or 50) has this kernel',
    )


def infer_estimator_hidden_dims(state: Mapping[str, torch.Tensor], where: str) -> tuple[int, ...]:
    """Return the hidden sizes of an estimator state dict (keys ``estimator.N.*``)."""
    _, outs = _sequential_linear_dims(state, 'estimator.', where)
    return outs[:-1]


def infer_depth_config(
    state: Mapping[str, torch.Tensor], where: str, base: NetworkConfig
) -> NetworkConfig:
    """Return ``base`` with the GRU and combination sizes of a depth-encoder state dict."""
    hidden = _shape(state, 'rnn.weight_hh_l0', where)
    combination = _shape(state, 'combination_mlp.0.weight', where)
    return replace(
        base,
        depth_hidden_size=hidden[1] if len(hidden) == 2 else hidden[0],
        depth_combination_dim=combination[0],
    )


def check_state_dict(
    module: nn.Module,
    state: Mapping[str, torch.Tensor],
    where: str,
) -> dict[str, torch.Tensor]:
    """
    Check ``state`` against ``module`` exactly and return it as float32 tensors.

    :raises CheckpointKeyError: listing every missing and every unexpected key.
    :raises CheckpointShapeError: for the first tensor whose shape differs,
        naming the key, the file's shape and the network's shape.
    """
    expected = module.state_dict()
    missing = set(expected) - set(state)
    unexpected = set(state) - set(expected)
    if missing or unexpected:
        raise CheckpointKeyError(where, missing, unexpected)
    out: dict[str, torch.Tensor] = {}
    for key, reference in expected.items():
        tensor = state[key]
        if not isinstance(tensor, torch.Tensor):
            raise CheckpointShapeError(
                where, key, reference.shape, (), f'not a tensor but {type(tensor).__name__}'
            )
        if tuple(tensor.shape) != tuple(reference.shape):
            raise CheckpointShapeError(where, key, reference.shape, tensor.shape)
        if not tensor.is_floating_point():
            raise CheckpointShapeError(
                where,
                key,
                reference.shape,
                tensor.shape,
                f'dtype {tensor.dtype} is not a floating-point type',
            )
        out[key] = tensor.detach().to(dtype=torch.float32, device='cpu')
    return out


def load_module(module: _Module, state: Mapping[str, torch.Tensor], where: str) -> _Module:
    """Check ``state`` with :func:`check_state_dict`, load it and set eval mode."""
    module.load_state_dict(check_state_dict(module, state, where), strict=True)
    module.eval()
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    return module


def strip_prefix(state: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """Return the entries of ``state`` under ``prefix``, with the prefix removed."""
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}

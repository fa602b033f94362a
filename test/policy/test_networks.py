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

"""Golden tests of the rebuilt networks: wiring, keys and an independent NumPy forward."""

import numpy as np
import pytest
import torch

from krabby_parkour_ros.policy.networks import (
    Estimator,
    infer_actor_config,
    NetworkConfig,
    ParkourActor,
    RecurrentDepthEncoder,
)

from .conftest import needs_shared, SHARED_TEACHER

#: Teacher actor keys listed in parkour-policy.md (without the actor. prefix).
DOC_ACTOR_KEYS = {
    f'{layer}.{kind}'
    for kind in ('weight', 'bias')
    for layer in (
        'scan_encoder.0',
        'scan_encoder.2',
        'scan_encoder.4',
        'priv_encoder.0',
        'priv_encoder.2',
        'history_encoder.encoder.0',
        'history_encoder.conv_layers.0',
        'history_encoder.conv_layers.2',
        'history_encoder.linear_output.0',
        'actor_backbone.0',
        'actor_backbone.2',
        'actor_backbone.4',
        'actor_backbone.6',
    )
}

SMALL = NetworkConfig(
    num_prop=3,
    num_scan=4,
    num_priv_explicit=2,
    num_priv_latent=2,
    num_hist=10,
    num_actions=2,
    scan_encoder_dims=(3,),
    priv_encoder_dims=(2,),
    actor_hidden_dims=(5,),
    channel_size=1,
)


def _elu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


def _numpy_actor(sd: dict, obs: np.ndarray, c: NetworkConfig) -> np.ndarray:
    """Independent history-mode forward written from the doc's layer list."""
    w = {k: v.detach().numpy().astype(np.float64) for k, v in sd.items()}
    prop = obs[: c.num_prop]
    scan = obs[c.num_prop : c.num_prop + c.num_scan]
    explicit = obs[c.num_prop + c.num_scan : c.num_prop + c.num_scan + c.num_priv_explicit]
    history = obs[-c.num_hist * c.num_prop :].reshape(c.num_hist, c.num_prop)
    scan_latent = np.tanh(w['scan_encoder.0.weight'] @ scan + w['scan_encoder.0.bias'])
    proj = _elu(
        history @ w['history_encoder.encoder.0.weight'].T + w['history_encoder.encoder.0.bias']
    )  # [T, 3c]
    x = proj.T  # [3c, T]
    for index, stride in ((0, 2), (2, 1)):
        kernel = w[f'history_encoder.conv_layers.{int(index)}.weight']  # [out, in, k]
        bias = w[f'history_encoder.conv_layers.{int(index)}.bias']
        out_len = (x.shape[1] - kernel.shape[2]) // stride + 1
        y = np.zeros((kernel.shape[0], out_len))
        for o in range(kernel.shape[0]):
            for t in range(out_len):
                window = x[:, t * stride : t * stride + kernel.shape[2]]
                y[o, t] = np.sum(kernel[o] * window) + bias[o]
        x = _elu(y)
    latent = _elu(
        w['history_encoder.linear_output.0.weight'] @ x.reshape(-1)
        + w['history_encoder.linear_output.0.bias']
    )
    h = np.concatenate([prop, scan_latent, explicit, latent])
    h = _elu(w['actor_backbone.0.weight'] @ h + w['actor_backbone.0.bias'])
    return w['actor_backbone.2.weight'] @ h + w['actor_backbone.2.bias']


def test_small_actor_matches_independent_numpy_forward() -> None:
    torch.manual_seed(3)
    actor = ParkourActor(SMALL).eval()
    obs = np.random.default_rng(0).normal(0, 1, SMALL.obs_dim)
    with torch.no_grad():
        got = actor(torch.tensor(obs[None], dtype=torch.float32))[0].double().numpy()
    want = _numpy_actor(actor.state_dict(), obs, SMALL)
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert SMALL.obs_dim == 3 + 4 + 2 + 2 + 30


def test_default_actor_keys_and_shapes_are_the_documented_ones() -> None:
    actor = ParkourActor(NetworkConfig())
    shapes = {k: tuple(v.shape) for k, v in actor.state_dict().items()}
    assert set(shapes) == DOC_ACTOR_KEYS
    assert shapes['actor_backbone.0.weight'] == (512, 114)
    assert shapes['history_encoder.conv_layers.0.weight'] == (20, 30, 4)
    assert shapes['history_encoder.conv_layers.2.weight'] == (10, 20, 2)
    assert shapes['scan_encoder.4.weight'] == (32, 64)
    assert shapes['priv_encoder.0.weight'] == (64, 29)
    assert NetworkConfig().obs_dim == 753


def test_estimator_and_depth_encoder_keys() -> None:
    est = {k: tuple(v.shape) for k, v in Estimator(NetworkConfig()).state_dict().items()}
    assert est == {
        'estimator.0.weight': (128, 53),
        'estimator.0.bias': (128,),
        'estimator.2.weight': (64, 128),
        'estimator.2.bias': (64,),
        'estimator.4.weight': (9, 64),
        'estimator.4.bias': (9,),
    }
    depth = {
        k: tuple(v.shape) for k, v in RecurrentDepthEncoder(NetworkConfig()).state_dict().items()
    }
    assert depth['base_backbone.image_compression.0.weight'] == (32, 1, 5, 5)
    assert depth['base_backbone.image_compression.3.weight'] == (64, 32, 3, 3)
    assert depth['base_backbone.image_compression.6.weight'] == (128, 64 * 25 * 39)
    assert depth['base_backbone.image_compression.8.weight'] == (32, 128)
    assert depth['combination_mlp.0.weight'] == (128, 32 + 53)
    assert depth['combination_mlp.2.weight'] == (32, 128)
    assert depth['rnn.weight_ih_l0'] == (3 * 512, 32)
    assert depth['rnn.weight_hh_l0'] == (3 * 512, 512)
    assert depth['output_mlp.0.weight'] == (34, 512)


def test_infer_config_round_trips_other_history_lengths() -> None:
    for length in (10, 20, 50):
        config = NetworkConfig(num_hist=length, actor_hidden_dims=(64, 32))
        state = ParkourActor(config).state_dict()
        assert infer_actor_config(state, 'test') == config


@pytest.fixture(scope='module')
def teacher_actor() -> ParkourActor:
    from safetensors.torch import load_file

    from krabby_parkour_ros.policy.networks import load_module, strip_prefix
    from krabby_parkour_ros.policy.shipped import shipped_checkpoint_path

    state = strip_prefix(load_file(str(shipped_checkpoint_path())), 'actor.')
    return load_module(ParkourActor(infer_actor_config(state, 'shipped')), state, 'shipped')


def test_history_mode_wiring(teacher_actor: ParkourActor) -> None:
    """priv_latent is ignored; history, scan and priv_explicit all matter."""
    from krabby_parkour_ros.policy.sampling import plausible_observations

    config = teacher_actor.config
    obs = torch.from_numpy(plausible_observations(16, seed=5))
    with torch.no_grad():
        base = teacher_actor(obs)
        for block, must_change in (
            (config.priv_latent_slice, False),
            (config.history_slice, True),
            (slice(config.num_prop, config.num_prop + config.num_scan), True),
            (config.priv_explicit_slice, True),
        ):
            changed = obs.clone()
            changed[:, block] += 0.5
            diff = (teacher_actor(changed) - base).abs().max().item()
            assert (diff > 1e-3) == must_change, (block, diff)
        # Privileged mode (training only) does read priv_latent: the slices are not mixed up.
        changed = obs.clone()
        changed[:, config.priv_latent_slice] += 0.5
        priv_diff = (
            (teacher_actor.forward_privileged(changed) - teacher_actor.forward_privileged(obs))
            .abs()
            .max()
            .item()
        )
        assert priv_diff > 1e-3


@needs_shared
def test_shipped_safetensors_modules_reproduce_policy_pt(teacher_actor: ParkourActor) -> None:
    from krabby_parkour_ros.policy.sampling import plausible_observations

    from krabby_parkour_ros.policy.backends import quiet_torchscript_deprecation

    with quiet_torchscript_deprecation():
        script = torch.jit.load(str(SHARED_TEACHER / 'policy.pt'))
    obs = torch.from_numpy(plausible_observations(1024, seed=11))
    with torch.no_grad():
        diff = (teacher_actor(obs) - script(obs)).abs().max().item()
    assert diff <= 1e-6

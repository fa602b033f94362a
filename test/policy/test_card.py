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

"""Policy cards: shipped card, derivation from training configs, validation, checkpoint fit."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from krabby_parkour_ros.contract import GO2_PARKOUR_TEACHER
from krabby_parkour_ros.policy import (
    card_from_training_config,
    CheckpointFormat,
    load_card,
    ModelWeights,
    PolicyCardError,
    PolicyCardMismatchError,
    save_card,
)
from krabby_parkour_ros.policy.card import card_to_dict
from krabby_parkour_ros.policy.shipped import shipped_checkpoint_path, shipped_model_path
from krabby_parkour_ros.policy.training_config import load_training_yaml

from .conftest import needs_shared, SHARED_TEACHER


def test_shipped_card_equals_the_go2_teacher_contract() -> None:
    card = load_card(shipped_model_path() / 'policy_card.yaml')
    assert card.contract == GO2_PARKOUR_TEACHER
    assert card.trained and card.formats == ('safetensors',)
    assert 'GPL-3.0' in card.license and 'maido-39/Isaaclab_Parkour' in card.source
    weights = ModelWeights(shipped_checkpoint_path())
    assert weights.card is not None and weights.card.contract == GO2_PARKOUR_TEACHER
    assert weights.format == CheckpointFormat.SAFETENSORS and weights.trained


@needs_shared
def test_card_from_the_shared_training_config() -> None:
    card = card_from_training_config(SHARED_TEACHER / 'env.yaml', SHARED_TEACHER / 'agent.yaml')
    assert card.contract == GO2_PARKOUR_TEACHER
    shipped = load_card(shipped_model_path() / 'policy_card.yaml')
    assert shipped.contract == card.contract
    assert card.contract.policy_period == pytest.approx(0.02)


@needs_shared
def test_shipped_weights_are_the_shared_file() -> None:
    assert (
        shipped_checkpoint_path().read_bytes()
        == (SHARED_TEACHER / 'teacher_actor.safetensors').read_bytes()
    )


def test_save_load_round_trip(tmp_path: Path) -> None:
    card = load_card(shipped_model_path() / 'policy_card.yaml')
    path = tmp_path / 'card.yaml'
    save_card(card, path)
    assert load_card(path) == card


def _card_dict() -> dict[str, Any]:
    return card_to_dict(load_card(shipped_model_path() / 'policy_card.yaml'))


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / 'policy_card.yaml'
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    'edit, pattern',
    [
        (lambda d: d['pd'].pop('kp'), "missing field 'pd.kp'"),
        (lambda d: d['timing'].update(decimaton=4), r'unknown field\(s\) timing.decimaton'),
        (lambda d: d['limits'].update(effort=[35.0] * 11), 'limits.effort must be a list of 12'),
        (lambda d: d['joints'].update(names=['a'] * 12), 'unique'),
        (lambda d: d.update(trained='yes'), 'trained must be true or false'),
        (lambda d: d['scan'].update(nx=10), 'scan grid has 10 x 11'),
        (lambda d: d.update(formats=['pickle']), 'formats'),
        (lambda d: d['observation'].update(history_fill_rule='fill_once'), 'history_fill_rule'),
        (lambda d: d['action'].update(scale=-0.25), 'action.scale must be a finite positive'),
        (lambda d: d.update(card_version=2), 'card_version 2'),
    ],
)
def test_invalid_cards_name_the_field(tmp_path: Path, edit: Any, pattern: str) -> None:
    data = _card_dict()
    edit(data)
    with pytest.raises(PolicyCardError, match=pattern):
        load_card(_write(tmp_path, data))


def test_unreadable_card(tmp_path: Path) -> None:
    path = tmp_path / 'card.yaml'
    path.write_text('a: [unclosed\n')
    with pytest.raises(PolicyCardError, match='not valid YAML'):
        load_card(path)
    with pytest.raises(PolicyCardError, match='cannot read'):
        load_card(tmp_path / 'absent.yaml')


def test_card_checkpoint_mismatch(tmp_path: Path) -> None:
    data = _card_dict()
    data['formats'] = ['onnx']
    data['trained'] = False
    (tmp_path / 'w.safetensors').write_bytes(shipped_checkpoint_path().read_bytes())
    _write(tmp_path, data)
    with pytest.raises(PolicyCardMismatchError) as info:
        ModelWeights(tmp_path / 'w.safetensors')
    assert len(info.value.issues) == 1 and 'format' in info.value.issues[0]
    data['formats'] = ['safetensors']
    data['joints']['names'] = data['joints']['names'][:11]
    for key in ('default_positions',):
        data['joints'][key] = data['joints'][key][:11]
    data['limits'] = {k: v[:11] for k, v in data['limits'].items()}
    _write(tmp_path, data)
    with pytest.raises(PolicyCardMismatchError, match='action size: card lists 11'):
        ModelWeights(tmp_path / 'w.safetensors')


def test_generated_card_says_untrained(generated: dict[CheckpointFormat, Path]) -> None:
    for fmt, path in generated.items():
        weights = ModelWeights(path, allow_torchscript=fmt == CheckpointFormat.TORCHSCRIPT)
        assert weights.card is not None and weights.card.trained is False, fmt
        assert weights.trained_marker is False, fmt
        assert weights.card.formats == (fmt.value,)


def test_trained_marker_contradicting_card(
    generated: dict[CheckpointFormat, Path], tmp_path: Path
) -> None:
    data = card_to_dict(load_card(generated[CheckpointFormat.ONNX].parent / 'policy_card.yaml'))
    data['trained'] = True
    card = _write(tmp_path, data)
    with pytest.raises(PolicyCardMismatchError, match='trained flag'):
        ModelWeights(generated[CheckpointFormat.ONNX], card_path=card)


def test_checkpoint_without_card_loads_with_card_none(
    generated: dict[CheckpointFormat, Path], tmp_path: Path
) -> None:
    path = tmp_path / 'lonely.onnx'
    path.write_bytes(generated[CheckpointFormat.ONNX].read_bytes())
    weights = ModelWeights(path)
    assert weights.card is None and weights.card_path is None
    explicit = ModelWeights(
        path, card_path=generated[CheckpointFormat.ONNX].parent / 'policy_card.yaml'
    )
    assert explicit.card is not None


def test_training_yaml_loader_never_builds_python_objects(tmp_path: Path) -> None:
    marker = tmp_path / 'PWNED'
    path = tmp_path / 'env.yaml'
    path.write_text(
        f'a: !!python/tuple [1, 2]\nb: !!python/object/apply:os.system ["touch {marker}"]\nc:'
        ' !!python/name:os.system\nd: !!python/object/apply:builtins.slice [null, null, null]\n'
    )
    data = load_training_yaml(path)
    assert data == {'a': [1, 2], 'b': None, 'c': None, 'd': None}
    assert not marker.exists()


def test_unknown_robot_needs_joint_names(tmp_path: Path) -> None:
    env = tmp_path / 'env.yaml'
    env.write_text(
        yaml.safe_dump(
            {'decimation': 4, 'scene': {'robot': {'spawn': {'usd_path': '/robots/krabby.usd'}}}}
        )
    )
    agent = tmp_path / 'agent.yaml'
    agent.write_text(yaml.safe_dump({'policy': {'actor': {}}, 'algorithm': {}}))
    with pytest.raises(PolicyCardError, match="joint order of robot 'krabby' is unknown"):
        card_from_training_config(env, agent)

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

"""The generate and export commands."""

from pathlib import Path

import pytest
import torch

from krabby_parkour_ros.policy import CheckpointFormat, load_card, ModelWeights
from krabby_parkour_ros.policy.export import main as export_main
from krabby_parkour_ros.policy.generate import generate_networks, main as generate_main
from krabby_parkour_ros.policy.shipped import shipped_checkpoint_path


def test_same_seed_same_weights_other_seed_other_weights() -> None:
    a, b, c = generate_networks(5), generate_networks(5), generate_networks(6)
    for key, tensor in a.actor.state_dict().items():
        assert torch.equal(tensor, b.actor.state_dict()[key]), key
    assert any(
        not torch.equal(t, c.actor.state_dict()[k]) for k, t in a.actor.state_dict().items()
    )
    assert torch.equal(
        a.depth_encoder.state_dict()['rnn.weight_hh_l0'],
        b.depth_encoder.state_dict()['rnn.weight_hh_l0'],
    )


@pytest.mark.parametrize('fmt', ['rsl_rl_teacher', 'torchscript', 'onnx', 'safetensors'])
def test_generate_command(tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / 'model.bin'
    assert generate_main(['--format', fmt, '--out', str(out), '--seed', '4']) == 0
    printed = capsys.readouterr().out
    assert 'UNTRAINED' in printed
    card = load_card(tmp_path / 'policy_card.yaml')
    assert card.trained is False and card.formats == (fmt,)
    assert card.name == 'go2_parkour_teacher_untrained'
    weights = ModelWeights(out, allow_torchscript=fmt == 'torchscript')
    assert weights.format == CheckpointFormat(fmt) and weights.trained is False
    assert weights.metadata['seed'] in (4, '4')
    # A second format in the same folder extends the card instead of replacing it.
    other = 'onnx' if fmt != 'onnx' else 'torchscript'
    assert generate_main(['--format', other, '--out', str(tmp_path / 'b.bin')]) == 0
    assert load_card(tmp_path / 'policy_card.yaml').formats == (fmt, other)


def test_generated_files_hold_the_seeded_weights(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    assert (
        generate_main(['--format', 'safetensors', '--out', str(tmp_path / 'w'), '--seed', '9'])
        == 0
    )
    tensors = load_file(str(tmp_path / 'w'))
    expected = generate_networks(9).actor.state_dict()
    for key, tensor in expected.items():
        assert torch.equal(tensors['actor.' + key], tensor)


def test_export_refusals(
    generated: dict[CheckpointFormat, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert (
        export_main(
            [str(generated[CheckpointFormat.RSL_RL_STUDENT]), '--out-dir', str(tmp_path / 'a')]
        )
        == 2
    )
    assert 'students' in capsys.readouterr().err
    assert (
        export_main([str(generated[CheckpointFormat.ONNX]), '--out-dir', str(tmp_path / 'b')]) == 2
    )
    assert 'already an ONNX export' in capsys.readouterr().err
    lonely = tmp_path / 'lonely' / 'w.safetensors'
    lonely.parent.mkdir()
    lonely.write_bytes(generated[CheckpointFormat.SAFETENSORS].read_bytes())
    assert export_main([str(lonely), '--out-dir', str(tmp_path / 'c')]) == 2
    assert 'no policy card' in capsys.readouterr().err


def test_export_of_the_shipped_teacher_and_of_torchscript(
    generated: dict[CheckpointFormat, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert export_main([str(shipped_checkpoint_path()), '--out-dir', str(tmp_path / 's')]) == 0
    report = capsys.readouterr().out
    assert 'parity' in report and ' ok' in report and 'UNTRAINED' not in report
    card = load_card(tmp_path / 's' / 'policy_card.yaml')
    # ONNX by default: nothing an export writes by default needs allow_torchscript.
    assert card.trained and card.formats == ('onnx',)
    assert sorted(p.name for p in (tmp_path / 's').iterdir()) == [
        'policy.onnx',
        'policy_card.yaml',
    ]
    # A TorchScript source is code: refused without --allow-torchscript.
    assert (
        export_main(
            [str(generated[CheckpointFormat.TORCHSCRIPT]), '--out-dir', str(tmp_path / 't')]
        )
        == 2
    )
    assert 'allow_torchscript' in capsys.readouterr().err
    assert not (tmp_path / 't').exists()
    assert (
        export_main(
            [
                str(generated[CheckpointFormat.TORCHSCRIPT]),
                '--allow-torchscript',
                '--out-dir',
                str(tmp_path / 't'),
                '--torchscript',
            ]
        )
        == 0
    )
    assert 'TorchScript/ONNX' in capsys.readouterr().out
    assert load_card(tmp_path / 't' / 'policy_card.yaml').formats == ('torchscript', 'onnx')
    assert ModelWeights(tmp_path / 't' / 'policy.onnx').trained is False
    assert ModelWeights(tmp_path / 't' / 'policy.pt', allow_torchscript=True).trained is False

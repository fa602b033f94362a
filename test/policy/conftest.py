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

"""Shared fixtures of the policy tests: the shared model folder and generated checkpoints."""

from pathlib import Path

import pytest

from krabby_parkour_ros.policy.formats import CheckpointFormat
from krabby_parkour_ros.policy.generate import write_checkpoint

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = (REPO_ROOT / '..' / 'shared').resolve()
SHARED_TEACHER = SHARED / 'models' / 'go2_parkour_teacher'

needs_shared = pytest.mark.skipif(
    not (SHARED_TEACHER / 'policy.pt').is_file(),
    reason='needs the reference TorchScript export of the trained teacher (policy.pt)',
)


@pytest.fixture(scope='session')
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[CheckpointFormat, Path]:
    """Return one generated checkpoint per format (seed 7), each in its own folder."""
    root = tmp_path_factory.mktemp('generated')
    out = {}
    for fmt in CheckpointFormat:
        path = (
            root
            / fmt.value
            / (
                'checkpoint.'
                + {'torchscript': 'pt', 'onnx': 'onnx', 'safetensors': 'safetensors'}.get(
                    fmt.value, 'pt'
                )
            )
        )
        write_checkpoint(fmt, path, seed=7)
        out[fmt] = path
    return out

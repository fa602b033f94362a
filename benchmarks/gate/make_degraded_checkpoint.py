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
Make a deliberately regressed copy of the shipped teacher, for ``--compare`` demonstrations.

Every weight tensor of ``teacher_actor.safetensors`` gets Gaussian noise of
``--scale`` times its own standard deviation (seeded); the policy card is
copied with a new name. 0.3 gives a checkpoint that still walks on flat
ground but fails obstacles, the kind of regression the gate must catch.

Usage: ``python benchmarks/gate/make_degraded_checkpoint.py [--scale 0.3] [--out DIR]``;
prints the checkpoint path. The weights are derived from the GPL-3.0 teacher
(see its NOTICE.md): keep the output out of the repository.
"""

import argparse
from pathlib import Path
import shutil

from safetensors.torch import load_file, save_file
import torch

from krabby_parkour_ros.policy.shipped import shipped_checkpoint_path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[1])
    parser.add_argument('--scale', type=float, default=0.3)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', default='/tmp/degraded_teacher')
    args = parser.parse_args()
    source = Path(shipped_checkpoint_path('go2_parkour_teacher'))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(args.seed)
    weights = {
        k: (v + args.scale * v.float().std() * torch.randn(v.shape, generator=generator)).to(
            v.dtype
        )
        for k, v in load_file(str(source)).items()
    }
    target = out / source.name
    save_file(weights, str(target))
    card = (source.parent / 'policy_card.yaml').read_text(encoding='utf-8')
    card = card.replace(
        'name: go2_parkour_teacher', f'name: go2_parkour_teacher_noise{args.scale}'
    )
    (out / 'policy_card.yaml').write_text(card, encoding='utf-8')
    for name in ('LICENSE', 'NOTICE.md'):
        if (source.parent / name).is_file():
            shutil.copy(source.parent / name, out / name)
    print(target)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())

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
Hostile TorchScript policies for the tests of the TorchScript opt-in and the probe deadline.

Both are valid policies (``[1, 753] -> [1, 12]``); one writes a file when
``torch.jit.load`` reads it, the other spins for seconds in ``forward``.
"""

from pathlib import Path

import torch

from krabby_parkour_ros.policy.backends import quiet_torchscript_deprecation

#: Iterations of the looping forward: seconds of work on any current CPU
#: (about 13 M iterations per second on the development VM), well past the
#: probe timeouts the tests use, yet it ends on its own.
LOOP_ITERATIONS = 40_000_000


class WritesAtLoad(torch.nn.Module):
    """A valid policy ([1, 753] -> [1, 12]) whose __setstate__ creates ``target``."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target
        self.weight = torch.zeros(1)

    @torch.jit.export
    def __getstate__(self) -> tuple[str, torch.Tensor, bool]:
        return (self.target, self.weight, self.training)

    @torch.jit.export
    def __setstate__(self, state: tuple[str, torch.Tensor, bool]) -> None:
        self.target = state[0]
        self.training = state[2]
        # torch.jit.load calls this: it creates (and writes) the file ``target``.
        written = torch.from_file(self.target, shared=True, size=4, dtype=torch.uint8)
        written.fill_(65)
        self.weight = written.float()[:1]

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return obs[:, :12] * self.weight


class LoopingForward(torch.nn.Module):
    """A policy whose forward spins ``iterations`` times before answering."""

    def __init__(self, iterations: int) -> None:
        super().__init__()
        self.iterations = iterations

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        count = 0
        while count < self.iterations:
            count += 1
        return obs[:, :12]


def save_script(module: torch.nn.Module, path: Path) -> Path:
    with quiet_torchscript_deprecation():
        torch.jit.save(torch.jit.script(module), str(path))
    return path


def write_crafted_archive(folder: Path) -> tuple[Path, Path]:
    """Return (archive, target): ``torch.jit.load(archive)`` creates ``target``."""
    target = folder / 'written_by_the_model.pth'
    archive = save_script(WritesAtLoad(str(target)), folder / 'policy.pt')
    assert not target.exists()  # saving runs __getstate__ only
    return archive, target


def write_looping_archive(path: Path, iterations: int = LOOP_ITERATIONS) -> Path:
    """Write a TorchScript policy whose forward spins ``iterations`` times."""
    return save_script(LoopingForward(iterations), path)

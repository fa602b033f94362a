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

"""Load a script of ``benchmarks/`` as a module, as it runs (its folder on sys.path)."""

import importlib.util
from pathlib import Path
import sys
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parents[2] / 'benchmarks'


def load_benchmark(name: str) -> ModuleType:
    """
    Return ``benchmarks/<name>.py`` as the module ``name``.

    The scripts import their neighbour ``common``, so the folder joins
    sys.path; the module is registered in sys.modules before it runs, which
    its dataclasses need.
    """
    folder = str(BENCHMARKS)
    if folder not in sys.path:
        sys.path.append(folder)
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module

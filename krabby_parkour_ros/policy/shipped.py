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
Locate the model folders shipped with the package (``krabby_parkour_ros/models``).

A shipped model folder holds one weights file, its ``policy_card.yaml``, a
``NOTICE.md`` (origin) and a ``LICENSE`` (the weights' own license, separate
from the code's). It is found inside the Python package first, then in the
ament share folder (``share/krabby_parkour/models``) of a ROS install.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

#: Weight-file suffixes recognised in a shipped model folder.
_WEIGHT_SUFFIXES = ('.safetensors', '.pt', '.pth', '.onnx')
PACKAGE_NAME = 'krabby_parkour'


def _package_folder(name: str) -> Path:
    return Path(str(resources.files('krabby_parkour_ros'))) / 'models' / name


def _share_folder(name: str) -> Path | None:
    """Return the ament share location, or None without a sourced ROS install."""
    try:
        from ament_index_python.packages import get_package_share_directory

        return Path(get_package_share_directory(PACKAGE_NAME)) / 'models' / name
    except (ImportError, LookupError, OSError, ValueError):
        # No ament_index, no AMENT_PREFIX_PATH, or the package is not installed.
        return None


def shipped_model_path(name: str = 'go2_parkour_teacher') -> Path:
    """
    Return the folder of the shipped model ``name``.

    :raises FileNotFoundError: naming every place searched.
    """
    searched = [_package_folder(name)]
    if (searched[0] / 'policy_card.yaml').is_file():
        return searched[0]
    share = _share_folder(name)
    if share is not None:
        if (share / 'policy_card.yaml').is_file():
            return share
        searched.append(share)
    raise FileNotFoundError(
        f'shipped model {name!r} not found; searched {", ".join(str(c) for c in searched)}'
    )


def shipped_checkpoint_path(name: str = 'go2_parkour_teacher') -> Path:
    """
    Return the weights file of the shipped model ``name`` (the folder holds exactly one).

    :raises FileNotFoundError: when the folder holds no or several weight files.
    """
    folder = shipped_model_path(name)
    weights = sorted(p for p in folder.iterdir() if p.suffix in _WEIGHT_SUFFIXES)
    if len(weights) != 1:
        raise FileNotFoundError(
            f'shipped model folder {folder} must hold exactly one weights file'
            f' ({_WEIGHT_SUFFIXES}), found {[p.name for p in weights]}'
        )
    return weights[0]

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
Parkour policy runtime: load every checkpoint format safely and run it fast.

- :mod:`.checkpoint`: :class:`ModelWeights` (format detection, safe loading,
  key/shape/dimension checks, policy-card resolution).
- :mod:`.model`: :class:`ParkourPolicyModel`, :class:`ModelIO`,
  :class:`InferenceResponse` (the 100 Hz-loop inference path).
- :mod:`.card` / :mod:`.card_reader`: policy cards (:class:`PolicyCard`,
  :func:`load_card` ...) and their strict YAML reader.
- :mod:`.card_checks`: a card against the deployment
  (:func:`check_deployment`) and against its checkpoint.
- :mod:`.card_from_training`: a card derived from Isaac Lab training configs.
- :mod:`.networks`: the extreme-parkour networks with training state-dict keys.
- :mod:`.generate` / :mod:`.export`: the ``krabby-parkour-generate-checkpoint``
  and ``krabby-parkour-export`` commands.
- :mod:`.shipped`: the shipped model folder.
- :mod:`.deadline`: the time bound on running a model at load.

No ROS here: plain Python, NumPy and torch (onnxruntime for ONNX).
"""

from krabby_parkour_ros.policy.card import DepthPreprocessing, load_card, PolicyCard, save_card
from krabby_parkour_ros.policy.card_checks import check_deployment
from krabby_parkour_ros.policy.card_from_training import card_from_training_config
from krabby_parkour_ros.policy.checkpoint import ModelWeights
from krabby_parkour_ros.policy.errors import (
    CheckpointDimensionError,
    CheckpointError,
    CheckpointKeyError,
    CheckpointShapeError,
    CorruptCheckpointError,
    PolicyCardError,
    PolicyCardMismatchError,
    ProbeTimeoutError,
    TorchScriptNotAllowedError,
    TruncatedCheckpointError,
    UnknownCheckpointFormatError,
    UnsafeCheckpointError,
)
from krabby_parkour_ros.policy.formats import CheckpointFormat
from krabby_parkour_ros.policy.model import InferenceResponse, ModelIO, ParkourPolicyModel
from krabby_parkour_ros.policy.shipped import shipped_checkpoint_path, shipped_model_path

__all__ = [
    'CheckpointDimensionError',
    'CheckpointError',
    'CheckpointFormat',
    'CheckpointKeyError',
    'CheckpointShapeError',
    'CorruptCheckpointError',
    'DepthPreprocessing',
    'InferenceResponse',
    'ModelIO',
    'ModelWeights',
    'ParkourPolicyModel',
    'PolicyCard',
    'PolicyCardError',
    'PolicyCardMismatchError',
    'ProbeTimeoutError',
    'TorchScriptNotAllowedError',
    'TruncatedCheckpointError',
    'UnknownCheckpointFormatError',
    'UnsafeCheckpointError',
    'card_from_training_config',
    'check_deployment',
    'load_card',
    'save_card',
    'shipped_checkpoint_path',
    'shipped_model_path',
]

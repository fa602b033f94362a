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

"""The node refuses a TorchScript checkpoint on configure unless allow_torchscript is set."""

from pathlib import Path

import pytest
from rclpy.lifecycle import TransitionCallbackReturn

from krabby_parkour_ros.policy.formats import CheckpointFormat
from krabby_parkour_ros.policy.generate import write_checkpoint

from .test_parkour_node import make_node
from ..support.hostile_models import write_crafted_archive


@pytest.mark.parametrize('hal', ['inproc'], indirect=True)
def test_configure_refuses_a_crafted_torchscript_and_runs_none_of_it(
    ros_context, spin, hal, tmp_path: Path
) -> None:
    archive, target = write_crafted_archive(tmp_path)
    node = make_node(ros_context, hal, checkpoint=str(archive))
    spin(node)
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
        assert node._runtime is None
        assert not target.exists()
    finally:
        node.trigger_shutdown()
        spin.retire(node)


@pytest.mark.parametrize('hal', ['inproc'], indirect=True)
def test_configure_loads_torchscript_with_the_opt_in(
    ros_context, spin, hal, tmp_path: Path
) -> None:
    path = tmp_path / 'policy.pt'
    write_checkpoint(CheckpointFormat.TORCHSCRIPT, path, seed=3)
    node = make_node(ros_context, hal, checkpoint=str(path), allow_torchscript=True)
    spin(node)
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert node._runtime is not None
        assert node._runtime.weights.format == CheckpointFormat.TORCHSCRIPT
    finally:
        node.trigger_shutdown()
        spin.retire(node)

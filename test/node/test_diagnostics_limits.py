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

"""Issue #13 findings 1 and 11: clamps and refused activations are on /diagnostics."""

from diagnostic_msgs.msg import DiagnosticStatus
import numpy as np

from krabby_parkour_ros.node.diagnostics import build_diagnostic_status

from ..control.test_command_limits import make_hal, run, standing_pose  # noqa: F401


def _values(status: DiagnosticStatus) -> dict:
    return {kv.key: kv.value for kv in status.values}


def test_target_clamps_are_counted_per_joint_on_diagnostics(make_hal) -> None:  # noqa: F811
    hal = make_hal('krabby')
    pose = standing_pose('krabby').astype(np.float32)
    pose[[2, 5, 8, 11, 14, 17]] = -0.03
    runtime = run(hal, 'krabby', pose, ticks=40)
    values = _values(build_diagnostic_status('parkour', runtime, 'krabby'))
    assert values['start_pose_clamped'] == '1'
    assert values['wire_clamped_commands'] == '0'
    assert values['wire_refused_commands'] == '0'
    clamps = {k: int(v) for k, v in values.items() if k.startswith('target_clamps_')}
    assert clamps == {f'target_clamps_{k}': n for k, n in runtime.mapper.clamp_counts().items()}


def test_a_refused_activation_is_an_error_naming_the_joint(make_hal) -> None:  # noqa: F811
    hal = make_hal('go2_sim')
    pose = standing_pose('go2_sim').astype(np.float32)
    pose[5] = -3e38  # FL_calf_joint
    runtime = run(hal, 'go2_sim', pose, ticks=5)
    status = build_diagnostic_status('parkour', runtime, 'go2')
    assert status.level == DiagnosticStatus.ERROR
    assert status.message.startswith('activation refused: FL_calf_joint measured at -3e+38')
    assert _values(status)['activation_refused'] == '5'

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

"""Building a controller refuses a policy whose card does not fit the deployment."""

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from krabby_parkour_ros.control.config import ControlConfig
from krabby_parkour_ros.control.runtime import ControlRuntime, RuntimeConfig, RuntimeConfigError
from krabby_parkour_ros.hal.config import HalClientConfig
from krabby_parkour_ros.mapping.joint_map import config_directory
from krabby_parkour_ros.policy.generate import main as generate_main

BASE = RuntimeConfig(
    hal=HalClientConfig(
        observation_endpoint='inproc://runtime_test_obs',
        command_endpoint='inproc://runtime_test_cmd',
    )
)


def _map_without_last_joint(tmp_path: Path) -> str:
    data = yaml.safe_load((config_directory() / 'go2_sim.yaml').read_text())
    data['policy']['joints'] = data['policy']['joints'][:-1]
    path = tmp_path / 'eleven.yaml'
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_the_shipped_configuration_builds(tmp_path):
    runtime = ControlRuntime.build(BASE)
    try:
        assert runtime.contract.name == 'go2_parkour_teacher'
        assert runtime.model.trained
        assert runtime.config.control.policy_period == pytest.approx(
            runtime.contract.policy_period
        )
    finally:
        runtime.close()


def test_wrong_joint_count_is_refused(tmp_path):
    with pytest.raises(ValueError, match='12') as info:
        ControlRuntime.build(replace(BASE, joint_map=_map_without_last_joint(tmp_path)))
    assert 'RR_calf' in str(info.value)


def test_wrong_policy_period_is_refused():
    config = replace(BASE, control=ControlConfig(control_rate=100.0, policy_decimation=4))
    with pytest.raises(RuntimeConfigError, match='period') as info:
        ControlRuntime.build(config)
    # The message says what would match.
    assert '0.02' in str(info.value) and '0.04' in str(info.value)


def test_scan_expected_but_not_provided_is_refused():
    with pytest.raises(RuntimeConfigError, match='scan'):
        ControlRuntime.build(replace(BASE, height_scan_source='flat_ground'))


def test_base_velocity_without_source_or_estimator_is_refused():
    with pytest.raises(RuntimeConfigError, match='velocity'):
        ControlRuntime.build(replace(BASE, base_velocity_source='estimator'))


def test_checkpoint_without_card_needs_an_explicit_card(tmp_path):
    checkpoint = tmp_path / 'mine.safetensors'
    assert generate_main(['--format', 'safetensors', '--out', str(checkpoint), '--seed', '1']) == 0
    card = tmp_path / 'policy_card.yaml'
    moved = tmp_path / 'elsewhere.yaml'
    card.rename(moved)
    with pytest.raises(RuntimeConfigError, match='no policy card'):
        ControlRuntime.build(replace(BASE, checkpoint=str(checkpoint)))
    runtime = ControlRuntime.build(
        replace(BASE, checkpoint=str(checkpoint), policy_card=str(moved))
    )
    try:
        assert not runtime.model.trained
    finally:
        runtime.close()

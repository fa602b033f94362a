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

"""config/parkour.yaml, the declared parameters and the launch file agree."""

import importlib.util
from pathlib import Path

import pytest
import yaml

from krabby_parkour_ros.node.parameters import PARAMETERS, runtime_config_from_values, SPECS

ROOT = Path(__file__).resolve().parents[2]


def _flatten(tree: dict, prefix: str = '') -> dict:
    out = {}
    for key, value in tree.items():
        name = f'{prefix}{key}'
        if isinstance(value, dict):
            out.update(_flatten(value, name + '.'))
        else:
            out[name] = value
    return out


def load_params_file() -> dict:
    data = yaml.safe_load((ROOT / 'config' / 'parkour.yaml').read_text())
    return _flatten(data['/**']['ros__parameters'])


def test_params_file_lists_every_declared_parameter_with_its_default():
    values = load_params_file()
    assert set(values) == set(SPECS), (
        f'only in yaml: {set(values) - set(SPECS)}; only declared: {set(SPECS) - set(values)}'
    )
    for spec in PARAMETERS:
        assert spec.check(values[spec.name]) is None, spec.name
        assert values[spec.name] == spec.default, spec.name


def test_params_file_builds_a_valid_runtime_config():
    values = load_params_file()
    config = runtime_config_from_values(values.__getitem__)
    assert config.control.control_rate == 100.0
    assert config.control.policy_period == pytest.approx(0.02)
    assert config.hal.observation_endpoint == 'tcp://127.0.0.1:6001'


def test_bad_values_are_refused_with_the_parameter_named():
    values = load_params_file()
    values['control_rate'] = 'fast'
    with pytest.raises(ValueError, match='control_rate'):
        runtime_config_from_values(values.__getitem__)
    values = load_params_file()
    values['nav.vx_min'] = 0.9
    values['nav.vx_max'] = 0.1
    with pytest.raises(ValueError, match='vx_min'):
        runtime_config_from_values(values.__getitem__)


def _load_launch_module():
    pytest.importorskip('launch_ros', reason='needs the ROS 2 launch system (launch_ros)')
    spec = importlib.util.spec_from_file_location(
        'parkour_launch', ROOT / 'launch' / 'parkour.launch.py'
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_launch_description_arguments_match_the_node_parameters(monkeypatch):
    module = _load_launch_module()
    monkeypatch.setattr(
        module, '_default_params_file', lambda: str(ROOT / 'config' / 'parkour.yaml')
    )
    from launch.actions import DeclareLaunchArgument

    description = module.generate_launch_description()
    arguments = {a.name: a for a in description.entities if isinstance(a, DeclareLaunchArgument)}
    assert set(arguments) == {
        'params_file',
        'namespace',
        'autostart',
        'log_level',
        'discovery_range',
        'checkpoint',
        'policy_card',
        'observation_endpoint',
        'command_endpoint',
        'robot_state_publisher',
        'urdf',
        'rviz',
        'rviz_config',
    }
    assert arguments['rviz'].default_value[0].perform(None) == 'false'
    assert arguments['robot_state_publisher'].default_value[0].perform(None) == 'false'
    for argument in arguments.values():
        assert argument.description and argument.description != 'no description given'
    for _, (parameter, _) in module.PARAMETER_ARGUMENTS.items():
        assert parameter in SPECS, parameter


def test_launch_builds_lifecycle_node_with_overrides_and_autostart_events(monkeypatch):
    module = _load_launch_module()
    from launch import LaunchContext
    from launch.actions import EmitEvent, RegisterEventHandler
    from launch_ros.actions import LifecycleNode

    context = LaunchContext()
    values = {
        'params_file': str(ROOT / 'config' / 'parkour.yaml'),
        'namespace': 'robot',
        'autostart': 'true',
        'log_level': 'info',
        'checkpoint': '/x/model.pt',
        'policy_card': '',
        'observation_endpoint': 'tcp://10.0.0.2:6001',
        'command_endpoint': '',
    }
    for key, value in values.items():
        context.launch_configurations[key] = value
    actions = module._node_actions(context)
    node = next(a for a in actions if isinstance(a, LifecycleNode))
    assert any(isinstance(a, EmitEvent) for a in actions)
    assert any(isinstance(a, RegisterEventHandler) for a in actions)
    overrides = [p for p in node._Node__parameters if isinstance(p, dict)][0]

    def text(substitutions) -> str:
        return ''.join(s.perform(context) for s in substitutions)

    # launch_ros stores each value as YAML text; load it back.
    assert {text(k): yaml.safe_load(text(v)) for k, v in overrides.items()} == {
        'checkpoint': '/x/model.pt',
        'hal.observation_endpoint': 'tcp://10.0.0.2:6001',
    }


def test_launch_starts_robot_state_publisher_and_rviz_only_when_asked():
    module = _load_launch_module()
    from launch import LaunchContext
    from launch_ros.actions import Node

    context = LaunchContext()
    urdf = ROOT / 'krabby_parkour_ros' / 'description' / 'go2.urdf'
    for key, value in {
        'namespace': 'robot',
        'robot_state_publisher': 'false',
        'rviz': 'false',
        'urdf': str(urdf),
        'rviz_config': str(ROOT / 'config' / 'parkour.rviz'),
    }.items():
        context.launch_configurations[key] = value
    assert module._visual_actions(context) == []
    context.launch_configurations['robot_state_publisher'] = 'true'
    context.launch_configurations['rviz'] = 'true'
    actions = module._visual_actions(context)
    assert [a.node_package for a in actions] == ['robot_state_publisher', 'rviz2']
    assert all(isinstance(a, Node) for a in actions)
    description = actions[0]._Node__parameters[0]
    values = {k[0].perform(context): v for k, v in description.items()}
    text = ''.join(s.perform(context) for s in values['robot_description'])
    assert yaml.safe_load(text) == urdf.read_text()
    from launch.utilities import normalize_to_list_of_substitutions, perform_substitutions

    arguments = [
        perform_substitutions(context, normalize_to_list_of_substitutions(a))
        for a in actions[1]._Node__arguments
    ]
    assert arguments == ['-d', str(ROOT / 'config' / 'parkour.rviz')]


def _performed_environment(module, discovery_range: str) -> dict:
    from launch import LaunchContext
    from launch.actions import SetEnvironmentVariable

    context = LaunchContext()
    context.launch_configurations['discovery_range'] = discovery_range
    actions = module._discovery_actions(context)
    assert all(isinstance(a, SetEnvironmentVariable) for a in actions)
    return {
        ''.join(s.perform(context) for s in a.name): ''.join(s.perform(context) for s in a.value)
        for a in actions
    }


def test_launch_defaults_to_localhost_discovery_before_the_node_starts(monkeypatch):
    module = _load_launch_module()
    monkeypatch.setattr(
        module, '_default_params_file', lambda: str(ROOT / 'config' / 'parkour.yaml')
    )
    from launch.actions import DeclareLaunchArgument, OpaqueFunction

    description = module.generate_launch_description()
    argument = next(
        a
        for a in description.entities
        if isinstance(a, DeclareLaunchArgument) and a.name == 'discovery_range'
    )
    default = argument.default_value[0].perform(None)
    assert default == 'localhost'
    assert set(argument.choices) == {'localhost', 'subnet', 'off', 'system_default'}
    # Jazzy and later read the first, Humble the second.
    assert _performed_environment(module, default) == {
        'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST',
        'ROS_LOCALHOST_ONLY': '1',
    }
    assert _performed_environment(module, 'subnet') == {
        'ROS_AUTOMATIC_DISCOVERY_RANGE': 'SUBNET',
        'ROS_LOCALHOST_ONLY': '0',
    }
    # The environment is set by the first action after the arguments, before the node's.
    functions = [a for a in description.entities if isinstance(a, OpaqueFunction)]
    assert [f._OpaqueFunction__function for f in functions][:2] == [
        module._discovery_actions,
        module._node_actions,
    ]


def test_entry_point_defaults_to_localhost_discovery_unless_chosen():
    from krabby_parkour_ros.node.main import default_discovery_to_localhost

    environ = {}
    assert default_discovery_to_localhost(environ) == 'LOCALHOST'
    assert environ == {'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST', 'ROS_LOCALHOST_ONLY': '1'}
    environ = {'ROS_AUTOMATIC_DISCOVERY_RANGE': 'SUBNET'}
    assert default_discovery_to_localhost(environ) == 'SUBNET'
    assert environ == {'ROS_AUTOMATIC_DISCOVERY_RANGE': 'SUBNET'}
    environ = {'ROS_LOCALHOST_ONLY': '0'}
    assert default_discovery_to_localhost(environ) == 'SYSTEM_DEFAULT'
    assert environ == {'ROS_LOCALHOST_ONLY': '0'}

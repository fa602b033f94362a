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

"""The krabby-parkour-sim command line."""

import argparse
import json
from pathlib import Path
import signal
import subprocess
import sys

import pytest

from krabby_parkour_ros.sim.__main__ import build_parser, config_from_args, main, parse_size

REPO = Path(__file__).resolve().parents[2]


def test_parse_size() -> None:
    assert parse_size('58x87') == (58, 87)
    assert parse_size('480X640') == (480, 640)
    for bad in ('58', '0x5', 'ax4', '1x2x3'):
        with pytest.raises(argparse.ArgumentTypeError, match='depth size'):
            parse_size(bad)


def test_arguments_become_the_simulator_config() -> None:
    args = build_parser().parse_args(
        [
            '--scenario',
            'box',
            '--box-height',
            '0.4',
            '--seed',
            '5',
            '--rate',
            '50',
            '--pacing',
            'lockstep',
            '--depth-size',
            '60x80',
        ]
    )
    config = config_from_args(args)
    assert config.scenario == 'box' and config.scenario_parameters == {'height': 0.4}
    assert config.seed == 5 and config.rate_hz == 50.0 and config.pacing == 'lockstep'
    assert (config.depth_height, config.depth_width) == (60, 80)
    assert config.observation_endpoint == 'tcp://127.0.0.1:6001'
    assert config.command_endpoint == 'tcp://127.0.0.1:6002'
    stairs = config_from_args(
        build_parser().parse_args(
            ['--scenario', 'stairs', '--step-height', '0.12', '--box-height', '0.3']
        )
    )
    assert stairs.scenario_parameters == {'step_height': 0.12}


def test_runs_for_a_duration_and_prints_a_json_summary(capsys: pytest.CaptureFixture) -> None:
    code = main(
        [
            '--duration',
            '0.1',
            '--pacing',
            'lockstep',
            '--lockstep-timeout',
            '0.001',
            '--observation-endpoint',
            'tcp://127.0.0.1:0',
            '--command-endpoint',
            'tcp://127.0.0.1:0',
            '--depth-size',
            '6x8',
            '--status-period',
            '0',
            '--scenario',
            'box',
            '--box-height',
            '0.3',
        ]
    )
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    assert out[0].startswith('krabby-parkour-sim: box 0.30 m high')
    summary = json.loads(out[-1])
    assert summary['observations_published'] == 10
    assert summary['lockstep_timeouts'] == 10
    assert summary['physics_steps'] == 20
    assert summary['scenario'] == 'box'
    assert summary['scenario_parameters']['height'] == 0.3
    assert summary['fell'] is False


def test_bad_settings_exit_2(capsys: pytest.CaptureFixture) -> None:
    assert main(['--rate', '70', '--duration', '0.1']) == 2
    assert 'rate_hz' in capsys.readouterr().err
    assert main(['--observation-endpoint', 'udp://x', '--duration', '0.1']) == 2
    assert 'observation_endpoint' in capsys.readouterr().err


@pytest.mark.parametrize('signum', [signal.SIGINT, signal.SIGTERM])
def test_interrupt_exits_0_with_a_summary(signum: int) -> None:
    command = [
        sys.executable,
        '-m',
        'krabby_parkour_ros.sim',
        '--duration',
        '0',
        '--observation-endpoint',
        'tcp://127.0.0.1:0',
        '--command-endpoint',
        'tcp://127.0.0.1:0',
        '--depth-size',
        '6x8',
        '--status-period',
        '0.2',
    ]
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        first = process.stdout.readline()
        assert first.startswith('krabby-parkour-sim: flat floor'), first
        status = process.stdout.readline()
        assert status.startswith('t='), status
        process.send_signal(signum)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary['observations_published'] > 0
    assert summary['sim_time_s'] > 0.0

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

"""Record -> replay -> record again gives the same observation bytes."""

import json
from pathlib import Path
import socket
import threading
import time

import pytest
import zmq

from krabby_parkour_ros.hal.config import HalServerConfig
from krabby_parkour_ros.hal.server import HalServer
from krabby_parkour_ros.recording import replay
from krabby_parkour_ros.recording.reader import RecordingReader
from krabby_parkour_ros.recording.recorder import HalRecorder
from krabby_parkour_ros.recording.replay import ReplayConfig, ReplayConfigError, Replayer

from .helpers import inproc_endpoints, RawHalPeer


def observation_bytes(path: Path) -> list[list[bytes]]:
    return [o.frame_bytes() for o in RecordingReader(path).observations()]


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(('127.0.0.1', 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_lockstep_replay_is_byte_identical(sim_recording, tmp_path: Path) -> None:
    original = observation_bytes(sim_recording.path)
    assert len(original) == sim_recording.published == 200
    observation, command = inproc_endpoints('replay')
    server = HalServer(HalServerConfig(observation_endpoint=observation, command_endpoint=command))
    server.bind()
    again = HalRecorder(tmp_path / 'again.mcap')
    peer = RawHalPeer(server.transport_context, observation, command, again)
    try:
        peer.start()
        stats = Replayer(
            RecordingReader(sim_recording.path),
            server,
            ReplayConfig(pacing='lockstep', lockstep_timeout_s=2.0),
        ).run()
    finally:
        peer.close()
        again.close()
        server.close()
    assert stats.observations_published == 200
    assert stats.answered == 200 and stats.lockstep_timeouts == 0
    assert observation_bytes(tmp_path / 'again.mcap') == original
    assert peer.timestamps == sim_recording.timestamps


def test_cli_replays_over_tcp_and_records_commands(sim_recording, tmp_path: Path) -> None:
    obs_port, cmd_port = _free_ports(2)
    out = tmp_path / 'replayed.mcap'
    argv = [
        str(sim_recording.path),
        '--pacing',
        'lockstep',
        '--lockstep-timeout',
        '2',
        '--observation-endpoint',
        f'tcp://127.0.0.1:{int(obs_port)}',
        '--command-endpoint',
        f'tcp://127.0.0.1:{int(cmd_port)}',
        '--max-observations',
        '60',
        '--record',
        str(out),
    ]
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault('rc', replay.main(argv)))
    thread.start()
    context = zmq.Context()
    again = HalRecorder(tmp_path / 'client.mcap')
    time.sleep(0.2)
    peer = RawHalPeer(
        context, f'tcp://127.0.0.1:{int(obs_port)}', f'tcp://127.0.0.1:{int(cmd_port)}', again
    )
    try:
        peer.start()
        thread.join(60.0)
    finally:
        peer.close()
        again.close()
        context.term()
    assert result.get('rc') == 0
    assert (
        observation_bytes(tmp_path / 'client.mcap') == observation_bytes(sim_recording.path)[:60]
    )
    reader = RecordingReader(out)
    commands = [c.command() for c in reader.commands()]
    assert [c.observation_timestamp_ns for c in commands] == sim_recording.timestamps[:60]
    client_commands = [
        c.frame_bytes() for c in RecordingReader(tmp_path / 'client.mcap').commands()
    ]
    assert [c.frame_bytes() for c in reader.commands()] == client_commands
    assert len(list(reader.observations())) >= 60  # the first one may have been re-sent


def test_original_pacing_keeps_the_recorded_order(sim_recording, tmp_path: Path) -> None:
    observation, command = inproc_endpoints('paced')
    server = HalServer(HalServerConfig(observation_endpoint=observation, command_endpoint=command))
    server.bind()
    peer = RawHalPeer(server.transport_context, observation, command, None)
    try:
        peer.start()
        time.sleep(0.05)
        started = time.monotonic()
        stats = Replayer(
            RecordingReader(sim_recording.path),
            server,
            ReplayConfig(pacing='original', speed=20.0, start_delay_s=0.0, max_observations=100),
        ).run()
        elapsed = time.monotonic() - started
    finally:
        peer.close()
        server.close()
    assert stats.observations_published == 100
    assert peer.timestamps == sorted(peer.timestamps)
    assert set(peer.timestamps) <= set(sim_recording.timestamps)
    assert elapsed > 0.0


def test_lockstep_without_client_times_out_and_stops(sim_recording) -> None:
    observation, command = inproc_endpoints('alone')
    server = HalServer(HalServerConfig(observation_endpoint=observation, command_endpoint=command))
    server.bind()
    try:
        stats = Replayer(
            RecordingReader(sim_recording.path),
            server,
            ReplayConfig(pacing='lockstep', start_timeout_s=0.3),
        ).run()
    finally:
        server.close()
    assert stats.start_timed_out and stats.observations_published == 1
    assert stats.first_resends >= 1 and stats.answered == 0


def test_bad_arguments_exit_2_and_missing_file_exit_1(tmp_path: Path, capsys) -> None:
    assert replay.main([str(tmp_path / 'none.mcap'), '--speed', '0']) == 2
    assert replay.main([str(tmp_path / 'none.mcap')]) == 1
    assert 'none.mcap' in capsys.readouterr().err
    with pytest.raises(ReplayConfigError, match='pacing'):
        ReplayConfig(pacing='warp')


def test_cli_summary_is_json(sim_recording, tmp_path: Path, capsys) -> None:
    obs_port, cmd_port = _free_ports(2)
    rc = replay.main(
        [
            str(sim_recording.path),
            '--pacing',
            'fast',
            '--start-delay',
            '0',
            '--max-observations',
            '5',
            '--observation-endpoint',
            f'tcp://127.0.0.1:{int(obs_port)}',
            '--command-endpoint',
            f'tcp://127.0.0.1:{int(cmd_port)}',
        ]
    )
    assert rc == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary['observations_published'] == 5
    assert summary['latency_ms']['count'] == 0

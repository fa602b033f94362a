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
Regression: replay the committed short walk through the node; it must command the same.

``test/data/short_walk.mcap`` holds what the simulated robot sent and the
commands the controller answered (see test/data/make_short_walk.py). The
replay serves those observation frames byte for byte, in lockstep, to a
fresh ``parkour_node``; every command it sends must equal the recorded
command answering the same observation. Same machine: identical to float32
rounding of the same operations (tolerance 1e-6); across machines and CPU
kernels onnxruntime may round differently (use 1e-4 there).
"""

from pathlib import Path
import threading
import time

from geometry_msgs.msg import Twist
import numpy as np
from rclpy.qos import qos_profile_sensor_data

from krabby_parkour_ros.hal.codec import decode_command
from krabby_parkour_ros.hal.config import HalServerConfig
from krabby_parkour_ros.hal.server import HalServer
from krabby_parkour_ros.recording.reader import RecordingReader
from krabby_parkour_ros.recording.recorder import HalRecorder
from krabby_parkour_ros.recording.replay import ReplayConfig, Replayer

from .test_parkour_node import make_node, SUCCESS, wait_for

RECORDING = Path(__file__).resolve().parents[1] / 'data' / 'short_walk.mcap'


def test_replayed_walk_gets_the_recorded_commands(ros_context, peer_context, spin, tmp_path):
    import rclpy

    recorded: dict[int, np.ndarray] = {}
    for record in RecordingReader(RECORDING).commands():
        command = decode_command(record.frame_bytes())
        recorded.setdefault(command.observation_timestamp_ns, command.joint_positions)
    server = HalServer(
        HalServerConfig(
            observation_endpoint='inproc://replay_obs', command_endpoint='inproc://replay_cmd'
        )
    )
    server.bind()
    node = make_node(ros_context, server, soft_start_duration=0.0, stale_timeout=0.5)
    driver = rclpy.create_node('replay_driver', context=peer_context)
    cmd_vel = driver.create_publisher(Twist, '/cmd_vel', qos_profile_sensor_data)
    spin(node, driver)
    stop = threading.Event()

    def keep_commanding() -> None:
        twist = Twist()
        twist.linear.x = 0.5
        while not stop.is_set():
            cmd_vel.publish(twist)
            time.sleep(0.02)

    publisher = threading.Thread(target=keep_commanding, daemon=True)
    publisher.start()
    output = tmp_path / 'replayed.mcap'
    recorder = HalRecorder(output)
    try:
        assert node.trigger_configure() == SUCCESS
        # The navigation command must be in force before the first observation.
        assert wait_for(lambda: node._runtime.step.navigation_command.vx == 0.5)
        assert node.trigger_activate() == SUCCESS
        replayer = Replayer(
            RecordingReader(RECORDING),
            server,
            ReplayConfig(pacing='lockstep', lockstep_timeout_s=1.0),
            recorder,
        )
        stats = replayer.run()
    finally:
        stop.set()
        publisher.join(2.0)
        recorder.close()
        node.trigger_shutdown()
        spin.retire(node)
        spin.retire(driver)
        server.close()
    assert stats.lockstep_timeouts == 0
    replayed: dict[int, np.ndarray] = {}
    for record in RecordingReader(output).commands():
        command = decode_command(record.frame_bytes())
        replayed.setdefault(command.observation_timestamp_ns, command.joint_positions)
    common = sorted(set(recorded) & set(replayed))
    assert len(common) >= 295, (len(recorded), len(replayed), len(common))
    worst = max(float(np.abs(recorded[t] - replayed[t]).max()) for t in common)
    bad = [i for i, t in enumerate(common) if np.abs(recorded[t] - replayed[t]).max() > 1e-6]
    assert worst <= 1e-6, f'max diff {worst} at {len(bad)} observations, first {bad[:5]}'

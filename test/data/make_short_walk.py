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
Regenerate ``short_walk.mcap``: the regression recording replayed by the tests.

The simulated Go2 (lockstep, 6x8 depth to keep the file small) driven by the
ParkourInferenceClient with the shipped teacher, no soft start (so the
commands depend on the observations alone), walking at vx 0.5 for about
3 s. Every observation and command is recorded at the client.

Usage: python test/data/make_short_walk.py [--seconds 3.0]
"""

import argparse
from dataclasses import replace
from pathlib import Path
import threading
import time

from krabby_parkour_ros.control.config import ControlConfig
from krabby_parkour_ros.control.inference_client import ParkourInferenceClient
from krabby_parkour_ros.control.runtime import RuntimeConfig
from krabby_parkour_ros.hal.config import HalClientConfig
from krabby_parkour_ros.sim.hal_server import SimHal, SimHalConfig

OUT = Path(__file__).resolve().parent / 'short_walk.mcap'
#: The control settings the recording was made with (the replay test uses them).
CONTROL = ControlConfig(soft_start_duration=0.0, stale_timeout=0.5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--seconds', type=float, default=3.0)
    args = parser.parse_args()
    OUT.unlink(missing_ok=True)
    sim = SimHal(
        SimHalConfig(
            observation_endpoint='inproc://make_obs',
            command_endpoint='inproc://make_cmd',
            pacing='lockstep',
            lockstep_timeout_s=1.0,
            depth_height=6,
            depth_width=8,
            seed=7,
        )
    )
    sim.bind()
    client = ParkourInferenceClient(
        HalClientConfig(
            observation_endpoint=sim.observation_endpoint, command_endpoint=sim.command_endpoint
        ),
        '',
        device='cpu',
        transport_context=sim.transport_context,
        runtime_config=replace(RuntimeConfig(), control=CONTROL),
        record_path=str(OUT),
    )
    client.initialize()
    running = threading.Event()
    running.set()
    client.set_navigation_command(vx=0.5)
    client.start_thread(running)
    sim.start(args.seconds)
    while sim.running:
        client.set_navigation_command(vx=0.5)
        time.sleep(0.05)
    client.stop_thread()
    client.close()
    sim.close()
    print(
        f'wrote {OUT} ({OUT.stat().st_size} bytes): {sim.statistics()["commands_received"]} '
        'commands'
    )
    return 0


if __name__ == '__main__':
    raise SystemExit(main())

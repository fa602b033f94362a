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
Recording on vs off: observation->command latency of the controller at 100 Hz.

Runs the ParkourInferenceClient (shipped teacher) against the simulated robot
over inproc (HAL in the same process, default 58x87 depth) twice, for
--seconds each: without recording and with every HAL frame and command
recorded to MCAP. Reports p50/p99/max latency, late ticks and recorder drops;
JSON to benchmarks/results/recording_overhead.json.
"""

import argparse
import json
from pathlib import Path
import sys
import tempfile
import threading
import time

from krabby_parkour_ros.control.inference_client import ParkourInferenceClient
from krabby_parkour_ros.hal.config import HalClientConfig
from krabby_parkour_ros.sim.hal_server import SimHal, SimHalConfig

RESULTS = Path(__file__).resolve().parent / 'results'


def run(seconds: float, record_path: str) -> dict:
    sim = SimHal(
        SimHalConfig(
            observation_endpoint='inproc://bench_rec_obs',
            command_endpoint='inproc://bench_rec_cmd',
        )
    )
    sim.bind()
    sim.start()
    client = ParkourInferenceClient(
        HalClientConfig(
            observation_endpoint=sim.observation_endpoint, command_endpoint=sim.command_endpoint
        ),
        '',
        device='cpu',
        transport_context=sim.transport_context,
        record_path=record_path,
    )
    client.initialize()
    running = threading.Event()
    running.set()
    client.start_thread(running)
    deadline = time.monotonic() + 3.0 + seconds
    measured = False
    while time.monotonic() < deadline:
        client.set_navigation_command(vx=0.5)
        if not measured and time.monotonic() > deadline - seconds:
            # Drop the start-up (soft start) from the statistics.
            client.runtime.step.latency.clear()
            client.runtime.driver.reset()
            measured = True
        time.sleep(0.1)
    stats = client.stats()
    recorder = client.recorder.stats() if client.recorder is not None else None
    client.stop_thread()
    client.close()
    sim.stop()
    sim.close()
    return {
        'latency_ms': {
            k: (v * 1e3 if k in ('p50', 'p99', 'max') else v)
            for k, v in stats['latency_s'].items()
        },
        'late_ticks': stats['late_ticks'],
        'ticks': stats['tick_period_s']['count'],
        'recorder': recorder,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--seconds', type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        off = run(args.seconds, '')
        on = run(args.seconds, str(Path(tmp) / 'bench.mcap'))
    result = {
        'seconds': args.seconds,
        'transport': 'inproc',
        'recording_off': off,
        'recording_on': on,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / 'recording_overhead.json').write_text(json.dumps(result, indent=2))
    for name, run_result in (('off', off), ('on', on)):
        lat = run_result['latency_ms']
        print(
            f'recording {name:3s}: latency p50 {lat["p50"]:.3f} ms, p99 {lat["p99"]:.3f} ms, '
            f'max {lat["max"]:.3f} ms; late ticks {run_result["late_ticks"]} of '
            f'{run_result["ticks"]}'
        )
    keys = ('written', 'dropped', 'bytes_written')
    print('recorder:', {k: on['recorder'].get(k) for k in keys})
    return 0


if __name__ == '__main__':
    sys.exit(main())

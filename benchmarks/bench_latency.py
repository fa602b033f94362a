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
Observation -> command latency of the whole controller, and where the time goes.

Every case runs the real controller (``ParkourInferenceClient`` with the
shipped trained teacher, its real observation builder, action mapper and
HAL client) against a scripted HAL (``test/hardening/harness.py``: a real
``HalServer`` publishing a standing Go2 with every extension key). Latency
is measured at the HAL: from just before ``publish`` of an observation to
the command answering it being received and decoded, both on
``time.monotonic_ns()``.

1. Latency at 100 Hz (``--seconds`` each, default 60): 58x87 images (the
   simulator's depth camera) over inproc and tcp, each without and with a
   busy process pinned to one core; 480x640 (the deployed HAL's cameras)
   over inproc (``--large-seconds``). Per-stage budget of every answered
   observation: transport (publish -> received in the client),
   decode (decode and checks), schedule (driver to the step), build, infer,
   map, step (state machine, checks), send (encode + push), return
   (command transport + the HAL's wake-up and decode).
2. Floors, measured in the same run at 100 Hz: the raw ZeroMQ round trip of
   the same frames (PUB -> SUB, 2-frame PUSH -> PULL reply, zero-copy, no
   decoding) over both transports, and bare inference of the teacher.
3. Rate ramp (``--ramp-seconds`` per rate): a HAL publishing at 100 ...
   2000 Hz over inproc, the controller at the same rate, policy decimation
   1 and 2: achieved tick rate, late ticks (> 2 ms after due), lateness and
   latency; the card's trained-period check is bypassed here (throughput
   only).
4. Long run (``--long-seconds``, default 60; 600 = the 10-minute check):
   100 Hz, inproc, one core busy: tick lateness distribution and late ticks.
5. Optionally (``--node-seconds`` > 0) the ROS node process over tcp.

Writes ``benchmarks/results/latency.json`` and ``latency.png`` (latency
histograms and the stage budget) and prints a summary with p50/p99/max.
The default run takes about 7 minutes; ``--quick`` runs every part briefly.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import platform
import subprocess
import sys
import threading
import time
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import zmq

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    # Runnable from a source checkout without installing the package.
    sys.path.insert(0, str(REPO))

from krabby_parkour_ros.control.inference_client import ParkourInferenceClient  # noqa: E402
import krabby_parkour_ros.control.runtime as runtime_module  # noqa: E402
from krabby_parkour_ros.control.stats import RollingSamples  # noqa: E402
from krabby_parkour_ros.control.step import ControlMode  # noqa: E402
from krabby_parkour_ros.hal.codec import encode_command  # noqa: E402
from krabby_parkour_ros.policy.model import ModelIO, ParkourPolicyModel  # noqa: E402
from test.hardening.harness import (BusyCore, make_controller, ObservationTemplate,  # noqa: E402
                                    percentiles, ScriptedHal, teacher_weights, wait_for)

RESULTS = REPO / 'benchmarks' / 'results'
STAGES = ('transport', 'decode', 'schedule', 'build', 'infer', 'map', 'step', 'send', 'return')
_ids = iter(range(1_000_000))
#: Latency cases: key -> (name, transport, height, width, busy core).
CASES = {'inproc': ('inproc 58x87', 'inproc', 58, 87, False),
         'inproc-busy': ('inproc 58x87 busy core', 'inproc', 58, 87, True),
         'tcp': ('tcp 58x87', 'tcp', 58, 87, False),
         'tcp-busy': ('tcp 58x87 busy core', 'tcp', 58, 87, True),
         'inproc-large': ('inproc 480x640', 'inproc', 480, 640, False)}


def _endpoints(transport: str) -> Tuple[str, str]:
    if transport == 'inproc':
        n = next(_ids)
        return f'inproc://bench_obs_{n}', f'inproc://bench_cmd_{n}'
    return 'tcp://127.0.0.1:*', 'tcp://127.0.0.1:*'


class Probe:
    """
    Time stamps of every answered observation inside the controller.

    Wraps (as instance attributes) the HAL client's ``poll`` /
    ``wait_for_observation`` / ``put_joint_command`` and the step's
    ``tick``; each wrapper costs about a microsecond.
    """

    def __init__(self, client: ParkourInferenceClient) -> None:
        runtime = client.runtime
        hal, step = runtime.hal, runtime.step
        self.returned: Dict[int, Tuple[int, int]] = {}
        self.ticks: Dict[int, Tuple] = {}
        self._put: List[int] = [0, 0]
        wait, poll, tick, put = (hal.wait_for_observation, hal.poll, step.tick,
                                 hal.put_joint_command)

        def record(obs):
            if obs is not None:
                self.returned[obs.timestamp_ns] = (obs.receive_time_ns, time.monotonic_ns())
            return obs

        def timed_put(joints, stamp):
            self._put[0] = time.monotonic_ns()
            put(joints, stamp)
            self._put[1] = time.monotonic_ns()

        def timed_tick(obs=None, now_ns=None):
            start = time.monotonic_ns()
            self._put[0] = self._put[1] = 0
            result = tick(obs, now_ns)
            if obs is not None and result.sent:
                self.ticks[obs.timestamp_ns] = (start, self._put[0], self._put[1],
                                                result.policy_ran, result.stage_times,
                                                result.mode)
            return result

        hal.wait_for_observation = lambda timeout_s: record(wait(timeout_s))
        hal.poll = lambda: record(poll())
        hal.put_joint_command = timed_put
        step.tick = timed_tick


def _stage_rows(hal: ScriptedHal, probe: Probe, since_ns: int) -> List[Dict[str, float]]:
    """Return one dict of stage durations (microseconds) per answered observation."""
    published = dict(hal.publish_log)
    answered: Dict[int, int] = {}
    for command in list(hal.commands):
        answered.setdefault(command.observation_timestamp_ns, command.receive_ns)
    rows = []
    for stamp, hal_receive in answered.items():
        publish = published.get(stamp)
        tick = probe.ticks.get(stamp)
        returned = probe.returned.get(stamp)
        if publish is None or publish < since_ns or tick is None or returned is None:
            continue
        start, put_start, put_end, policy_ran, stages, mode = tick
        if mode != ControlMode.RUNNING or put_start == 0:
            continue
        received, handed = returned
        policy = sum(stages.values()) * 1e9 if stages else 0.0
        row = {
            'transport': received - publish, 'decode': handed - received,
            'schedule': start - handed, 'build': stages.get('build', 0.0) * 1e9,
            'infer': stages.get('infer', 0.0) * 1e9, 'map': stages.get('map', 0.0) * 1e9,
            'step': put_start - start - policy, 'send': put_end - put_start,
            'return': hal_receive - put_end, 'total': hal_receive - publish,
            'policy_ran': 1.0 if policy_ran else 0.0}
        rows.append({k: (v / 1e3 if k != 'policy_ran' else v) for k, v in row.items()})
    return rows


def _budget(rows: List[Dict[str, float]]) -> Dict[str, Any]:
    """Return p50/p99 per stage, for policy ticks and for repeat ticks separately."""
    out: Dict[str, Any] = {}
    for name, subset in (('policy_ticks', [r for r in rows if r['policy_ran']]),
                         ('repeat_ticks', [r for r in rows if not r['policy_ran']])):
        out[name] = {stage: {'p50_us': float(np.percentile([r[stage] for r in subset], 50)),
                             'p99_us': float(np.percentile([r[stage] for r in subset], 99)),
                             'mean_us': float(np.mean([r[stage] for r in subset]))}
                     for stage in STAGES + ('total',)} if subset else {}
        out[name]['count'] = len(subset)
    return out


class ProcessHal:
    """
    A scripted HAL in its own process over tcp (as deployed: no shared GIL).

    Only the controller side is measured with it (tick timing); the
    latency at the HAL needs the in-process :class:`ScriptedHal`.
    """

    def __init__(self, rate: float, height: int, width: int) -> None:
        code = ('import sys, time\n'
                f'sys.path.insert(0, {str(REPO)!r})\n'
                'from test.hardening.harness import ObservationTemplate, ScriptedHal\n'
                f'hal = ScriptedHal(rate_hz={rate}, '
                f'template=ObservationTemplate({height}, {width})).start()\n'
                'print(hal.observation_endpoint, hal.command_endpoint, flush=True)\n'
                'sys.stdin.read()\n'
                'hal.close()\n')
        self.process = subprocess.Popen([sys.executable, '-c', code], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        self.observation_endpoint, self.command_endpoint = \
            self.process.stdout.readline().split()
        self.context = None
        self.inproc = False
        self.publish_log: List[Tuple[int, int]] = []
        self.commands: List[Any] = []
        self.late_publishes = 0

    def client_config(self, **kwargs):
        """Return a HalClientConfig pointing at the HAL process."""
        from krabby_parkour_ros.hal.config import HalClientConfig
        return HalClientConfig(self.observation_endpoint, self.command_endpoint, **kwargs)

    def start(self) -> None:
        """Already publishing."""

    def close(self) -> None:
        """Stop the HAL process."""
        self.process.stdin.close()
        self.process.wait(10)


def run_case(transport: str, seconds: float, height: int = 58, width: int = 87,
             rate: float = 100.0, decimation: Optional[int] = None, busy: bool = False,
             warmup_s: float = 1.5, check_card: bool = True,
             realtime_priority: int = 0) -> Dict[str, Any]:
    """Run the controller against a scripted HAL; return latency, budget and tick timing."""
    context = zmq.Context() if transport == 'inproc' else None
    if transport == 'tcp-process':
        hal: Any = ProcessHal(rate, height, width)
    else:
        observation, command = _endpoints(transport)
        hal = ScriptedHal(observation, command, rate_hz=rate,
                          template=ObservationTemplate(height, width), context=context)
    original_check = runtime_module.check_deployment
    if not check_card:
        runtime_module.check_deployment = lambda *args, **kwargs: None
    try:
        client = make_controller(hal, control_rate=rate, policy_decimation=decimation,
                                 soft_start_duration=0.2, stale_timeout=max(0.1, 10.0 / rate),
                                 realtime_priority=realtime_priority)
    finally:
        runtime_module.check_deployment = original_check
    probe = Probe(client)
    running = threading.Event()
    running.set()
    load = BusyCore() if busy else None
    try:
        if load is not None:
            load.__enter__()
        hal.start()
        client.start_thread(running)
        client.set_navigation_command(0.5, 0.0, 0.0)
        if not wait_for(lambda: client.mode == ControlMode.RUNNING, 10.0):
            raise RuntimeError(f'controller did not reach running: {client.stats()}')
        time.sleep(warmup_s)
        runtime = client.runtime
        driver = runtime.driver
        driver.periods.clear()
        recorder = _LatenessRecorder()
        driver.lateness = recorder
        late_before, ticks_before = driver.late_ticks, runtime.step.counters['ticks']
        hal_before = runtime.hal.stats()
        published_before = len(hal.publish_log)
        since = time.monotonic_ns()
        time.sleep(seconds)
        lateness = list(recorder.samples)
        elapsed = (time.monotonic_ns() - since) / 1e9
        stats = client.stats()
        ticks = runtime.step.counters['ticks'] - ticks_before
        late = driver.late_ticks - late_before
        hal_after = runtime.hal.stats()
        scheduler = client.control_thread_scheduler
    finally:
        client.stop_thread()
        client.close()
        hal.close()
        if load is not None:
            load.__exit__(None, None, None)
        if context is not None:
            context.term()
    rows = _stage_rows(hal, probe, since)
    totals = [r['total'] for r in rows]
    return {
        'transport': transport, 'image': [height, width], 'rate_hz': rate,
        'policy_decimation': client._config.control.policy_decimation
        if decimation is None else decimation,
        'busy_core': busy, 'control_thread_scheduler': scheduler, 'seconds': round(elapsed, 2),
        'published': len(hal.publish_log) - published_before,
        'answered': len(rows), 'latency_us': percentiles(totals),
        'latency_policy_ticks_us': percentiles([r['total'] for r in rows if r['policy_ran']]),
        'latency_repeat_ticks_us': percentiles([r['total'] for r in rows if not r['policy_ran']]),
        'budget': _budget(rows),
        'ticks': ticks, 'tick_rate_hz': ticks / elapsed, 'late_ticks': late,
        'late_fraction': late / max(ticks, 1),
        'tick_lateness_us': percentiles(lateness, 1e6),
        'superseded': hal_after['superseded_count'] - hal_before['superseded_count'],
        'mode': stats['mode'], 'failures': stats['counters']['failures'],
        'hal_late_publishes': hal.late_publishes,
        'histogram_us': np.histogram(np.clip(totals, 0, 5000), bins=100,
                                     range=(0, 5000))[0].tolist() if totals else [],
    }


class _LatenessRecorder(RollingSamples):
    """The driver's lateness ring, also keeping every sample for the distribution."""

    def __init__(self) -> None:
        super().__init__()
        self.samples: List[float] = []

    def add(self, value: float) -> None:
        """Record one sample."""
        super().add(value)
        self.samples.append(value)


# -- floors -------------------------------------------------------------------------

def transport_floor(transport: str, frames: List[bytes], count: int,
                    period_s: float = 0.01) -> Dict[str, Any]:
    """Return the raw ZeroMQ round trip of ``frames`` + a command reply, no decoding."""
    context = zmq.Context()
    observation, command = _endpoints(transport)
    pub, pull = context.socket(zmq.PUB), context.socket(zmq.PULL)
    for socket in (pub, pull):
        socket.setsockopt(zmq.LINGER, 0)
    pub.setsockopt(zmq.SNDHWM, 1)
    pub.bind(observation)
    pull.bind(command)
    observation = pub.getsockopt_string(zmq.LAST_ENDPOINT)
    command = pull.getsockopt_string(zmq.LAST_ENDPOINT)
    sub, push = context.socket(zmq.SUB), context.socket(zmq.PUSH)
    for socket in (sub, push):
        socket.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b'observation')
    sub.connect(observation)
    push.connect(command)
    reply = encode_command(np.zeros(18), 1)
    stop = threading.Event()

    def responder() -> None:
        while not stop.is_set():
            if sub.poll(100):
                sub.recv_multipart(copy=False)
                push.send_multipart(reply)

    thread = threading.Thread(target=responder, daemon=True)
    thread.start()
    samples: List[int] = []
    lost = 0
    try:
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:  # slow joiner
            pub.send_multipart(frames)
            if pull.poll(50):
                pull.recv_multipart()
                break
        next_t = time.monotonic()
        for _ in range(count):
            next_t += period_s
            time.sleep(max(0.0, next_t - time.monotonic()))
            start = time.monotonic_ns()
            pub.send_multipart(frames, copy=False)
            if pull.poll(100):
                pull.recv_multipart()
                samples.append(time.monotonic_ns() - start)
            else:
                lost += 1
    finally:
        stop.set()
        thread.join(2.0)
        for socket in (pub, pull, sub, push):
            socket.close(linger=0)
        context.term()
    return {'round_trip_us': percentiles(samples, 1e-3), 'lost': lost,
            'message_bytes': sum(len(f) for f in frames)}


def inference_floor(count: int, period_s: float = 0.01) -> Dict[str, Any]:
    """Return bare teacher inference at the control period (cold caches) and back to back."""
    model = ParkourPolicyModel(teacher_weights(), device='cpu', num_threads=1)
    vector = np.zeros(model.obs_dim, dtype=np.float32)
    io = ModelIO(observation=vector, base_velocity_measured=True, depth_image=None)
    for _ in range(50):
        model.inference(io)
    spaced, packed = [], []
    for samples, gap in ((spaced, period_s), (packed, 0.0)):
        for _ in range(count):
            if gap:
                time.sleep(gap)
            start = time.perf_counter_ns()
            model.inference(io)
            samples.append(time.perf_counter_ns() - start)
    return {'at_100hz_us': percentiles(spaced, 1e-3), 'back_to_back_us': percentiles(packed, 1e-3)}


# -- node process -------------------------------------------------------------------

def run_node_case(seconds: float) -> Dict[str, Any]:
    """Run the ROS node process against a scripted HAL over tcp; latency at the HAL."""
    hal = ScriptedHal(template=ObservationTemplate(58, 87)).start()
    command = [sys.executable, '-m', 'krabby_parkour_ros.node.main', '--autostart',
               '--params-file', str(REPO / 'config' / 'parkour.yaml'), '--ros-args',
               '-p', f'hal.observation_endpoint:={hal.observation_endpoint}',
               '-p', f'hal.command_endpoint:={hal.command_endpoint}',
               '-p', 'soft_start_duration:=0.2']
    env = dict(os.environ, ROS_DOMAIN_ID=str(150 + os.getpid() % 50))
    process = subprocess.Popen(command, cwd=str(REPO), env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        if not wait_for(lambda: len(hal.commands) > 100, 60.0, 0.1):
            raise RuntimeError('the node sent no commands within 60 s')
        time.sleep(1.0)
        since = time.monotonic_ns()
        time.sleep(seconds)
        published = dict(hal.publish_log)
        first: Dict[int, int] = {}
        for c in list(hal.commands):
            first.setdefault(c.observation_timestamp_ns, c.receive_ns)
        totals = [(received - published[s]) / 1e3 for s, received in first.items()
                  if s in published and published[s] >= since]
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        hal.close()
    return {'transport': 'tcp', 'image': [58, 87], 'seconds': seconds,
            'latency_us': percentiles(totals), 'answered': len(totals)}


# -- output -------------------------------------------------------------------------

def plot(results: Dict[str, Any], path: Path) -> None:
    """Write the latency histograms and the stage budget bars."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 5.5))
    edges = np.linspace(0, 5000, 101)
    for name, case in results['cases'].items():
        if case.get('histogram_us'):
            left.step(edges[:-1] / 1e3, case['histogram_us'], where='post', label=name)
    left.set_yscale('log')
    left.set_xlabel('observation published -> command received at the HAL (ms; last bin: >= 5)')
    left.set_ylabel('observations (log)')
    left.set_title('Latency at 100 Hz, shipped teacher')
    left.legend(fontsize=8)
    floors = results.get('floors') or {}
    if floors:
        inference = floors['inference']['at_100hz_us']['p50']
        transport = floors['transport_inproc_58x87']['round_trip_us']['p50']
        left.axvline((inference + transport) / 1e3, color='k', linestyle='--', linewidth=1,
                     label='floor: raw inproc round trip + bare inference (p50)')
        left.legend(fontsize=8)
    names = [n for n, c in results['cases'].items() if c['budget'].get('policy_ticks')]
    bottom = np.zeros(len(names))
    colors = plt.get_cmap('tab10')
    for i, stage in enumerate(STAGES):
        # A negative median (the HAL thread took the GIL right after the send and
        # stamped its receive before the sender's own clock read) is drawn as 0.
        values = np.array([max(0.0, results['cases'][n]['budget']['policy_ticks'][stage][
            'p50_us']) for n in names])
        right.barh(names, values, left=bottom, color=colors(i), label=stage)
        bottom += values
    if floors:
        floor = floors['transport_inproc_58x87']['round_trip_us']['p50']
        infer = floors['inference']['at_100hz_us']['p50']
        right.barh(['floor (raw inproc + inference)'], [floor], color='0.6')
        right.barh(['floor (raw inproc + inference)'], [infer], left=[floor], color=colors(4))
    right.set_xlabel('p50 per stage, policy ticks (microseconds)')
    right.set_title('Where the time goes (policy ticks)')
    right.legend(fontsize=8, ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def summary_line(name: str, case: Dict[str, Any]) -> str:
    """Return one human line of a case."""
    lat = case['latency_us']
    return (f'{name:<28} p50 {lat["p50"]:7.0f} us  p99 {lat["p99"]:7.0f} us  max '
            f'{lat["max"]:7.0f} us  n={lat["count"]}' + (
                f'  late ticks {case["late_ticks"]}' if 'late_ticks' in case else ''))


def main(argv: Optional[List[str]] = None) -> int:
    """Run the benchmark; write JSON and PNG; print the summary."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--seconds', type=float, default=60.0,
                        help='seconds per 58x87 latency case (4 cases)')
    parser.add_argument('--large-seconds', type=float, default=20.0,
                        help='seconds of the 480x640 inproc case')
    parser.add_argument('--ramp-seconds', type=float, default=5.0,
                        help='seconds per rate of the ramp')
    parser.add_argument('--ramp', default='100,200,500,1000,1500,2000',
                        help='comma-separated control rates of the ramp (Hz)')
    parser.add_argument('--long-seconds', type=float, default=60.0,
                        help='seconds of the 100 Hz busy-core lateness run (600 = 10 min)')
    parser.add_argument('--long-transport', default='inproc',
                        choices=('inproc', 'tcp', 'tcp-process'),
                        help='HAL of the long run: in this process (inproc, tcp) or its own '
                        'process over tcp (tick timing only)')
    parser.add_argument('--node-seconds', type=float, default=0.0,
                        help='seconds of the ROS node process case over tcp (0: skip)')
    parser.add_argument('--cases', default='all',
                        help='comma-separated subset of: ' + ', '.join(CASES)
                        + ' (or all, or none)')
    parser.add_argument('--realtime-priority', type=int, default=0,
                        help='SCHED_FIFO priority of the control thread (0: default scheduler)')
    parser.add_argument('--floor-count', type=int, default=500,
                        help='samples per floor measurement (0: skip the floors)')
    parser.add_argument('--quick', action='store_true', help='every part for a few seconds')
    parser.add_argument('--out', default=str(RESULTS / 'latency.json'))
    parser.add_argument('--plot-only', default='', help='redraw the PNG of this JSON and exit')
    args = parser.parse_args(argv)
    if args.plot_only:
        source = Path(args.plot_only)
        plot(json.loads(source.read_text()), source.with_suffix('.png'))
        return 0
    if args.quick:
        args.seconds, args.large_seconds, args.ramp_seconds = 8.0, 5.0, 3.0
        args.long_seconds = 10.0
    results: Dict[str, Any] = {
        'benchmark': 'latency', 'machine': {
            'platform': platform.platform(), 'cpu_count': os.cpu_count(),
            'python': platform.python_version(), 'pyzmq': zmq.__version__,
            'libzmq': zmq.zmq_version(), 'switch_interval_s': sys.getswitchinterval(),
            'load_average_at_start': os.getloadavg()},
        'arguments': vars(args), 'cases': {}, 'ramp': [], 'floors': {}}
    if args.floor_count > 0:
        small = ObservationTemplate(58, 87).frames(time.time_ns())
        large = ObservationTemplate(480, 640).frames(time.time_ns())
        count = args.floor_count
        results['floors'] = {
            'inference': inference_floor(count),
            'transport_inproc_58x87': transport_floor('inproc', small, count),
            'transport_tcp_58x87': transport_floor('tcp', small, count),
            'transport_inproc_480x640': transport_floor('inproc', large, count)}
    chosen = set(CASES) if args.cases == 'all' else set(args.cases.split(','))
    for key, (name, transport, height, width, busy) in CASES.items():
        seconds = args.large_seconds if height > 100 else args.seconds
        if key in chosen and seconds > 0:
            results['cases'][name] = run_case(transport, seconds, height, width, busy=busy,
                                              realtime_priority=args.realtime_priority)
            print(summary_line(name, results['cases'][name]), flush=True)
    for rate in [float(r) for r in args.ramp.split(',') if r]:
        for decimation in (1, 2):
            case = run_case('inproc', args.ramp_seconds, rate=rate, decimation=decimation,
                            warmup_s=0.5, check_card=False,
                            realtime_priority=args.realtime_priority)
            case.pop('histogram_us')
            results['ramp'].append(case)
            print(f'ramp {rate:6.0f} Hz dec {decimation}: {case["tick_rate_hz"]:7.1f} ticks/s, '
                  f'late {case["late_ticks"]} ({100 * case["late_fraction"]:.2f} %), latency '
                  f'p50 {case["latency_us"]["p50"]:.0f} us p99 {case["latency_us"]["p99"]:.0f}'
                  f' us, superseded {case["superseded"]}', flush=True)
    if args.long_seconds > 0:
        case = run_case(args.long_transport, args.long_seconds, busy=True,
                        realtime_priority=args.realtime_priority)
        case.pop('histogram_us')
        results['long_busy_core'] = case
        print(f'long run {args.long_seconds:.0f} s ({args.long_transport}), 100 Hz, busy core: '
              f'late ticks '
              f'{case["late_ticks"]} of {case["ticks"]}, lateness p50 '
              f'{case["tick_lateness_us"]["p50"]:.0f} us p99 '
              f'{case["tick_lateness_us"]["p99"]:.0f} us max '
              f'{case["tick_lateness_us"]["max"]:.0f} us, control thread '
              f'{case["control_thread_scheduler"]}', flush=True)
    if args.node_seconds > 0:
        results['node_tcp'] = run_node_case(args.node_seconds)
        print(summary_line('node process tcp 58x87', results['node_tcp']), flush=True)
    results['machine']['load_average_at_end'] = os.getloadavg()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    plot(results, out.with_suffix('.png'))
    floors = results['floors']
    if floors:
        print(f'floors: inference at 100 Hz p50 {floors["inference"]["at_100hz_us"]["p50"]:.0f}'
              f' us (back to back {floors["inference"]["back_to_back_us"]["p50"]:.0f} us); '
              'raw round trip inproc p50 '
              f'{floors["transport_inproc_58x87"]["round_trip_us"]["p50"]:.0f} us, tcp p50 '
              f'{floors["transport_tcp_58x87"]["round_trip_us"]["p50"]:.0f} us')
    print(f'wrote {out} and {out.with_suffix(".png")}')
    return 0


if __name__ == '__main__':
    sys.exit(main())

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
Observation -> command latency of the whole controller against its floors.

Every case runs the real controller (``ParkourInferenceClient`` with the
shipped trained teacher, its real observation builder, action mapper and
HAL client) against a scripted HAL
(:class:`krabby_parkour_ros.hal.scripted_hal.ScriptedHal`: a real
``HalServer`` publishing a standing Go2 with every extension key). Latency
is measured at the HAL: from just before ``publish`` of an observation to
the command answering it being received and decoded, both on
``time.monotonic_ns()``.

1. Floors, measured in the same run at the control rate (2000 samples by
   default, ``--floor-count``): bare teacher inference paced at 100 Hz
   (cold caches), back to back, and paced with a warm-up inference
   ``--warm-up-lead`` before the timed one; the raw ZeroMQ round trip of
   the same frames (PUB -> SUB, 2-frame PUSH -> PULL reply, no decoding)
   over inproc and tcp; and, next to every case, a bare Python thread
   sleeping to a 10 ms grid in a process of its own (``common.py``), so the
   controller's tick lateness is compared with what the machine allowed
   at the same time. Two more floors say where the rest of the time goes
   (they are not in the issue's targets): the controller's own Python work
   on one policy tick, paced at 100 Hz in one thread without sockets
   (decode, the control step without its inference, the command encode),
   and the wake-up of a thread waiting on a ``threading.Condition`` (the
   receiver thread handing an observation to the control thread).
2. Latency at 100 Hz (``--seconds`` each): 58x87 images over inproc and
   tcp, without and with a busy core, with recording on, with the warm-up
   off; 480x640 inproc. Per-stage budget of every answered observation,
   CPU of the controller's threads, garbage collections.
3. Ratios against the floors (``ratios`` in the JSON, drawn in the PNG):
   p50 / (inference p50 + round trip p50) <= 1.15, p99 / (sum of p99)
   <= 1.5, recording p99 / no recording p99 <= 1.2, CPU <= 10 % of a core,
   max tick lateness / bare thread max <= 2, late ticks <= bare + 2.
   Beside them, not a target: p50 / (the two floors + the Python work +
   the hand-off), ``p50_vs_all_floors``; and the design floor's own
   ratio to the p50 target's floors, ``design_floor_p50_vs_floor`` (a
   black tick in the PNG): above 1.15 the controller's paced work alone
   stops the p50 target, before any scheduling or hand-off. Likewise for
   CPU, ``design_floor_cpu_fraction``: the paced work, inference, the
   controller's end of the round trip and the warm-up's least cost at
   100 Hz, against which the case's CPU (split by thread,
   ``cpu_by_thread``) is ``cpu_vs_design_floor``.
4. Rate ramp (``--ramp-seconds`` per rate, off in ``--quick``).
5. Long run (``--long-seconds``; ``--soak SECONDS`` runs only this, default
   600): 100 Hz, one core busy, bare-thread probe alongside.
6. Optionally (``--node-seconds`` > 0) the ROS node process over tcp.

Writes ``benchmarks/results/latency.json`` and ``latency.png`` and prints a
summary with p50/p99/max. ``--quick``: every part for a few seconds.
``--compare-baseline``: ratios to ``benchmarks/baselines/latency.json``.
"""

from __future__ import annotations

import argparse
import array
import gc
import json
import os
from pathlib import Path
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

from common import (
    add_baseline_arguments,
    BareThreadProbe,
    BusyCore,
    figures,
    handle_baseline,
    LATE_US,
    machine,
    make_controller,
    percentiles,
    ratio,
    REPO,
    RESULTS,
    source,
    summary,
    teacher_weights,
    ThreadCpu,
    wait_for,
    write_json,
)
import numpy as np
import zmq

from krabby_parkour_ros.control.inference_client import ParkourInferenceClient
import krabby_parkour_ros.control.loop as loop_module
import krabby_parkour_ros.control.runtime as runtime_module
from krabby_parkour_ros.control.stats import RollingSamples
from krabby_parkour_ros.control.step import ControlMode
from krabby_parkour_ros.hal.codec import encode_command
from krabby_parkour_ros.hal.receiver import THREAD_NAME as RECEIVER_THREAD_NAME
from krabby_parkour_ros.hal.scripted_hal import ObservationTemplate, ScriptedHal
from krabby_parkour_ros.policy.model import ModelIO, ParkourPolicyModel

#: Key of the raw samples a floor keeps until :func:`design_floors` has used them.
SAMPLES = '_samples_us'
STAGES = ('transport', 'decode', 'schedule', 'build', 'infer', 'map', 'step', 'send', 'return')
_ids = iter(range(1_000_000))
#: Latency cases: key -> (name, transport, height, width, busy core, options).
CASES = {
    'inproc': ('inproc 58x87', 'inproc', 58, 87, False, {}),
    'inproc-rec': ('inproc 58x87 recording', 'inproc', 58, 87, False, {'record': True}),
    'inproc-nowarm': ('inproc 58x87 no warm-up', 'inproc', 58, 87, False, {'warm_up': False}),
    'inproc-busy': ('inproc 58x87 busy core', 'inproc', 58, 87, True, {}),
    'tcp': ('tcp 58x87', 'tcp', 58, 87, False, {}),
    'tcp-busy': ('tcp 58x87 busy core', 'tcp', 58, 87, True, {}),
    'inproc-large': ('inproc 480x640', 'inproc', 480, 640, False, {}),
}
#: Targets of issue #16: ratio name -> (limit, what it compares).
TARGETS = {
    'p50_vs_floor': (1.15, 'p50 / (paced inference p50 + paced round trip p50)'),
    'p99_vs_floor': (1.5, 'p99 / (paced inference p99 + paced round trip p99)'),
    'recording_p99': (1.2, 'p99 with recording / p99 without'),
    'cpu_fraction': (0.10, 'controller CPU / one core'),
    'lateness_max_vs_bare': (2.0, 'max tick lateness / bare thread max'),
    'late_ticks_over_bare': (2.0, 'late ticks (> 2 ms) - bare thread late wake-ups'),
}
#: Target -> the design floor's value for that target (its ratio to the target's
#: floors; for CPU, its fraction of a core). Only the median for latency:
#: medians of the floors nearly add up, while the p99 of the Monte Carlo sum of
#: independent paced samples overstates the tail of correlated stages.
DESIGN_BOUNDS = {
    'p50_vs_floor': 'design_floor_p50_vs_floor',
    'cpu_fraction': 'design_floor_cpu_fraction',
}


def _endpoints(transport: str) -> tuple[str, str]:
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
        self.returned: dict[int, tuple[int, int]] = {}
        self.ticks: dict[int, tuple] = {}
        self._put: list[int] = [0, 0]
        wait, poll, tick, put = (
            hal.wait_for_observation,
            hal.poll,
            step.tick,
            hal.put_joint_command,
        )

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
                # Only ints, floats and bools: the collector untracks the tuple,
                # so the log does not lengthen the process's full collections.
                stages = result.stage_times or {}
                self.ticks[obs.timestamp_ns] = (
                    start,
                    self._put[0],
                    self._put[1],
                    bool(result.policy_ran),
                    stages.get('build', 0.0),
                    stages.get('infer', 0.0),
                    stages.get('map', 0.0),
                    result.mode == ControlMode.RUNNING,
                )
            return result

        hal.wait_for_observation = lambda timeout_s: record(wait(timeout_s))
        hal.poll = lambda: record(poll())
        hal.put_joint_command = timed_put
        step.tick = timed_tick


def _stage_rows(hal: ScriptedHal, probe: Probe, since_ns: int) -> list[dict[str, float]]:
    """Return one dict of stage durations (microseconds) per answered observation."""
    published = dict(hal.publish_log)
    answered: dict[int, int] = {}
    for command in list(hal.commands):
        answered.setdefault(command.observation_timestamp_ns, command.receive_ns)
    rows = []
    for stamp, hal_receive in answered.items():
        publish = published.get(stamp)
        tick = probe.ticks.get(stamp)
        returned = probe.returned.get(stamp)
        if publish is None or publish < since_ns or tick is None or returned is None:
            continue
        start, put_start, put_end, policy_ran, build, infer, map_, running = tick
        if not running or put_start == 0:
            continue
        received, handed = returned
        policy = (build + infer + map_) * 1e9
        row = {
            'transport': received - publish,
            'decode': handed - received,
            'schedule': start - handed,
            'build': build * 1e9,
            'infer': infer * 1e9,
            'map': map_ * 1e9,
            'step': put_start - start - policy,
            'send': put_end - put_start,
            'return': hal_receive - put_end,
            'total': hal_receive - publish,
            'policy_ran': 1.0 if policy_ran else 0.0,
        }
        rows.append({k: (v / 1e3 if k != 'policy_ran' else v) for k, v in row.items()})
    return rows


def _budget(rows: list[dict[str, float]]) -> dict[str, Any]:
    """Return the summary (microseconds) per stage, for policy and repeat ticks separately."""
    out: dict[str, Any] = {}
    for name, subset in (
        ('policy_ticks', [r for r in rows if r['policy_ran']]),
        ('repeat_ticks', [r for r in rows if not r['policy_ran']]),
    ):
        out[name] = (
            {stage: percentiles([r[stage] for r in subset]) for stage in STAGES + ('total',)}
            if subset
            else {}
        )
        out[name]['count'] = len(subset)
    return out


class ProcessHal:
    """
    A scripted HAL in its own process over tcp (as deployed: no shared GIL).

    Only the controller side is measured with it (tick timing); the
    latency at the HAL needs the in-process :class:`ScriptedHal`.
    """

    def __init__(self, rate: float, height: int, width: int) -> None:
        code = (
            'import sys\n'
            'from krabby_parkour_ros.hal.scripted_hal import ObservationTemplate, '
            'ScriptedHal\n'
            f'hal = ScriptedHal(rate_hz={rate}, '
            f'template=ObservationTemplate({height}, {width})).start()\n'
            'print(hal.observation_endpoint, hal.command_endpoint, flush=True)\n'
            'sys.stdin.read()\n'
            'hal.close()\n'
        )
        self.process = subprocess.Popen(
            [sys.executable, '-c', code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.observation_endpoint, self.command_endpoint = self.process.stdout.readline().split()
        self.context = None
        self.inproc = False
        self.publish_log: list[tuple[int, int]] = []
        self.commands: list[Any] = []
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


def _cpu_threads(hal: Any) -> list[threading.Thread]:
    """Return the threads of this process that are not the controller's (HAL, main)."""
    others = [threading.main_thread()]
    hal_thread = getattr(hal, '_thread', None)
    if hal_thread is not None:
        others.append(hal_thread)
    return others


def _controller_threads(client: ParkourInferenceClient) -> dict[str, ThreadCpu]:
    """Return the CPU clocks of the controller's control and HAL receiver threads."""
    loop = client._loop
    control = getattr(loop, '_thread', None) if loop is not None else None
    receivers = [t for t in threading.enumerate() if t.name == RECEIVER_THREAD_NAME]
    return {'control': ThreadCpu([control] if control else []), 'receiver': ThreadCpu(receivers)}


def run_case(
    transport: str,
    seconds: float,
    height: int = 58,
    width: int = 87,
    rate: float = 100.0,
    decimation: int | None = None,
    busy: bool = False,
    warmup_s: float = 1.5,
    check_card: bool = True,
    realtime_priority: int = 0,
    record: bool = False,
    warm_up: bool = True,
    warm_up_lead_s: float = loop_module.WARM_UP_LEAD_S,
    bare_probe: bool = True,
) -> dict[str, Any]:
    """Run the controller against a scripted HAL; return latency, budget and tick timing."""
    context = zmq.Context() if transport == 'inproc' else None
    if transport == 'tcp-process':
        hal: Any = ProcessHal(rate, height, width)
    else:
        observation, command = _endpoints(transport)
        hal = ScriptedHal(
            observation,
            command,
            rate_hz=rate,
            template=ObservationTemplate(height, width),
            context=context,
        )
    original_check = runtime_module.check_deployment
    if not check_card:
        runtime_module.check_deployment = lambda *args, **kwargs: None
    record_dir = tempfile.TemporaryDirectory(prefix='bench_latency_rec_') if record else None
    try:
        client = make_controller(
            hal,
            control_rate=rate,
            policy_decimation=decimation,
            soft_start_duration=0.2,
            stale_timeout=max(0.1, 10.0 / rate),
            realtime_priority=realtime_priority,
            record_path=record_dir.name if record_dir else '',
            warm_up_lead_s=warm_up_lead_s if warm_up else 0.0,
        )
    finally:
        runtime_module.check_deployment = original_check
    probe = Probe(client)
    running = threading.Event()
    running.set()
    load = BusyCore() if busy else None
    bare: BareThreadProbe | None = None
    stalls: _StallLog | None = None
    gc_monitor = loop_module.GC_MONITOR
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
        stalls = _StallLog()
        stalls.install(driver)
        late_before, ticks_before = driver.late_ticks, runtime.step.counters['ticks']
        warm_before = (driver.warm_ups, driver.warm_up_cpu_s)
        gc_monitor.reset_window()
        gc_before = gc_monitor.stats()
        hal_before = runtime.hal.stats()
        published_before = len(hal.publish_log)
        rec_before = _recording_counts(client)
        if bare_probe:
            bare = BareThreadProbe(seconds, realtime_priority=realtime_priority)
        others = ThreadCpu(_cpu_threads(hal))
        own = _controller_threads(client)
        own_before = {name: clock.seconds() for name, clock in own.items()}
        others_before, process_before = others.seconds(), time.process_time()
        since = time.monotonic_ns()
        time.sleep(seconds)
        lateness = list(recorder.samples)
        late_ticks_at = list(recorder.late)
        elapsed = (time.monotonic_ns() - since) / 1e9
        cpu = (time.process_time() - process_before) - (others.seconds() - others_before)
        cpu_by_thread = {
            name: (clock.seconds() - own_before[name]) / elapsed for name, clock in own.items()
        }
        stats = client.stats()
        ticks = runtime.step.counters['ticks'] - ticks_before
        late = driver.late_ticks - late_before
        warm_ups = driver.warm_ups - warm_before[0]
        warm_cpu = driver.warm_up_cpu_s - warm_before[1]
        warm_lead, warm_pauses = driver.warm_up_lead_s, driver.warm_up_pauses
        warm_durations = driver.warm_up_durations.summary()
        gc_after = gc_monitor.stats()
        hal_after = runtime.hal.stats()
        scheduler = client.control_thread_scheduler
        bare_result = bare.result() if bare is not None else None
        freeze_s = client._loop.gc_freeze_s if client._loop is not None else None
    finally:
        if stalls is not None:
            stalls.uninstall()
        if bare is not None:
            bare.kill()
        client.stop_thread()
        rec_after = _recording_counts(client)
        client.close()
        hal.close()
        if load is not None:
            load.__exit__(None, None, None)
        if context is not None:
            context.term()
        if record_dir is not None:
            record_dir.cleanup()
    rows = _stage_rows(hal, probe, since)
    totals = [r['total'] for r in rows]
    return {
        'transport': transport,
        'image': [height, width],
        'rate_hz': rate,
        'policy_decimation': client._config.control.policy_decimation
        if decimation is None
        else decimation,
        'busy_core': busy,
        'recording': record,
        'warm_up_lead_s': warm_up_lead_s if warm_up else 0.0,
        'control_thread_scheduler': scheduler,
        'seconds': round(elapsed, 2),
        'published': len(hal.publish_log) - published_before,
        'answered': len(rows),
        'latency_us': percentiles(totals),
        'latency_policy_ticks_us': percentiles([r['total'] for r in rows if r['policy_ran']]),
        'latency_repeat_ticks_us': percentiles([r['total'] for r in rows if not r['policy_ran']]),
        'budget': _budget(rows),
        'ticks': ticks,
        'tick_rate_hz': ticks / elapsed,
        'late_ticks': late,
        'late_fraction': late / max(ticks, 1),
        'tick_lateness_us': percentiles(lateness, 1e6),
        'bare_thread_lateness_us': bare_result,
        'late_tick_causes': late_tick_causes(
            late_ticks_at, bare_result['late_wakeups'] if bare_result else [], stalls
        ),
        'cpu_fraction': cpu / elapsed,
        # The warm-up runs in the control thread (its share: warm_up_cpu_fraction).
        'cpu_by_thread': cpu_by_thread,
        'warm_ups': warm_ups,
        'warm_up_cpu_fraction': warm_cpu / elapsed,
        'warm_up_cpu_us_each': 1e6 * warm_cpu / warm_ups if warm_ups else 0.0,
        'warm_up_lead_final_s': warm_lead,
        'warm_up_pauses': warm_pauses,
        'warm_up_wall_last_s': warm_durations,
        'gc': {k: gc_after[k] - gc_before[k] for k in gc_after if not k.endswith('max_ms')},
        'gc_window_max_ms': gc_after['gc_window_max_ms'],
        'gc_freeze_s': freeze_s,
        'recording_counts': {k: rec_after.get(k, 0) - rec_before.get(k, 0) for k in rec_after}
        if record
        else {},
        'superseded': hal_after['superseded_count'] - hal_before['superseded_count'],
        'mode': stats['mode'],
        'failures': stats['counters']['failures'],
        'hal_late_publishes': hal.late_publishes,
        'histogram_us': np.histogram(np.clip(totals, 0, 5000), bins=100, range=(0, 5000))[
            0
        ].tolist()
        if totals
        else [],
    }


def _recording_counts(client: ParkourInferenceClient) -> dict[str, int]:
    """Return the recorder's written / dropped counters (empty without a recorder)."""
    recorder = client.recorder
    if recorder is None:
        return {}
    stats = recorder.stats() if hasattr(recorder, 'stats') else {}
    return {
        k: int(v)
        for k, v in stats.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    }


class _LatenessRecorder(RollingSamples):
    """
    The driver's lateness ring, also keeping every sample for the distribution.

    It is called at the start of each tick, so a late tick's stall is the
    interval from ``time.monotonic_ns() - lateness`` to now: ``late`` keeps
    (now, lateness in microseconds) of each tick later than ``LATE_US``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.samples: list[float] = []
        self.late: list[tuple[int, float]] = []

    def add(self, value: float) -> None:
        """Record one sample."""
        super().add(value)
        self.samples.append(value)
        if value * 1e6 > LATE_US:
            self.late.append((time.monotonic_ns(), value * 1e6))


class _StallLog:
    """
    When the controller's process was busy with something else than a tick.

    Intervals (start, end) in ``time.monotonic_ns()``: garbage collections
    over ``min_ns`` (``gc.callbacks``) and warm-ups over ``min_ns`` (the
    driver's warm-up callable, wrapped). Kept in ``array`` columns, out of
    the collector's reach.
    """

    def __init__(self, min_ns: int = 500_000) -> None:
        self._min_ns = min_ns
        self._gc_start = 0
        self.gc = array.array('q')
        self.warm_ups = array.array('q')

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        now = time.monotonic_ns()
        if phase == 'start':
            self._gc_start = now
        elif now - self._gc_start > self._min_ns:
            self.gc.extend((self._gc_start, now))

    def install(self, driver: Any) -> None:
        """Start logging collections and the driver's warm-ups."""
        gc.callbacks.append(self._on_gc)
        warm_up = driver._warm_up  # the benchmark's only reach into the driver
        if warm_up is None:
            return

        def timed() -> bool | None:
            start = time.monotonic_ns()
            result = warm_up()
            end = time.monotonic_ns()
            if end - start > self._min_ns:
                self.warm_ups.extend((start, end))
            return result

        driver._warm_up = timed

    def uninstall(self) -> None:
        """Stop logging collections."""
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)


def late_tick_causes(
    late: list[tuple[int, float]],
    bare_late: list[list[float]],
    stalls: _StallLog | None,
) -> dict[str, Any]:
    """
    Line each late tick's stall up with what else was stalled at the time.

    A late tick at ``t``, ``L`` microseconds late, was stalled over
    ``[t - L, t]``. It counts as ``machine`` when a late wake-up of the bare
    thread (another process: the VM or the host stalled both) overlaps it,
    ``gc`` when a collection does, ``warm_up`` when a warm-up over 0.5 ms
    does (categories may overlap); ``own`` counts the ones none explains.
    """

    def intervals(flat: Any) -> list[tuple[int, int]]:
        return [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]

    bare = [(int(at - v * 1e3), int(at)) for at, v in bare_late]
    gcs = intervals(stalls.gc) if stalls else []
    warm = intervals(stalls.warm_ups) if stalls else []

    def overlaps(a: int, b: int, spans: list[tuple[int, int]]) -> bool:
        return any(start < b and end > a for start, end in spans)

    counts = {'late_ticks': len(late), 'machine': 0, 'gc': 0, 'warm_up': 0, 'own': 0}
    own: list[float] = []
    for at, lateness_us in late:
        a, b = at - int(lateness_us * 1e3), at
        hits = {
            'machine': overlaps(a, b, bare),
            'gc': overlaps(a, b, gcs),
            'warm_up': overlaps(a, b, warm),
        }
        for name, hit in hits.items():
            counts[name] += hit
        if not any(hits.values()):
            counts['own'] += 1
            own.append(lateness_us)
    counts['own_lateness_us'] = percentiles(own)
    counts['collections_over_0_5_ms'] = len(gcs)
    counts['warm_ups_over_0_5_ms'] = len(warm)
    return counts


# -- floors -------------------------------------------------------------------------


def transport_floor(
    transport: str, frames: list[bytes], count: int, period_s: float = 0.01
) -> dict[str, Any]:
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
    samples: list[int] = []
    lost = 0
    try:
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:  # slow joiner
            pub.send_multipart(frames)
            if pull.poll(50):
                pull.recv_multipart()
                break
        next_t = time.monotonic()
        responder_cpu = ThreadCpu([thread])
        responder_start = responder_cpu.seconds()
        cpu_start, wall_start = time.process_time(), time.monotonic()
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
        wall = time.monotonic() - wall_start
        cpu_fraction = (time.process_time() - cpu_start) / wall
        controller_end = (responder_cpu.seconds() - responder_start) / wall
    finally:
        stop.set()
        thread.join(2.0)
        for socket in (pub, pull, sub, push):
            socket.close(linger=0)
        context.term()
    return {
        'round_trip_us': percentiles(samples, 1e-3),
        # Both ends, their I/O threads included: what moving the bytes costs.
        'cpu_fraction_both_ends': cpu_fraction,
        # The responder's thread alone (receive the observation, send the
        # reply): the controller's end, ZeroMQ's I/O threads not counted.
        'cpu_fraction_controller_end': controller_end,
        'lost': lost,
        'message_bytes': sum(len(f) for f in frames),
        SAMPLES: {'round_trip': np.asarray(samples) * 1e-3},
    }


def inference_floor(
    count: int, period_s: float = 0.01, lead_s: float = loop_module.WARM_UP_LEAD_S
) -> dict[str, Any]:
    """
    Return bare teacher inference: paced (cold caches), back to back, paced and warmed.

    Paced: one call every ``period_s`` on a grid (sleeping between). Warmed:
    the same, with one spare call ``lead_s`` before the timed one (the
    controller's warm-up); its cost is the extra call.
    """
    model = ParkourPolicyModel(teacher_weights(), device='cpu', num_threads=1)
    vector = np.zeros(model.obs_dim, dtype=np.float32)
    io = ModelIO(observation=vector, base_velocity_measured=True, depth_image=None)
    for _ in range(50):
        model.inference(io)

    def paced(warm: bool) -> list[int]:
        samples = []
        due = time.monotonic() + period_s
        for _ in range(count):
            if warm:
                time.sleep(max(0.0, due - lead_s - time.monotonic()))
                model.inference(io)
            time.sleep(max(0.0, due - time.monotonic()))
            start = time.perf_counter_ns()
            model.inference(io)
            samples.append(time.perf_counter_ns() - start)
            due += period_s
        return samples

    packed = []
    for _ in range(count):
        start = time.perf_counter_ns()
        model.inference(io)
        packed.append(time.perf_counter_ns() - start)
    cold, warmed = paced(False), paced(True)
    return {
        'at_100hz_us': percentiles(cold, 1e-3),
        'back_to_back_us': percentiles(packed, 1e-3),
        'warmed_at_100hz_us': percentiles(warmed, 1e-3),
        'warm_up_lead_s': lead_s,
        SAMPLES: {'cold': np.asarray(cold) * 1e-3, 'warmed': np.asarray(warmed) * 1e-3},
    }


def controller_work_floor(count: int, period_s: float = 0.01) -> dict[str, Any]:
    """
    Return the controller's Python work on a policy tick, paced, in one thread.

    The real decoder, observation builder, teacher, action mapper, control
    step and command encoder on the scripted HAL's 58x87 observation, one
    policy tick every ``period_s`` (cold caches, as in the controller),
    no sockets and no second thread. ``work_us`` is everything but the
    inference: what the issue's floors (inference + round trip) leave out.
    """
    from krabby_parkour_ros.contract import GO2_PARKOUR_TEACHER as contract
    from krabby_parkour_ros.control.config import ControlConfig
    from krabby_parkour_ros.control.step import ControlStep
    from krabby_parkour_ros.hal.codec import decode_observation
    from krabby_parkour_ros.mapping.action import ActionMapper
    from krabby_parkour_ros.mapping.joint_map import load_joint_map
    from krabby_parkour_ros.mapping.observation import ObservationBuilder

    joint_map = load_joint_map('go2_sim')
    model = ParkourPolicyModel(teacher_weights(), device='cpu', num_threads=1)
    template = ObservationTemplate(58, 87)
    sent: list[Any] = []

    class Sink:
        def put_joint_command(self, positions: Any, stamp: int) -> None:
            sent.append((positions, stamp))

    now = [time.monotonic_ns()]
    step = ControlStep(
        Sink(),
        ObservationBuilder(contract, joint_map),
        ActionMapper(contract, joint_map),
        model,
        ControlConfig(soft_start_duration=0.0, stale_timeout=0.5, policy_decimation=1),
        clock=lambda: now[0],
    )
    step.activate()
    scan, feet = contract.layout.scan or None, len(joint_map.hardware_foot_names) or None
    rows: dict[str, list[int]] = {'decode': [], 'step': [], 'infer': [], 'encode': [], 'work': []}

    def one(stamp: int, keep: bool) -> None:
        frames = template.frames(stamp)
        t0 = time.perf_counter_ns()
        observation = decode_observation(
            frames, receive_time_ns=stamp, height_scan_length=scan, foot_count=feet
        )
        t1 = time.perf_counter_ns()
        now[0] = stamp
        result = step.tick(observation, stamp)
        t2 = time.perf_counter_ns()
        positions, answered = sent.pop()
        encode_command(positions, answered)
        t3 = time.perf_counter_ns()
        if keep:
            infer = int(1e9 * (result.stage_times or {}).get('infer', 0.0))
            for key, value in (
                ('decode', t1 - t0),
                ('step', t2 - t1 - infer),
                ('infer', infer),
                ('encode', t3 - t2),
                ('work', t3 - t0 - infer),
            ):
                rows[key].append(value)

    for _ in range(50):
        one(time.monotonic_ns(), keep=False)
    due = time.monotonic() + period_s
    for _ in range(count):
        time.sleep(max(0.0, due - time.monotonic()))
        one(time.monotonic_ns(), keep=True)
        due += period_s
    out: dict[str, Any] = {f'{key}_us': percentiles(values, 1e-3) for key, values in rows.items()}
    out[SAMPLES] = {key: np.asarray(values) * 1e-3 for key, values in rows.items()}
    return out


def handoff_floor(count: int, period_s: float = 0.01) -> dict[str, Any]:
    """
    Return the wake-up of a thread waiting on a Condition, notified every ``period_s``.

    The receiver thread hands each observation to the control thread this
    way (``HalClient``'s latest-only slot); the floors' round trip has one
    thread and no hand-off.
    """
    cond = threading.Condition(threading.Lock())
    slot: list[int] = []
    samples: list[int] = []
    stop = threading.Event()

    def waiter() -> None:
        while not stop.is_set():
            with cond:
                if not cond.wait_for(lambda: bool(slot) or stop.is_set(), 0.1):
                    continue
                if slot:
                    samples.append(time.monotonic_ns() - slot.pop())

    thread = threading.Thread(target=waiter, daemon=True)
    thread.start()
    due = time.monotonic() + period_s
    for _ in range(count):
        time.sleep(max(0.0, due - time.monotonic()))
        with cond:
            slot.append(time.monotonic_ns())
            cond.notify_all()
        due += period_s
    stop.set()
    with cond:
        cond.notify_all()
    thread.join(2.0)
    return {'wake_us': percentiles(samples, 1e-3)}


# -- node process -------------------------------------------------------------------


def run_node_case(seconds: float, realtime_priority: int = 0) -> dict[str, Any]:
    """
    Run the ROS node process against a scripted HAL over tcp; latency at the HAL.

    :param realtime_priority: the node's ``realtime_priority`` parameter.
    """
    hal = ScriptedHal(template=ObservationTemplate(58, 87)).start()
    command = [
        sys.executable,
        '-m',
        'krabby_parkour_ros.node.main',
        '--autostart',
        '--params-file',
        str(REPO / 'config' / 'parkour.yaml'),
        '--ros-args',
        '-p',
        f'hal.observation_endpoint:={hal.observation_endpoint}',
        '-p',
        f'hal.command_endpoint:={hal.command_endpoint}',
        '-p',
        'soft_start_duration:=0.2',
        '-p',
        f'realtime_priority:={int(realtime_priority)}',
    ]
    # 1..101: higher domains' DDS ports fall into Linux's ephemeral port range.
    env = dict(os.environ, ROS_DOMAIN_ID=str(1 + os.getpid() % 101))
    process = subprocess.Popen(
        command,
        cwd=str(REPO),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        if not wait_for(lambda: len(hal.commands) > 100, 60.0, 0.1):
            raise RuntimeError('the node sent no commands within 60 s')
        time.sleep(1.0)
        since = time.monotonic_ns()
        cpu_before = _process_cpu_s(process.pid)
        time.sleep(seconds)
        cpu = (_process_cpu_s(process.pid) - cpu_before) / ((time.monotonic_ns() - since) / 1e9)
        published = dict(hal.publish_log)
        first: dict[int, int] = {}
        for c in list(hal.commands):
            first.setdefault(c.observation_timestamp_ns, c.receive_ns)
        totals = [
            (received - published[s]) / 1e3
            for s, received in first.items()
            if s in published and published[s] >= since
        ]
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        hal.close()
    return {
        'transport': 'tcp',
        'image': [58, 87],
        'seconds': seconds,
        'latency_us': percentiles(totals),
        'answered': len(totals),
        'cpu_fraction': cpu,
        'realtime_priority': realtime_priority,
        # The node warms up as the library does by default (its design
        # floors: warmed inference, the warm-up's least CPU).
        'warm_up_lead_s': loop_module.WARM_UP_LEAD_S,
    }


def _process_cpu_s(pid: int) -> float:
    """Return user + system CPU seconds of a process (``/proc/<pid>/stat``)."""
    fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


# -- ratios -------------------------------------------------------------------------


def _floor_name(case: dict[str, Any]) -> str:
    """Return ``<transport>_<H>x<W>``, which names a case's transport and design floors."""
    image = case.get('image', [58, 87])
    return f'{case.get("transport", "")}_{image[0]}x{image[1]}'


def design_of(case: dict[str, Any], floors: dict[str, Any]) -> dict[str, Any] | None:
    """Return the design floor of a case's transport and image (None when not measured)."""
    return (floors or {}).get(f'design_{_floor_name(case)}')


def case_ratios(
    case: dict[str, Any], floors: dict[str, Any], reference: dict[str, Any] | None = None
) -> dict[str, float]:
    """
    Return the ratios of one case against the floors of the same run (see :data:`TARGETS`).

    :param reference: the same case without recording (for ``recording_p99``).
    """
    out: dict[str, float] = {}
    if 'cpu_fraction' in case:
        out['cpu_fraction'] = case['cpu_fraction']
        design_cpu = (floors or {}).get('cpu_design')
        # The controller-work floor decodes 58x87 observations.
        if design_cpu is not None and list(case.get('image', [58, 87])) == [58, 87]:
            # The warm-up is extra work the design floor has not got.
            without_warm_up = case['cpu_fraction'] - case.get('warm_up_cpu_fraction', 0.0)
            out['cpu_design_floor'] = design_cpu['cpu_fraction_at_100hz']
            out['cpu_without_warm_up_vs_design_floor'] = ratio(
                without_warm_up, design_cpu['cpu_fraction_at_100hz']
            )
            design_transport = design_of(case, floors)
            if design_transport is not None and 'cpu_fraction_at_100hz' in design_transport:
                # As the case runs: the controller's end of its transport, and
                # the warm-up's least cost when it warms.
                out['design_floor_cpu_fraction'] = design_transport['cpu_fraction_at_100hz'] + (
                    design_cpu.get('warm_up_cpu_fraction_at_100hz', 0.0)
                    if case.get('warm_up_lead_s')
                    else 0.0
                )
                out['cpu_vs_design_floor'] = ratio(
                    case['cpu_fraction'], out['design_floor_cpu_fraction']
                )
    bare = case.get('bare_thread_lateness_us')
    if bare:
        out['lateness_max_vs_bare'] = ratio(case['tick_lateness_us']['max'], bare['max'])
        out['late_ticks_over_bare'] = float(case['late_ticks'] - bare['late'])
    if reference is not None:
        out['recording_p99'] = ratio(case['latency_us']['p99'], reference['latency_us']['p99'])
    key = f'transport_{_floor_name(case)}'
    if floors and key in floors and 'inference' in floors:
        inference, trip = floors['inference']['at_100hz_us'], floors[key]['round_trip_us']
        lat = case['latency_us']
        out['p50_vs_floor'] = ratio(lat['p50'], inference['p50'] + trip['p50'])
        out['p99_vs_floor'] = ratio(lat['p99'], inference['p99'] + trip['p99'])
        out['floor_p50_us'] = inference['p50'] + trip['p50']
        out['floor_p99_us'] = inference['p99'] + trip['p99']
        design = design_of(case, floors)
        if design is not None:
            # The controller warms its inference (unless the case turns it off).
            name = 'warmed' if case.get('warm_up_lead_s') else 'cold'
            out['design_floor_p50_us'] = design[f'{name}_inference_us']['p50']
            out['design_floor_p99_us'] = design[f'{name}_inference_us']['p99']
            out['p50_vs_design_floor'] = ratio(lat['p50'], out['design_floor_p50_us'])
            out['p99_vs_design_floor'] = ratio(lat['p99'], out['design_floor_p99_us'])
            # The design floor against the targets' floors: above a target's
            # limit, no scheduling can meet that target; the controller's own
            # paced work (the controller-work floor) is what stops it.
            out['design_floor_p50_vs_floor'] = ratio(
                out['design_floor_p50_us'], out['floor_p50_us']
            )
            out['design_floor_p99_vs_floor'] = ratio(
                out['design_floor_p99_us'], out['floor_p99_us']
            )
        if 'controller_work' in floors and 'handoff' in floors:
            work, wake = floors['controller_work']['work_us'], floors['handoff']['wake_us']
            out['all_floors_p50_us'] = out['floor_p50_us'] + work['p50'] + wake['p50']
            out['p50_vs_all_floors'] = ratio(lat['p50'], out['all_floors_p50_us'])
    out['met'] = {
        name: bool(value <= TARGETS[name][0])
        for name, value in out.items()
        if name in TARGETS and value == value
    }
    return out


def all_ratios(results: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Return :func:`case_ratios` of every case (and the long run)."""
    floors = results.get('floors') or {}
    cases = dict(results['cases'])
    if 'long_busy_core' in results:
        cases['long busy core'] = results['long_busy_core']
    if 'node_tcp' in results:
        cases['node process tcp'] = results['node_tcp']
    reference = cases.get('inproc 58x87')
    return {
        name: case_ratios(case, floors, reference if case.get('recording') else None)
        for name, case in cases.items()
    }


# -- output -------------------------------------------------------------------------


def plot(results: dict[str, Any], path: Path) -> None:
    """Write the latency histograms and the stage budget bars."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, (left, right, third) = plt.subplots(1, 3, figsize=(21, 8))
    edges = np.linspace(0, 5000, 101)
    for name, case in results['cases'].items():
        if case.get('histogram_us'):
            left.step(edges[:-1] / 1e3, case['histogram_us'], where='post', label=name)
    left.set_yscale('log')
    left.set_xlabel('observation published -> command received at the HAL (ms; last bin: >= 5)')
    left.set_ylabel('observations (log)')
    left.set_title('Latency at 100 Hz, shipped teacher')
    floors = results.get('floors') or {}
    if floors:
        inference = floors['inference']['at_100hz_us']['p50']
        transport = floors['transport_inproc_58x87']['round_trip_us']['p50']
        left.axvline(
            (inference + transport) / 1e3,
            color='k',
            linestyle='--',
            linewidth=1,
            label='floor: raw inproc round trip + bare inference (p50)',
        )
    if left.get_legend_handles_labels()[0]:
        left.legend(fontsize=8)
    names = [n for n, c in results['cases'].items() if c['budget'].get('policy_ticks')]
    bottom = np.zeros(len(names))
    colors = plt.get_cmap('tab10')
    for i, stage in enumerate(STAGES):
        # A negative median (the HAL thread took the GIL right after the send and
        # stamped its receive before the sender's own clock read) is drawn as 0.
        values = np.array(
            [max(0.0, results['cases'][n]['budget']['policy_ticks'][stage]['p50']) for n in names]
        )
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
    _plot_ratios(third, results.get('ratios') or {})
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_ratios(axis, ratios: dict[str, dict[str, float]]) -> None:
    """Draw every case's ratio to its target (1.0 = at the target, left of it = met)."""
    labels, values, colors = [], [], []
    for case, values_of in ratios.items():
        for name, (limit, _) in TARGETS.items():
            value = values_of.get(name)
            if value is None or value != value:
                continue
            if name == 'late_ticks_over_bare':
                scaled = (value + limit) / (2 * limit) if limit else value
            else:
                scaled = value / limit
            labels.append(f'{case}: {name}')
            values.append(scaled)
            colors.append('tab:green' if scaled <= 1.0 else 'tab:red')
    if labels:
        axis.barh(labels, values, color=colors)
        axis.axvline(1.0, color='k', linestyle='--', linewidth=1)
        bounds = [
            (f'{case}: {name}', values_of[bound] / TARGETS[name][0])
            for case, values_of in ratios.items()
            for name, bound in DESIGN_BOUNDS.items()
            if values_of.get(bound) is not None and f'{case}: {name}' in labels
        ]
        if bounds:
            axis.scatter(
                [value for _, value in bounds],
                [label for label, _ in bounds],
                marker='|',
                s=120,
                color='k',
                zorder=3,
                label='design floor alone (no scheduling, no hand-off)',
            )
            axis.legend(loc='lower right', fontsize=7)
        axis.tick_params(axis='y', labelsize=7)
    axis.set_xlabel('measured / target (<= 1: met; late ticks: (excess + 2) / 4)')
    axis.set_title('Against the floors of the same run (issue #16)')


def summary_line(name: str, case: dict[str, Any]) -> str:
    """Return one human line of a case."""
    extra = []
    if 'late_ticks' in case:
        extra.append(f'late ticks {case["late_ticks"]}')
    if 'cpu_fraction' in case:
        extra.append(f'cpu {100 * case["cpu_fraction"]:.1f} %')
        threads = case.get('cpu_by_thread')
        if threads:
            extra.append(
                f'(control {100 * threads["control"]:.1f}, of which warm-up'
                f' {100 * case.get("warm_up_cpu_fraction", 0.0):.1f};'
                f' receiver {100 * threads["receiver"]:.1f})'
            )
    return summary(name, case['latency_us'], extra='  '.join(extra))


def lateness_line(name: str, case: dict[str, Any]) -> str:
    """Return the tick lateness of a case next to the bare thread's of the same window."""
    line = summary(
        f'{name}: tick lateness', case['tick_lateness_us'], extra=f'late {case["late_ticks"]}'
    )
    bare = case.get('bare_thread_lateness_us')
    if bare:
        line += '\n' + summary(f'{name}: bare thread', bare, extra=f'late {bare["late"]}')
    causes = case.get('late_tick_causes')
    if causes and causes['late_ticks']:
        line += (
            f'\n{name}: late ticks {causes["late_ticks"]}: during a bare-thread stall'
            f' {causes["machine"]}, a collection {causes["gc"]}, a warm-up over 0.5 ms'
            f' {causes["warm_up"]}, none of these {causes["own"]}'
            f' (their lateness p50 {causes["own_lateness_us"]["p50"]:.0f} us,'
            f' max {causes["own_lateness_us"]["max"]:.0f} us)'
        )
    return line


def out_of_reach(values: dict[str, Any]) -> list[str]:
    """
    Return the targets that the design floor alone already misses.

    The design floor is a controller that is exactly its paced floors (round
    trip, inference as the case runs it, the controller's own paced work:
    :func:`design_floors`) with no scheduling or hand-off. When its median
    exceeds the p50 target, the controller-work floor is what stops that
    target: an estimate, not a bound (the real controller's warm-up also
    warms its decoder, which the paced work floor does not).
    """
    return [
        target
        for target, bound in DESIGN_BOUNDS.items()
        if values.get(bound, 0.0) > TARGETS[target][0]
    ]


def ratio_table(ratios: dict[str, dict[str, float]]) -> str:
    """Return the ratios as a text table (one line per case)."""
    lines = [
        'case: ' + ', '.join(f'{name} (<= {limit:g})' for name, (limit, _) in TARGETS.items())
    ]
    for case, values in ratios.items():
        cells = []
        for name in TARGETS:
            value = values.get(name)
            if value is None or value != value:
                cells.append('-')
            else:
                cells.append(f'{value:.2f}' + ('' if values['met'].get(name) else ' X'))
        every = values.get('p50_vs_all_floors')
        if every is not None and every == every:
            cells.append(f'p50 / all floors (not a target) {every:.2f}')
        if 'cpu_vs_design_floor' in values:
            cells.append(
                'CPU vs design CPU floor'
                f' {100 * values["design_floor_cpu_fraction"]:.1f} % (not a target)'
                f' {values["cpu_vs_design_floor"]:.2f}'
            )
        elif 'cpu_without_warm_up_vs_design_floor' in values:
            cells.append(
                'CPU without warm-up vs design CPU floor'
                f' {100 * values["cpu_design_floor"]:.1f} % (not a target)'
                f' {values["cpu_without_warm_up_vs_design_floor"]:.2f}'
            )
        if 'p99_vs_design_floor' in values:
            cells.append(
                'p50 / p99 vs design floor (not a target)'
                f' {values["p50_vs_design_floor"]:.2f} / {values["p99_vs_design_floor"]:.2f}'
            )
        reach = out_of_reach(values)
        if 'design_floor_p50_vs_floor' in values:
            cells.append(
                'design floor alone vs floors p50 / p99'
                f' {values["design_floor_p50_vs_floor"]:.2f} /'
                f' {values["design_floor_p99_vs_floor"]:.2f}'
            )
        if reach:
            cells.append(f'design floor alone beyond {", ".join(reach)} before any scheduling')
        lines.append(f'{case}: ' + ', '.join(cells))
    return '\n'.join(lines)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument(
        '--seconds', type=float, default=60.0, help='seconds per 58x87 latency case'
    )
    parser.add_argument(
        '--large-seconds', type=float, default=20.0, help='seconds of the 480x640 inproc case'
    )
    parser.add_argument(
        '--ramp-seconds', type=float, default=5.0, help='seconds per rate of the ramp (0: skip)'
    )
    parser.add_argument(
        '--ramp',
        default='100,200,500,1000,1500,2000',
        help='comma-separated control rates of the ramp (Hz)',
    )
    parser.add_argument(
        '--long-seconds',
        type=float,
        default=60.0,
        help='seconds of the 100 Hz busy-core lateness run (600 = 10 min)',
    )
    parser.add_argument(
        '--soak',
        type=float,
        nargs='?',
        const=600.0,
        default=0.0,
        help='only the floors and the long busy-core run, this many seconds (default 600)',
    )
    parser.add_argument(
        '--long-transport',
        default='inproc',
        choices=('inproc', 'tcp', 'tcp-process'),
        help='HAL of the long run: in this process (inproc, tcp) or its own '
        'process over tcp (tick timing only)',
    )
    parser.add_argument(
        '--node-seconds',
        type=float,
        default=0.0,
        help='seconds of the ROS node process case over tcp (0: skip)',
    )
    parser.add_argument(
        '--cases',
        default='all',
        help='comma-separated subset of: ' + ', '.join(CASES) + ' (or all, or none)',
    )
    parser.add_argument(
        '--realtime-priority',
        type=int,
        default=0,
        help='SCHED_FIFO priority of the control and HAL receiver threads, and of the bare'
        ' thread beside them (0: default scheduler)',
    )
    parser.add_argument(
        '--warm-up-lead',
        type=float,
        default=loop_module.WARM_UP_LEAD_S,
        help='seconds before the expected observation the controller warms its caches (0: off)',
    )
    parser.add_argument(
        '--no-gc-freeze',
        action='store_true',
        help='do not collect and freeze the heap at start (before/after)',
    )
    parser.add_argument(
        '--floor-count',
        type=int,
        default=2000,
        help='samples per floor measurement (0: skip the floors)',
    )
    parser.add_argument('--quick', action='store_true', help='every part for a few seconds')
    parser.add_argument('--out', default=str(RESULTS / 'latency.json'))
    parser.add_argument('--plot-only', default='', help='redraw the PNG of this JSON and exit')
    add_baseline_arguments(parser, 'latency')
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.large_seconds, args.ramp_seconds = 8.0, 5.0, 0.0
        args.long_seconds = min(args.long_seconds, 10.0)
        args.floor_count = min(args.floor_count, 500)
    if args.soak:
        args.long_seconds, args.cases, args.ramp_seconds = args.soak, 'none', 0.0
    return args


def measure_floors(count: int, lead_s: float) -> dict[str, Any]:
    """Return every floor at the control rate (see the module doc) and the design floors."""
    small = ObservationTemplate(58, 87).frames(time.time_ns())
    large = ObservationTemplate(480, 640).frames(time.time_ns())
    floors = {
        'inference': inference_floor(count, lead_s=lead_s),
        'transport_inproc_58x87': transport_floor('inproc', small, count),
        'transport_tcp_58x87': transport_floor('tcp', small, count),
        'transport_inproc_480x640': transport_floor('inproc', large, count),
        'controller_work': controller_work_floor(count),
        'handoff': handoff_floor(count),
    }
    floors.update(design_floors(floors))
    for floor in floors.values():
        floor.pop(SAMPLES, None)
    return floors


def design_floors(
    floors: dict[str, Any], decimation: int = 2, draws: int = 200_000, seed: int = 16
) -> dict[str, Any]:
    """
    Return the latency distribution of a controller that is exactly its floors.

    Per transport: each answered observation costs a paced round trip plus,
    on a policy tick (every ``decimation``-th), a paced inference and the
    controller's paced Python work on a policy tick, on the others only the
    decode and encode (a repeat tick's step is left out: a lower bound).
    Samples are drawn independently from the floors measured in this run
    (``draws`` Monte Carlo sums), once with the inference cold and once
    with it warmed (the controller's warm-up). Its p50 / p99 say what the
    design costs with no scheduling, hand-off or contention at all; the
    measured latency's ratio to it is what those add.
    """
    rng = np.random.default_rng(seed)
    inference, work = floors['inference'][SAMPLES], floors['controller_work'][SAMPLES]

    def pick(values: np.ndarray, size: int) -> np.ndarray:
        return values[rng.integers(0, values.size, size)]

    policy = np.arange(draws) % decimation == 0
    n_policy = int(policy.sum())
    rows = rng.integers(0, work['work'].size, draws)
    # CPU of the same controller at 100 Hz without warm-up or transport
    # (single-threaded paced work: its wall time is its CPU time, slightly
    # more when it was descheduled). A lower bound for the CPU target.
    per_policy_tick = float(np.mean(inference['cold']) + np.mean(work['work']))
    per_repeat_tick = float(np.mean(work['decode']) + np.mean(work['encode']))
    # The warm-up's spare inference runs cold and warms the real one: with it
    # a policy tick costs at least one more warmed inference. Its spare
    # decode costs at least what it saves the real one, which this floor
    # counts cold: leaving both out keeps the floor a lower bound.
    warm_up_tick = float(np.mean(inference['warmed']))
    out: dict[str, Any] = {
        'cpu_design': {
            'cpu_fraction_at_100hz': _cpu_at_100hz(
                per_policy_tick + (decimation - 1) * per_repeat_tick, decimation
            ),
            'warm_up_cpu_fraction_at_100hz': _cpu_at_100hz(warm_up_tick, decimation),
            'policy_tick_us': per_policy_tick,
            'repeat_tick_us': per_repeat_tick,
            'warm_up_us': warm_up_tick,
            'decimation': decimation,
        }
    }
    for key, floor in floors.items():
        if not key.startswith('transport_') or floor[SAMPLES]['round_trip'].size == 0:
            continue
        trip = pick(floor[SAMPLES]['round_trip'], draws)
        repeat = trip + work['decode'][rows] + work['encode'][rows]
        entry: dict[str, Any] = {'decimation': decimation, 'draws': draws}
        if 'cpu_fraction_controller_end' in floor:
            # The design CPU floor with the controller's end of this transport.
            entry['cpu_fraction_at_100hz'] = (
                out['cpu_design']['cpu_fraction_at_100hz'] + floor['cpu_fraction_controller_end']
            )
        for name, infer in (('cold', inference['cold']), ('warmed', inference['warmed'])):
            total = repeat.copy()
            total[policy] = trip[policy] + work['work'][rows[policy]] + pick(infer, n_policy)
            entry[f'{name}_inference_us'] = percentiles(total)
        out['design_' + key.removeprefix('transport_')] = entry
    return out


def _cpu_at_100hz(us_per_cycle: float, decimation: int) -> float:
    """Return the fraction of a core of ``us_per_cycle`` every ``decimation`` ticks of 100 Hz."""
    return us_per_cycle * 1e-6 * 100.0 / decimation


def _run_ramp(args: argparse.Namespace, results: dict[str, Any]) -> None:
    for rate in [float(r) for r in args.ramp.split(',') if r]:
        for decimation in (1, 2):
            case = run_case(
                'inproc',
                args.ramp_seconds,
                rate=rate,
                decimation=decimation,
                warmup_s=0.5,
                check_card=False,
                realtime_priority=args.realtime_priority,
                bare_probe=False,
                warm_up_lead_s=args.warm_up_lead,
            )
            case.pop('histogram_us')
            results['ramp'].append(case)
            print(
                f'ramp {rate:6.0f} Hz dec {decimation}: {case["tick_rate_hz"]:7.1f} ticks/s, '
                f'late {case["late_ticks"]} ({100 * case["late_fraction"]:.2f} %), latency '
                f'p50 {case["latency_us"]["p50"]:.0f} us p99 {case["latency_us"]["p99"]:.0f}'
                f' us, superseded {case["superseded"]}',
                flush=True,
            )


def _print_floors(floors: dict[str, Any]) -> None:
    inference = floors['inference']
    print(summary('floor: inference paced 100 Hz', inference['at_100hz_us']))
    print(summary('floor: inference warmed 100 Hz', inference['warmed_at_100hz_us']))
    print(summary('floor: inference back to back', inference['back_to_back_us']))
    for key in ('transport_inproc_58x87', 'transport_tcp_58x87', 'transport_inproc_480x640'):
        print(summary(f'floor: round trip {key[10:]}', floors[key]['round_trip_us']))
        print(
            f'floor: round trip {key[10:]} CPU, both ends: '
            f'{100 * floors[key]["cpu_fraction_both_ends"]:.1f} % of a core; the controller'
            f' end alone {100 * floors[key]["cpu_fraction_controller_end"]:.1f} %'
        )
    work = floors['controller_work']
    for key in ('decode', 'step', 'encode', 'work'):
        print(summary(f'floor: controller {key} (no inference), paced', work[f'{key}_us']))
    handoff = floors['handoff']['wake_us']
    print(summary('floor: thread hand-off (Condition wake-up), paced', handoff))
    design_cpu = floors.get('cpu_design')
    if design_cpu is not None:
        print(
            f'design CPU floor at 100 Hz (no warm-up, no transport): '
            f'{100 * design_cpu["cpu_fraction_at_100hz"]:.1f} % of a core '
            f'(policy tick {design_cpu["policy_tick_us"]:.0f} us, '
            f'repeat tick {design_cpu["repeat_tick_us"]:.0f} us); the warm-up adds at least'
            f' {100 * design_cpu["warm_up_cpu_fraction_at_100hz"]:.1f} %'
        )
    for key, design in floors.items():
        if key.startswith('design_'):
            if 'cpu_fraction_at_100hz' in design:
                print(
                    f'design CPU floor {key[7:]} (with its transport, no warm-up):'
                    f' {100 * design["cpu_fraction_at_100hz"]:.1f} % of a core'
                )
            for name in ('cold', 'warmed'):
                print(
                    summary(
                        f'design floor {key[7:]}, {name} inference',
                        design[f'{name}_inference_us'],
                    )
                )


def baseline_figures(results: dict[str, Any]) -> dict[str, float]:
    """Return the figures a baseline keeps: floors, latency, tick lateness and CPU per case."""
    out: dict[str, float] = {}
    floors = results.get('floors') or {}
    if floors:
        out.update(figures('floor_us.inference_100hz', floors['inference']['at_100hz_us']))
        for key in ('transport_inproc_58x87', 'transport_tcp_58x87', 'transport_inproc_480x640'):
            out.update(figures(f'floor_us.{key[10:]}', floors[key]['round_trip_us']))
        if 'controller_work' in floors:
            work = floors['controller_work']['work_us']
            out.update(figures('floor_us.controller_work_100hz', work))
            out.update(figures('floor_us.handoff_100hz', floors['handoff']['wake_us']))
    cases = dict(results['cases'])
    for key in ('long_busy_core', 'node_tcp'):
        if key in results:
            cases[key] = results[key]
    for name, case in cases.items():
        label = name.replace(' ', '_')
        out.update(figures(f'latency_us.{label}', case['latency_us']))
        if 'tick_lateness_us' in case:
            out.update(figures(f'tick_lateness_us.{label}', case['tick_lateness_us']))
        if 'cpu_fraction' in case:
            out[f'cpu_fraction.{label}'] = case['cpu_fraction']
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; write JSON and PNG; print the summary."""
    args = _parse(argv)
    if args.plot_only:
        recorded = Path(args.plot_only)
        plot(json.loads(recorded.read_text()), recorded.with_suffix('.png'))
        return 0
    if args.no_gc_freeze:
        loop_module.freeze_heap = lambda: 0.0
    results: dict[str, Any] = {
        'benchmark': 'latency',
        'machine': machine(),
        'source': source(),
        'arguments': vars(args),
        'targets': {k: {'limit': v[0], 'what': v[1]} for k, v in TARGETS.items()},
        'cases': {},
        'ramp': [],
        'floors': {},
    }
    if args.floor_count > 0:
        results['floors'] = measure_floors(
            args.floor_count, args.warm_up_lead or loop_module.WARM_UP_LEAD_S
        )
        _print_floors(results['floors'])
    chosen = set(CASES) if args.cases == 'all' else set(args.cases.split(','))
    for key, (name, transport, height, width, busy, options) in CASES.items():
        seconds = args.large_seconds if height > 100 else args.seconds
        if key in chosen and seconds > 0:
            case = run_case(
                transport,
                seconds,
                height,
                width,
                busy=busy,
                realtime_priority=args.realtime_priority,
                warm_up_lead_s=args.warm_up_lead,
                **options,
            )
            results['cases'][name] = case
            print(summary_line(name, case), flush=True)
            print(lateness_line(name, case), flush=True)
    if args.ramp_seconds > 0:
        _run_ramp(args, results)
    if args.long_seconds > 0:
        case = run_case(
            args.long_transport,
            args.long_seconds,
            busy=True,
            realtime_priority=args.realtime_priority,
            warm_up_lead_s=args.warm_up_lead,
        )
        case.pop('histogram_us')
        results['long_busy_core'] = case
        print(summary_line(f'long {args.long_seconds:.0f} s busy core', case), flush=True)
        print(lateness_line('long', case), flush=True)
        print(
            f'long: gc {case["gc"]}, longest collection {case["gc_window_max_ms"]:.2f} ms, '
            f'freeze at start {1e3 * (case["gc_freeze_s"] or 0):.0f} ms',
            flush=True,
        )
    if args.node_seconds > 0:
        results['node_tcp'] = run_node_case(args.node_seconds, args.realtime_priority)
        print(summary_line('node process tcp 58x87', results['node_tcp']), flush=True)
    results['ratios'] = all_ratios(results)
    results['machine']['load_average_at_end'] = os.getloadavg()
    out = write_json(results, Path(args.out))
    plot(results, out.with_suffix('.png'))
    print(ratio_table(results['ratios']))
    print(f'wrote {out} and {out.with_suffix(".png")}')
    handle_baseline(args, 'latency', baseline_figures(results))
    return 0


if __name__ == '__main__':
    sys.exit(main())

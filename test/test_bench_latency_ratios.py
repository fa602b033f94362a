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

"""The latency benchmark's ratios on synthetic floors: targets, design floor, out of reach."""

from types import ModuleType

import pytest

from .support.benchmarks import load_benchmark


@pytest.fixture(scope='module')
def bench() -> ModuleType:
    return load_benchmark('bench_latency')


def _floors(design_p50: float, cpu_design: float = 0.06) -> dict:
    return {
        'inference': {'at_100hz_us': {'p50': 400.0, 'p99': 700.0}},
        'transport_inproc_58x87': {'round_trip_us': {'p50': 250.0, 'p99': 500.0}},
        'cpu_design': {
            'cpu_fraction_at_100hz': cpu_design,
            'warm_up_cpu_fraction_at_100hz': 0.01,
        },
        'design_inproc_58x87': {
            'warmed_inference_us': {'p50': design_p50, 'p99': 1500.0},
            'cold_inference_us': {'p50': design_p50 + 250.0, 'p99': 1800.0},
            'cpu_fraction_at_100hz': cpu_design + 0.015,
        },
    }


def _case(p50: float, p99: float, cpu: float = 0.12) -> dict:
    return {
        'transport': 'inproc',
        'image': [58, 87],
        'warm_up_lead_s': 0.0004,
        'latency_us': {'p50': p50, 'p99': p99},
        'cpu_fraction': cpu,
        'warm_up_cpu_fraction': 0.03,
    }


def test_ratios_against_the_floors_and_the_design_floor(bench: ModuleType) -> None:
    ratios = bench.case_ratios(_case(780.0, 1700.0), _floors(786.0))
    assert ratios['floor_p50_us'] == 650.0 and ratios['floor_p99_us'] == 1200.0
    assert ratios['p50_vs_floor'] == pytest.approx(1.2)
    assert ratios['p99_vs_floor'] == pytest.approx(1700.0 / 1200.0)
    assert ratios['met'] == {'p50_vs_floor': False, 'p99_vs_floor': True, 'cpu_fraction': False}
    # The warmed-inference design floor (the case warms), against the target's floors.
    assert ratios['design_floor_p50_vs_floor'] == pytest.approx(786.0 / 650.0)
    assert ratios['design_floor_p99_vs_floor'] == pytest.approx(1500.0 / 1200.0)
    assert bench.out_of_reach(ratios) == ['p50_vs_floor']
    assert 'beyond p50_vs_floor before any scheduling' in bench.ratio_table({'c': ratios})


def test_a_design_floor_inside_the_target_is_not_out_of_reach(bench: ModuleType) -> None:
    ratios = bench.case_ratios(_case(700.0, 1100.0), _floors(700.0))
    assert ratios['design_floor_p50_vs_floor'] == pytest.approx(700.0 / 650.0)
    assert bench.out_of_reach(ratios) == []
    assert 'before any scheduling' not in bench.ratio_table({'c': ratios})
    cold = dict(_case(700.0, 1100.0), warm_up_lead_s=0.0)
    # Without the warm-up the cold-inference design floor applies: 950 / 650 > 1.15.
    assert bench.out_of_reach(bench.case_ratios(cold, _floors(700.0))) == ['p50_vs_floor']


def test_the_cpu_design_floor_as_the_case_runs(bench: ModuleType) -> None:
    # Work and inference 6 %, the controller's end of the transport 1.5 %,
    # the warm-up at least 1 % more when the case warms.
    ratios = bench.case_ratios(_case(700.0, 1100.0, cpu=0.12), _floors(700.0))
    assert ratios['design_floor_cpu_fraction'] == pytest.approx(0.085)
    assert ratios['cpu_vs_design_floor'] == pytest.approx(0.12 / 0.085)
    assert ratios['met']['cpu_fraction'] is False
    assert bench.out_of_reach(ratios) == []
    assert 'CPU vs design CPU floor 8.5 % (not a target) 1.41' in bench.ratio_table({'c': ratios})
    cold = dict(_case(700.0, 1100.0, cpu=0.08), warm_up_lead_s=0.0, warm_up_cpu_fraction=0.0)
    ratios = bench.case_ratios(cold, _floors(700.0))
    assert ratios['design_floor_cpu_fraction'] == pytest.approx(0.075)
    assert ratios['met']['cpu_fraction'] is True


def test_a_cpu_design_floor_above_the_target_is_out_of_reach(bench: ModuleType) -> None:
    ratios = bench.case_ratios(_case(700.0, 1100.0, cpu=0.14), _floors(700.0, cpu_design=0.08))
    assert ratios['design_floor_cpu_fraction'] == pytest.approx(0.105)
    assert bench.out_of_reach(ratios) == ['cpu_fraction']
    table = bench.ratio_table({'c': ratios})
    assert 'design floor alone beyond cpu_fraction before any scheduling' in table

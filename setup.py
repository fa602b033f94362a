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


"""Build script of the krabby_parkour ament_python package."""

from glob import glob
import os

from setuptools import find_packages, setup

PACKAGE_NAME = 'krabby_parkour'


def _share(subdir: str, pattern: str) -> tuple:
    """Return a data_files entry installing ``subdir/pattern`` into share/."""
    return (
        os.path.join('share', PACKAGE_NAME, subdir),
        [f for f in glob(os.path.join(subdir, pattern)) if os.path.isfile(f)],
    )


#: Executable name -> entry point; each also installed under its old alias.
EXECUTABLES = {
    'parkour_node': 'krabby_parkour_ros.node.main:main',
    'parkour_sim': 'krabby_parkour_ros.sim.__main__:main',
    'parkour_generate_checkpoint': 'krabby_parkour_ros.policy.generate:main',
    'parkour_export': 'krabby_parkour_ros.policy.export:main',
    'parkour_demo': 'krabby_parkour_ros.node.demo:main',
    'parkour_replay': 'krabby_parkour_ros.recording.replay:main',
    'parkour_report': 'krabby_parkour_ros.recording.report:main',
    'parkour_gate': 'krabby_parkour_ros.gate.cli:main',
}
#: Old names (kebab-case) kept as aliases.
ALIASES = {
    'krabby-parkour-sim': 'parkour_sim',
    'krabby-parkour-generate-checkpoint': 'parkour_generate_checkpoint',
    'krabby-parkour-export': 'parkour_export',
    'krabby-parkour-demo': 'parkour_demo',
    'krabby-parkour-replay': 'parkour_replay',
    'krabby-parkour-report': 'parkour_report',
}


def _console_scripts() -> list:
    """Return the console_scripts entries: every executable, then every alias."""
    entries = ['{} = {}'.format(*item) for item in EXECUTABLES.items()]
    entries += [f'{alias} = {EXECUTABLES[name]}' for alias, name in ALIASES.items()]
    return entries


setup(
    name=PACKAGE_NAME,
    version='0.1.0',
    packages=find_packages(exclude=['test', 'test.*', 'benchmarks']),
    package_data={'krabby_parkour_ros': ['models/*/*', 'description/*.urdf']},
    include_package_data=True,
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + PACKAGE_NAME]),
        ('share/' + PACKAGE_NAME, ['package.xml']),
        _share('launch', '*.launch.py'),
        _share('config', '*.yaml'),
        _share('config', '*.rviz'),
        (os.path.join('share', PACKAGE_NAME, 'urdf'), ['krabby_parkour_ros/description/go2.urdf']),
        _share('config/joint_maps', '*.yaml'),
        (
            os.path.join('share', PACKAGE_NAME, 'models', 'go2_parkour_teacher'),
            glob('krabby_parkour_ros/models/go2_parkour_teacher/*'),
        ),
    ],
    python_requires='>=3.10',
    install_requires=[
        'setuptools',
        'numpy',
        'pyzmq',
        'pyyaml',
        'torch',
        'onnxruntime',
        'orjson',
        'safetensors',
        'mcap',
        'mcap-ros2-support',
    ],
    extras_require={
        'sim': ['mujoco'],
        'report': ['matplotlib'],
        'test': ['pytest', 'hypothesis', 'rosbags'],
        'ray': ['ray'],  # the acceptance gate's --backend ray
    },
    zip_safe=False,
    maintainer='Krabby parkour maintainers',
    maintainer_email='maintainers@krabby-robotics.org',
    description='ROS 2 lifecycle node and library running extreme-parkour RL '
    'policies on the Krabby legged robot through the Krabby HAL.',
    license='Apache-2.0',
    entry_points={
        # ROS executables are snake_case (``ros2 run krabby_parkour parkour_sim``);
        # the older krabby-parkour-* names stay as aliases of the same functions.
        'console_scripts': _console_scripts(),
    },
)

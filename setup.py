"""Build script of the krabby_parkour ament_python package."""

from glob import glob
import os

from setuptools import find_packages, setup

PACKAGE_NAME = 'krabby_parkour'


def _share(subdir: str, pattern: str) -> tuple:
    """Return a data_files entry installing ``subdir/pattern`` into share/."""
    return (os.path.join('share', PACKAGE_NAME, subdir),
            [f for f in glob(os.path.join(subdir, pattern)) if os.path.isfile(f)])


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
        (os.path.join('share', PACKAGE_NAME, 'models', 'go2_parkour_teacher'),
         glob('krabby_parkour_ros/models/go2_parkour_teacher/*')),
    ],
    python_requires='>=3.10',
    install_requires=[
        'setuptools',
        'numpy',
        'pyzmq',
        'pyyaml',
        'torch',
        'onnxruntime',
        'safetensors',
        'mcap',
        'mcap-ros2-support',
    ],
    extras_require={
        'sim': ['mujoco'],
        'report': ['matplotlib'],
        'test': ['pytest', 'hypothesis'],
    },
    zip_safe=False,
    maintainer='Krabby parkour maintainers',
    maintainer_email='maintainers@krabby-robotics.org',
    description='ROS 2 lifecycle node and library running extreme-parkour RL '
                'policies on the Krabby legged robot through the Krabby HAL.',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'parkour_node = krabby_parkour_ros.node.main:main',
            'krabby-parkour-sim = krabby_parkour_ros.sim.__main__:main',
            'krabby-parkour-generate-checkpoint = krabby_parkour_ros.policy.generate:main',
            'krabby-parkour-export = krabby_parkour_ros.policy.export:main',
            'krabby-parkour-demo = krabby_parkour_ros.demo:main',
            'krabby-parkour-replay = krabby_parkour_ros.recording.replay:main',
            'krabby-parkour-report = krabby_parkour_ros.recording.report:main',
        ],
    },
)

"""Distribution strategies: all local GPUs, several machines, or split CPUs."""

import json
import os

import tensorflow as tf

from kzoo.training.multi_worker import enable_multi_worker_fit


def split_cpu(replicas):
    """Present the CPU as ``replicas`` logical devices (call before TF starts its runtime).

    Lets a MirroredStrategy with several replicas run on a machine without
    GPUs, which is how kzoo tests its distributed recipes.
    """
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is not None and len(current) == replicas:
        return  # already split so (a staged recipe trains twice in one process)
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * replicas)


_STRATEGIES = {}


def make_strategy(cpu_replicas=None):
    """The strategy recipes train under, one per process and setting.

    - ``TF_CONFIG`` set with several workers: ``MultiWorkerMirroredStrategy``
      (each machine runs the same recipe; TF_CONFIG names the cluster; see
      ``kzoo.training.multi_worker`` for what makes Keras 3's ``fit`` run
      under it).
    - otherwise ``MirroredStrategy`` over all local GPUs, or over the CPU
      (split into ``cpu_replicas`` logical devices when given).

    A second call with the same setting returns the same strategy: a staged
    recipe (R-CNN) trains twice in one process, and a second strategy over
    the same devices would reuse the first one's collective instance keys.
    """
    key = (os.environ.get("TF_CONFIG", ""), cpu_replicas)
    if key not in _STRATEGIES:
        _STRATEGIES[key] = _new_strategy(cpu_replicas)
    return _STRATEGIES[key]


def _new_strategy(cpu_replicas):
    cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    if len(cluster.get("worker", [])) + len(cluster.get("chief", [])) > 1:
        enable_multi_worker_fit()
        return tf.distribute.MultiWorkerMirroredStrategy()
    if cpu_replicas and not tf.config.list_physical_devices("GPU"):
        split_cpu(cpu_replicas)
        devices = [device.name for device in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    return tf.distribute.MirroredStrategy()

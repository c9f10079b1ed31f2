"""Training on more than one device: ``--strategy``, ``--devices``, ``--mixed-precision``, ``--log-device-placement``.

Machinery of ``training.Run``, not a lesson: a Keras lab gets these flags
from ``training.Run.add_arguments``, and the run calls ``prepare`` before
anything else touches TensorFlow. Only labs that train with Keras load it.

- ``--strategy none`` (the default): one device, chosen by ``--device``.
- ``--strategy mirrored``: ``tf.distribute.MirroredStrategy``. Every device
  holds a copy of the model; each step splits the batch between them, and the
  gradients are added up across devices before every copy takes the same
  step. The devices are all local GPUs, or those named with ``--devices``;
  naming more CPUs than the machine has (``--devices CPU:0,CPU:1``) splits the
  CPU into that many logical devices, which shows the strategy working on any
  computer.
- ``--strategy multi-worker``: ``tf.distribute.MultiWorkerMirroredStrategy``.
  The same, across processes on one or more machines, described by the
  ``TF_CONFIG`` environment variable. Every worker runs the same command.
  Worker 0 (the chief) writes the lab's output folder; each other worker
  keeps its own copy of the checkpoints in ``<out>/worker-N``, which it needs
  to resume.

``--batch-size`` stays the number of images *per device*: with N replicas a
step trains on N times as many (the "global batch"), which
``training.Run.global_batch_size`` gives. That keeps each device as busy as it was alone, which is the point of
adding devices.
"""
import argparse
import json
import os
import re
import socket
import time
from pathlib import Path
from typing import NamedTuple

import keras
import tensorflow as tf

from common.errors import LabError

STRATEGIES = ("none", "mirrored", "multi-worker")
WORKER_TIMEOUT = 300.0
# The oldest and newest Keras whose trainer the multi-worker repair below is tested with.
KERAS_TESTED = ("3.10.0", "3.15.1")
_DEVICE_NAME = re.compile(r"^/?(?:device:)?(CPU|GPU):(\d+)$", re.IGNORECASE)
_MAX_LOGICAL_CPUS = 64


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {text!r}")
    return value


def add_arguments(parser) -> None:
    """The flags of a lab that can train on several devices (``parser`` may be an argument group)."""
    group = parser
    group.add_argument("--strategy", choices=STRATEGIES, default="none",
                       help="none: one device; mirrored: every local GPU (or --devices) holds a copy of the "
                            "model and takes part of each batch; multi-worker: the same across the processes "
                            "named in TF_CONFIG (default: none)")
    group.add_argument("--devices", default=None, metavar="LIST",
                       help="with --strategy mirrored: the devices to use, such as GPU:0,GPU:1; naming more CPUs "
                            "than there are (CPU:0,CPU:1) splits the CPU (default: every GPU, else the CPU)")
    group.add_argument("--worker-timeout", type=_seconds, default=WORKER_TIMEOUT, metavar="SECONDS",
                       help="with --strategy multi-worker: how long to wait for every worker of TF_CONFIG to "
                            f"start before giving up (default: {WORKER_TIMEOUT:g})")
    group.add_argument("--mixed-precision", action="store_true",
                       help="compute in 16-bit floats with float32 weights and output layer: float16 on a GPU "
                            "with compute capability 7.0 or higher, bfloat16 on a CPU with bfloat16 "
                            "instructions (AVX512_BF16 or AMX); elsewhere a note, and float32 as usual "
                            "(on for this lab: %(default)s)")
    group.add_argument("--no-mixed-precision", dest="mixed_precision", action="store_false",
                       help="compute in float32 throughout")
    group.add_argument("--log-device-placement", action="store_true",
                       help="print the device every TensorFlow operation runs on")


def in_cluster() -> bool:
    """Whether this process is one worker of several (``--strategy multi-worker`` with a cluster)."""
    strategy = tf.distribute.get_strategy()
    return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and strategy.extended._in_multi_worker_mode())


def same_on_every_worker(value: float) -> bool:
    """Whether every worker of a cluster holds the same ``value`` (always true on one machine).

    A collective operation: every worker must call it at the same point.
    """
    if not in_cluster():
        return True
    strategy = tf.distribute.get_strategy()
    # A strategy can only add or average across workers; the values agree
    # when their spread (mean of squares less the squared mean) is zero.
    local = tf.constant([value, value * value], dtype=tf.float64)
    mean, mean_square = strategy.reduce("MEAN", local, axis=None).numpy()
    return bool(abs(mean_square - mean * mean) <= 1e-9 * max(1.0, mean_square))


def _chief(task_type, task_id, cluster: dict) -> bool:
    if task_type == "chief":
        return True
    return task_type == "worker" and task_id == 0 and "chief" not in cluster


def _parse_devices(text: str) -> list:
    """``"gpu:0, GPU:1"`` -> ``[("GPU", 0), ("GPU", 1)]``, or a LabError saying what is wrong."""
    parsed = []
    for item in (part.strip() for part in text.split(",")):
        match = _DEVICE_NAME.match(item)
        if not match:
            raise LabError(f"--devices: {item!r} is not a device name; write them like CPU:0,CPU:1 or GPU:0,GPU:1")
        parsed.append((match.group(1).upper(), int(match.group(2))))
    if len(set(parsed)) != len(parsed):
        raise LabError(f"--devices names a device twice ({text}); name each device once")
    if len({kind for kind, _ in parsed}) > 1:
        raise LabError(f"--devices mixes CPUs and GPUs ({text}); mirror over devices of one kind")
    return parsed


def _split_cpu(count: int) -> None:
    """Make the one physical CPU appear to TensorFlow as ``count`` logical devices."""
    if count > _MAX_LOGICAL_CPUS:
        raise LabError(f"--devices: at most {_MAX_LOGICAL_CPUS} CPU devices, not {count}")
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError:
        raise LabError("--devices: the CPU can only be split before TensorFlow starts computing; "
                       "run the lab as its own program (python labs/...)") from None


def _mirrored(args, device_name: str):
    if args.devices:
        wanted = _parse_devices(args.devices)
    elif device_name.upper().startswith("/GPU"):
        wanted = [("GPU", index) for index in range(len(tf.config.list_physical_devices("GPU")))]
    else:
        wanted = [("CPU", 0)]
    kind = wanted[0][0]
    highest = max(index for _, index in wanted)
    if kind == "GPU":
        seen = len(tf.config.list_physical_devices("GPU"))
        if highest >= seen:
            raise LabError(f"--devices: TensorFlow sees {seen} GPU{'s' * (seen != 1)}, so there is no GPU:{highest}; "
                           "name only the GPUs there are, or use CPU:0,CPU:1 to try the strategy on the CPU")
    elif highest >= 1:
        _split_cpu(highest + 1)
    return tf.distribute.MirroredStrategy([f"/{kind}:{index}" for _, index in wanted])


def read_tf_config() -> dict:
    """``TF_CONFIG``, checked: the cluster's workers and this process's place among them."""
    text = os.environ.get("TF_CONFIG", "").strip()
    hint = "see book/en/gpus-and-clusters.md"
    if not text:
        raise LabError("--strategy multi-worker needs TF_CONFIG, the JSON description of the workers and of "
                       f"which one this is; {hint}")
    try:
        config = json.loads(text)
    except ValueError as error:
        raise LabError(f"TF_CONFIG is not valid JSON ({error}); {hint}") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not isinstance(cluster.get("worker", []), list) or not cluster:
        raise LabError(f'TF_CONFIG needs "cluster": {{"worker": ["host:port", ...]}}; {hint}')
    if not isinstance(task, dict) or task.get("type") not in cluster:
        raise LabError('TF_CONFIG needs "task": {"type": "worker", "index": N}, with a type the cluster lists; '
                       + hint)
    members = cluster[task["type"]]
    index = task.get("index", 0)
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(members):
        raise LabError(f'TF_CONFIG: task index {index!r} is not one of the {len(members)} '
                       f'"{task["type"]}" addresses; count from 0; {hint}')
    for address in (address for group in cluster.values() for address in group):
        if not isinstance(address, str) or not re.match(r"^.+:\d+$", address):
            raise LabError(f"TF_CONFIG: {address!r} is not a host:port address; {hint}")
    return config


def _multi_worker(args, device_name: str):
    if args.devices:
        raise LabError("--devices is for --strategy mirrored; a worker of --strategy multi-worker uses every "
                       "GPU it has, or its CPU")
    config = read_tf_config()
    if device_name.upper().startswith("/CPU"):
        # --device cpu: keep the workers' GPUs out of it.
        tf.config.set_visible_devices([], "GPU")
    _wait_for_workers(config, args.worker_timeout)
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    if strategy.extended._in_multi_worker_mode():
        _patch_keras_for_multi_worker()
    task = config["task"]
    chief = _chief(task["type"], task.get("index", 0), config["cluster"])
    return strategy, chief, f"{task['type']}-{task.get('index', 0)}"


def _wait_for_workers(config: dict, timeout: float) -> None:
    """Return once every other worker of TF_CONFIG answers on its port; a LabError after ``timeout`` seconds.

    TensorFlow itself waits for a missing worker for ever, without a word
    (and ignores the usual request to stop), so a typing mistake in
    TF_CONFIG would look like a lab that hangs. So each worker first listens
    on its own port and knocks on everyone else's. Once all answer, it lets
    go of its port for TensorFlow's server, which a later knock finds there.
    """
    cluster, task = config["cluster"], config["task"]
    own = cluster[task["type"]][task.get("index", 0)]
    others = [address for group in cluster.values() for address in group if address != own]
    print(f"Waiting for the other workers of TF_CONFIG ({', '.join(others)}) to start, "
          f"at most {timeout:g} s ...", flush=True)
    host, port = own.rsplit(":", 1)
    listener = socket.socket(socket.AF_INET6 if host.startswith("[") else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("", int(port)))
        listener.listen()
    except OSError as error:
        listener.close()
        raise LabError(f"TF_CONFIG gives this worker the address {own}, but port {port} cannot be used here "
                       f"({error.strerror}); choose a free port") from None
    deadline = time.monotonic() + timeout
    try:
        waiting = list(others)
        while waiting:
            other_host, other_port = waiting[0].rsplit(":", 1)
            try:
                socket.create_connection((other_host.strip("[]"), int(other_port)), timeout=2).close()
                waiting.pop(0)
                continue
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise LabError(f"worker {waiting[0]} of TF_CONFIG did not start within {timeout:g} s; start the "
                               "same command on every worker, each with its own task index, or raise "
                               "--worker-timeout")
            time.sleep(0.2)
    finally:
        listener.close()


def _patch_keras_for_multi_worker() -> None:
    """Two repairs that let Keras 3's ``model.fit`` run under a multi-worker strategy.

    Keras 3 (3.0 to at least 3.15) fails there at once with "Attempt to
    convert a value (PerReplica...)", an open upstream bug (keras-team/keras
    issue 20585). Two places in its TensorFlow trainer assume one worker:

    1. Before training, Keras 3.5 and later average the first batch across
       workers only to learn the data's shapes; any replica's own batch has
       the same shapes. (Earlier ones build the model inside the first step
       and need no repair here.)
    2. After each step, it averages the metrics with ``axis=0``, which does
       not exist for a single number; a plain cross-worker mean is meant.

    Both replacements do what the originals do on one machine. They reach
    into Keras's private trainer module, so they first check that what they
    replace is there, and stop with one line if a Keras release moved it.
    The tests in tests/test_common_distribute.py run two real workers to prove the
    result, on the oldest and the newest Keras that pyproject.toml allows
    (KERAS_TESTED).
    """
    try:
        from keras.src.backend.tensorflow import trainer
    except ImportError:
        trainer = None
    wanted = ("reduce_per_replica", "_collective_all_reduce_multi_worker", "TensorFlowTrainer")
    missing = [name for name in wanted if not hasattr(trainer, name)]
    if missing:
        oldest, newest = KERAS_TESTED
        raise LabError(f"--strategy multi-worker repairs a Keras bug inside keras.src.backend.tensorflow.trainer, "
                       f"which in this Keras ({keras.__version__}) has no {', '.join(missing)}; the repair is "
                       f"tested with Keras {oldest} to {newest}: pip install \"keras>={oldest},<={newest}\"")
    if getattr(trainer, "_lab_multi_worker_repair", False):
        return
    original_reduce = trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and trainer._collective_all_reduce_multi_worker(strategy):
            return tf.nest.map_structure(lambda value: strategy.reduce("MEAN", value, axis=None), values)
        return original_reduce(values, strategy, reduction)

    original_build = getattr(trainer.TensorFlowTrainer, "_maybe_symbolic_build", None)
    if original_build is not None:
        def first_local(value, strategy):
            if isinstance(value, tf.distribute.DistributedValues):
                return strategy.experimental_local_results(value)[0]
            return value

        def maybe_symbolic_build(self, iterator=None, data_batch=None):
            if iterator is not None and self._distribute_strategy is not None:
                # Keras 3.5 to 3.7 step through an epoch with enumerate_epoch(),
                # later ones by iterating; either way the last item of the
                # first step holds the iterator over that step's batches.
                steps = iterator if hasattr(iterator, "__iter__") else iterator.enumerate_epoch()
                for step in steps:
                    batch = next(step[-1])
                    data_batch = tf.nest.map_structure(lambda value: first_local(value, self.distribute_strategy),
                                                       batch)
                    break
            return original_build(self, iterator=None, data_batch=data_batch)

        trainer.TensorFlowTrainer._maybe_symbolic_build = maybe_symbolic_build
    trainer.reduce_per_replica = reduce_per_replica
    trainer._lab_multi_worker_repair = True


BFLOAT16_FLAGS = {"avx512_bf16", "amx_bf16"}   # x86's instructions that compute in bfloat16


def cpu_flags(cpuinfo: str = None) -> set:
    """The CPU's instruction-set flags as Linux's /proc/cpuinfo lists them; none elsewhere (Windows, macOS)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
        except OSError:
            return set()
    flags = re.search(r"^flags\s*:(.*)$", cpuinfo, re.MULTILINE)
    return set(flags.group(1).split()) if flags else set()


def cpu_has_bfloat16(cpuinfo: str = None) -> bool:
    """Whether the CPU computes in bfloat16 natively (x86's AVX512_BF16 or AMX), as Linux's /proc/cpuinfo says.

    Elsewhere (Windows, macOS, no /proc) the answer is no, and a run stays in float32.
    """
    return bool(BFLOAT16_FLAGS & cpu_flags(cpuinfo))


def _mixed_precision(device_name: str) -> str:
    """Turn on 16-bit compute where the device is faster with it; return the line to print."""
    if device_name.upper().startswith("/CPU"):
        if cpu_has_bfloat16():
            # bfloat16 keeps float32's range (8 exponent bits) with fewer digits, so no loss scaling is needed.
            keras.mixed_precision.set_global_policy("mixed_bfloat16")
            return ("Mixed precision: bfloat16 computation with float32 weights and a float32 output layer "
                    "(this CPU has bfloat16 instructions).")
        return ("Note: mixed precision needs a GPU with compute capability 7.0 or higher, or a CPU with "
                "bfloat16 instructions (AVX512_BF16 or AMX); this CPU has none, so the run computes in "
                "float32 as usual.")
    capable = []
    for gpu in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(gpu).get("compute_capability") or (0, 0)
        if tuple(capability) >= (7, 0):
            capable.append(gpu.name)
    if not capable:
        return ("Note: mixed precision needs a GPU with compute capability 7.0 or higher (Volta or newer); "
                "on this GPU float16 is not faster, so the run computes in float32 as usual.")
    keras.mixed_precision.set_global_policy("mixed_float16")
    return ("Mixed precision: float16 computation with float32 weights and a float32 output layer "
            "(Keras scales the loss so small float16 gradients do not vanish).")


class _Scope:
    """What ``cli.execute`` runs the lab in: the strategy's scope or a device, undone afterwards."""

    def __init__(self, inner, policy):
        self.inner, self.policy = inner, policy

    def __enter__(self):
        return self.inner.__enter__()

    def __exit__(self, *exc):
        try:
            return self.inner.__exit__(*exc)
        finally:
            keras.mixed_precision.set_global_policy(self.policy)


class Setup(NamedTuple):
    """What ``prepare`` set up for one process."""
    scope: object      # The context the lab trains in: the strategy's scope, or the device.
    lines: list        # What to print about it, one line each.
    replicas: int      # Copies of the model training together (1 without a strategy).
    chief: bool        # Whether this process writes the lab's results.
    out: Path          # The folder this process writes: --out, or <out>/worker-N for another worker.


def prepare(args, device_name: str) -> Setup:
    """Apply the flags on the device ``device_name`` (``/CPU:0``, ``/GPU:0``); return the ``Setup``.

    Must come before TensorFlow computes anything: a strategy, and a CPU split
    into logical devices, cannot be set up afterwards.
    """
    lines = []
    if args.log_device_placement:
        tf.debugging.set_log_device_placement(True)
    policy = keras.mixed_precision.global_policy()
    out = args.out
    if args.strategy == "none":
        if args.devices:
            raise LabError("--devices needs --strategy mirrored")
        scope, replicas, chief = tf.device(device_name), 1, True
    elif args.strategy == "mirrored":
        strategy = _mirrored(args, device_name)
        devices = ", ".join(name.split("device:")[-1] for name in strategy.extended.worker_devices)
        replicas, chief = strategy.num_replicas_in_sync, True
        lines.append(f"Strategy: mirrored over {devices} ({replicas} replica{'s' * (replicas != 1)}; "
                     f"each step trains on {replicas} x --batch-size examples)")
        scope = strategy.scope()
    else:
        strategy, chief, name = _multi_worker(args, device_name)
        replicas = strategy.num_replicas_in_sync
        lines.append(f"Strategy: multi-worker, this process is {name}, {replicas} replicas in all "
                     f"(each step trains on {replicas} x --batch-size examples)")
        if not chief:
            out = args.out / name
            lines.append(f"Not the chief: this worker's own checkpoints and figures go to {out}")
        scope = strategy.scope()
    if args.mixed_precision:
        lines.append(_mixed_precision(device_name))
    return Setup(_Scope(scope, policy), lines, replicas, chief, out)

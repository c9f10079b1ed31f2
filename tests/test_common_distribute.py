"""More than one device: mirrored over two logical CPUs, two workers on 127.0.0.1, and the flags' errors.

Every run here is a separate process (a strategy must be set up before
TensorFlow starts computing) with a time limit; the workers talk only over
the loopback address, on ports found free at run time.
"""
import json
import os
import socket
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from common import cli, distribute, paths
from common.errors import LabError
from labtools import REPO_ROOT, headless_env, lab_entry, load_lab, run_in_process, same_worker

PROBE = "tests/strategy_probe.py"
MLP = "labs/mnist/_01_mlp.py"
CNN = "labs/mnist/_02_cnn.py"
TIME_LIMIT = 180  # seconds for any one run; a stuck worker is killed, never waited for
# The tests that start clusters run one after another in one test process: their workers
# listen on ports found free just before, and the probe's one-device run serves three of them.
cluster = same_worker("cluster")


def workers(test):
    """A test that starts a cluster of worker processes: in the cluster group, and marked ``processes``
    (tens of seconds each; ``pytest -m processes`` runs them, as CI does)."""
    return pytest.mark.processes(cluster(test))


def _free_ports(count: int) -> list:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for each in sockets:
            each.bind(("127.0.0.1", 0))
        return [each.getsockname()[1] for each in sockets]
    finally:
        for each in sockets:
            each.close()


def _run(script, *argv, cwd, env=None):
    return subprocess.run([sys.executable, str(REPO_ROOT / script), *argv], cwd=cwd, env=env or headless_env(),
                          capture_output=True, text=True, timeout=TIME_LIMIT)


def _tf_config(addresses, index) -> str:
    return json.dumps({"cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}})


def _start_workers(script, *argv, cwd, count=2, start=None):
    """Start ``count`` workers of one cluster on 127.0.0.1 (or only ``start`` of them)."""
    addresses = [f"127.0.0.1:{port}" for port in _free_ports(count)]
    indices = range(count) if start is None else start
    return [subprocess.Popen([sys.executable, str(REPO_ROOT / script), "--strategy", "multi-worker", *argv],
                             cwd=cwd, env=headless_env(TF_CONFIG=_tf_config(addresses, index)),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for index in indices]


def _run_workers(script, *argv, cwd, count=2, start=None):
    """Run workers as ``_start_workers`` does and wait for them; return their results."""
    processes = _start_workers(script, *argv, cwd=cwd, count=count, start=start)
    results = []
    try:
        for process in processes:
            stdout, stderr = process.communicate(timeout=TIME_LIMIT)
            results.append((process.returncode, stdout, stderr))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
    return results


@pytest.fixture(scope="session")  # Session-wide: other tests may run between its users.
def one_device(tmp_path_factory):
    """The probe's weights trained on one device, and its output (in this process: no strategy to set up)."""
    run = run_in_process(PROBE, tmp_path_factory.mktemp("one_device"))
    assert run.returncode == 0, run.stderr
    return np.load(run.out / "weights.npy"), run.stdout


@workers
def test_mirrored_and_multi_worker_training_equal_one_device(tmp_path, one_device):
    """Two replicas add up their half-batch gradients: the same steps as one device taking the whole batch."""
    reference, stdout = one_device
    mirrored = _run(PROBE, "--out", str(tmp_path / "mirrored"), "--strategy", "mirrored",
                    "--devices", "CPU:0,CPU:1", cwd=tmp_path)
    assert mirrored.returncode == 0, mirrored.stderr
    assert "mirrored over CPU:0, CPU:1 (2 replicas" in mirrored.stdout
    workers = _run_workers(PROBE, "--out", str(tmp_path / "cluster"), cwd=tmp_path)
    for code, stdout, stderr in workers:
        assert code == 0, stderr
        assert "2 replicas in all" in stdout

    chief = np.load(tmp_path / "cluster" / "weights.npy")
    worker = np.load(tmp_path / "cluster" / "worker-1" / "weights.npy")
    np.testing.assert_array_equal(chief, worker)       # The two workers end with identical weights,
    np.testing.assert_allclose(chief, reference, atol=1e-6)   # which are one device's,
    np.testing.assert_allclose(np.load(tmp_path / "mirrored" / "weights.npy"), reference, atol=1e-6)  # as are these.
    # And the training did move the weights: the losses fell.
    losses = [float(value) for value in stdout.split("losses:")[1].split()]
    assert losses[1] < losses[0]


@same_worker(CNN)
def test_the_cnn_lab_trains_mirrored_over_two_cpu_devices(script_run):
    # The run book/en/gpus-and-clusters.md quotes.
    result = script_run(CNN, "--smoke", "--strategy", "mirrored", "--devices", "CPU:0,CPU:1")
    assert result.returncode == 0, result.stderr
    assert "2 replicas" in result.stdout
    accuracy = float(result.stdout.split("Test accuracy: ")[1].split("%")[0])
    assert accuracy > 30  # One short epoch on 2,000 images; chance is 10%.
    assert (result.out / paths.MNIST_CNN_FILE).exists()


@workers
def test_two_workers_train_resume_and_agree(tmp_path):
    out = tmp_path / "out"
    flags = ["--train-size", "600", "--out", str(out)]
    for code, stdout, stderr in _run_workers(MLP, *flags, "--epochs", "1", cwd=tmp_path):
        assert code == 0, stderr
    # The chief writes --out; the other worker keeps its own copy to resume from.
    assert (out / "checkpoints" / "cp-0001.weights.h5").exists()
    assert (out / "worker-1" / "checkpoints" / "cp-0001.weights.h5").exists()

    resumed = _run_workers(MLP, *flags, "--epochs", "2", cwd=tmp_path)
    for code, stdout, stderr in resumed:
        assert code == 0, stderr
        assert "Resuming after epoch 1" in stdout
    accuracies = {stdout.split("test accuracy: ")[1].strip() for _, stdout, _ in resumed}
    assert len(accuracies) == 1, accuracies

    lab = load_lab(MLP)
    weights = []
    for folder in (out, out / "worker-1"):
        model = lab.build_model()
        model.load_weights(folder / "checkpoints" / "cp-0002.weights.h5")
        weights.append(np.concatenate([w.ravel() for w in model.get_weights()]))
    np.testing.assert_array_equal(weights[0], weights[1])
    keras.backend.clear_session()

    # A worker that lost its saved state while the chief kept its own: both stop, saying why, and neither hangs.
    for path in (out / "worker-1" / "checkpoints").iterdir():
        path.unlink()
    for code, _, stderr in _run_workers(MLP, *flags, "--epochs", "3", cwd=tmp_path):
        assert code == 2
        assert "different epochs" in stderr and "--fresh" in stderr
        assert "Traceback" not in stderr


@workers
def test_a_missing_worker_is_reported_not_waited_for(tmp_path):
    (code, stdout, stderr), = _run_workers(PROBE, "--out", str(tmp_path / "out"), "--worker-timeout", "2",
                                           cwd=tmp_path, start=[0])
    assert code == 2
    assert "did not start within 2 s" in stderr and "Traceback" not in stderr


@workers
def test_when_a_worker_dies_the_others_stop_with_one_line(tmp_path):
    out = tmp_path / "out"
    # Many short epochs: the kill comes after the first, with dozens still to go.
    chief, other = _start_workers(MLP, "--train-size", "2000", "--epochs", "50", "--out", str(out), cwd=tmp_path)
    try:
        # Let them finish one epoch together, then end worker 1 the hard way.
        deadline = time.monotonic() + TIME_LIMIT
        while not (out / "worker-1" / "checkpoints" / "last.json").exists():
            assert time.monotonic() < deadline and chief.poll() is None and other.poll() is None
            time.sleep(0.1)
        other.kill()
        other.communicate()
        stdout, stderr = chief.communicate(timeout=TIME_LIMIT)
    finally:
        for process in (chief, other):
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert chief.returncode == 2, stdout + stderr
    assert "another worker stopped or cannot be reached" in stderr and "Traceback" not in stderr
    assert "run the same command on every worker again" in stderr


@cluster
def test_mixed_precision_on_the_cpu_is_bfloat16_where_it_has_the_instructions(tmp_path, one_device):
    # On a CPU with bfloat16 instructions the probe computes in bfloat16 (close to float32, not equal);
    # on one without, a note, and exactly the float32 numbers. CI reads the CPU's flags itself and says which
    # to expect (LAB_EXPECT_BFLOAT16=1 or 0).
    result = _run(PROBE, "--out", str(tmp_path), "--mixed-precision", "--log-device-placement", "--device", "cpu",
                  cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    weights = np.load(tmp_path / "weights.npy")
    if distribute.cpu_has_bfloat16():
        assert os.environ.get("LAB_EXPECT_BFLOAT16") != "0", "this CPU was expected to have no bfloat16 instructions"
        assert "Mixed precision: bfloat16 computation with float32 weights" in result.stdout
        assert not np.array_equal(weights, one_device[0])
        np.testing.assert_allclose(weights, one_device[0], atol=0.05)
    else:
        assert os.environ.get("LAB_EXPECT_BFLOAT16") != "1", "this CPU was expected to have bfloat16 instructions"
        assert "this CPU has none, so the run computes in float32 as usual" in result.stdout
        np.testing.assert_array_equal(weights, one_device[0])
    placements = [line for line in (result.stdout + result.stderr).splitlines()
                  if "MatMul" in line and "device:CPU:0" in line]
    assert placements


@cluster
def test_no_mixed_precision_computes_in_float32(tmp_path, one_device):
    result = _run(PROBE, "--out", str(tmp_path), "--mixed-precision", "--no-mixed-precision", "--device", "cpu",
                  cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "precision" not in result.stdout
    np.testing.assert_array_equal(np.load(tmp_path / "weights.npy"), one_device[0])


@pytest.mark.parametrize("flags, expected", [
    ("fpu vme avx2 avx512f avx512_bf16 avx512_vnni", True),
    ("fpu avx2 amx_bf16 amx_tile amx_int8", True),
    ("fpu vme avx2 avx512f avx512_vnni", False),
    ("fp asimd evtstrm aes pmull sha1 sha2 crc32 bf16", False),   # An Arm "Features" line is not x86's flags.
])
def test_bfloat16_instructions_are_read_from_the_cpu_flags(flags, expected):
    key = "Features" if "asimd" in flags else "flags"
    cpuinfo = f"processor\t: 0\nmodel name\t: Some CPU\n{key}\t\t: {flags}\n\nprocessor\t: 1\n"
    assert distribute.cpu_has_bfloat16(cpuinfo) is expected
    assert distribute.cpu_has_bfloat16("") is False


@pytest.mark.parametrize("argv, message", [
    (["--devices", "CPU:1"], "--devices needs --strategy mirrored"),
    (["--strategy", "mirrored", "--devices", "TPU:0"], "is not a device name"),
    (["--strategy", "mirrored", "--devices", "CPU:0,cpu:0"], "names a device twice"),
    (["--strategy", "mirrored", "--devices", "CPU:0,GPU:0"], "mixes CPUs and GPUs"),
    (["--strategy", "mirrored", "--devices", "GPU:3"], "so there is no GPU:3"),
    (["--strategy", "multi-worker"], "needs TF_CONFIG"),
    (["--worker-timeout", "0"], "expected a number of seconds above 0"),
])
def test_bad_flags_get_one_line_and_status_2(tmp_path, capsys, monkeypatch, argv, message):
    # In this process: each mistake is caught before TensorFlow is asked to do anything.
    monkeypatch.delitem(os.environ, "TF_CONFIG", raising=False)
    main, doc, add_arguments, run = lab_entry(PROBE)
    with pytest.raises(SystemExit) as stopped:
        cli.run_lab(main, doc, add_arguments, run=run, argv=["--out", str(tmp_path), *argv])
    assert stopped.value.code == 2
    stderr = capsys.readouterr().err
    assert message in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr


@pytest.mark.parametrize("config, message", [
    ("{", "not valid JSON"),
    ('{"task": {"type": "worker", "index": 0}}', '"cluster"'),
    ('{"cluster": {"worker": ["127.0.0.1:1"]}}', '"task"'),
    ('{"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 1}}', "task index 1"),
    ('{"cluster": {"worker": ["localhost"]}, "task": {"type": "worker", "index": 0}}', "host:port"),
])
def test_tf_config_mistakes_are_explained(monkeypatch, config, message):
    monkeypatch.setitem(os.environ, "TF_CONFIG", config)
    with pytest.raises(LabError, match=message.replace("(", r"\(")):
        distribute.read_tf_config()


@pytest.mark.parametrize("name", ["reduce_per_replica", "_collective_all_reduce_multi_worker", "TensorFlowTrainer"])
def test_a_keras_without_what_the_repair_replaces_gets_one_line_naming_the_versions(monkeypatch, name):
    # A Keras release that moved what the multi-worker repair replaces: one line, never an AttributeError.
    from keras.src.backend.tensorflow import trainer

    monkeypatch.delattr(trainer, name)
    monkeypatch.delattr(trainer, "_lab_multi_worker_repair", raising=False)
    oldest, newest = distribute.KERAS_TESTED
    with pytest.raises(LabError) as stopped:
        distribute._patch_keras_for_multi_worker()
    message = str(stopped.value)
    assert name in message and keras.__version__ in message
    assert f'pip install "keras>={oldest},<={newest}"' in message
    assert "\n" not in message


def test_the_repair_finds_what_it_replaces_in_this_keras():
    # Where Keras builds the model before training (3.5 and later), that step is replaced too.
    from keras.src.backend.tensorflow import trainer

    version = tuple(int(part) for part in keras.__version__.split(".")[:2])
    assert callable(trainer.reduce_per_replica) and callable(trainer._collective_all_reduce_multi_worker)
    assert hasattr(trainer.TensorFlowTrainer, "_maybe_symbolic_build") == (version >= (3, 5))


def test_without_a_strategy_one_replica_takes_the_batch(tmp_path):
    from common import training

    args = cli.parse_args("A lab.", ["--out", str(tmp_path)], training.Run.add_arguments, "tiny.py")
    run = training.Run(args, "/CPU:0")
    assert run.replicas == 1 and run.chief and run.out == tmp_path and run.notes == []
    assert run.global_batch_size(128) == 128
    assert run.jit_compile is False  # On a CPU TensorFlow's own kernels beat XLA's for convolutions.
    assert distribute.same_on_every_worker(3)
    assert not distribute.in_cluster()


@pytest.mark.benchmarks
def test_the_scaling_benchmark_prints_its_table(monkeypatch, capsys):
    # Only that it works: the measuring itself belongs to the benchmark, not to a test. Its table is
    # made here; each of its cells is a process of its own, as always.
    benchmark = load_lab("benchmarks/scaling.py")
    monkeypatch.setattr(sys, "argv", ["scaling.py", "--quick"])
    benchmark.main()
    stdout = capsys.readouterr().out
    rows = [line.split() for line in stdout.splitlines() if line.strip().startswith("float32")]
    assert [row[1] for row in rows] == ["512", "1,024"]
    for row in rows:
        assert row[4].endswith("s") and float(row[4].rstrip("s")) > 0          # the epoch's time
        assert row[5].endswith("µs") and float(row[5].removesuffix("µs")) > 0   # per example
        assert float(row[8]) >= float(row[6]) > 100                            # peak memory, MB
    assert "grows as examples^" in stdout

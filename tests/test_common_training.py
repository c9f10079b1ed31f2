"""common.training and common.checkpoints: per-epoch state, resuming after a real signal, checkpoints, TensorBoard."""
import json
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from common import checkpoints, cli, training
from labtools import REPO_ROOT, headless_env, run_in_process, same_worker

MLP = "labs/mnist/_01_mlp.py"
# Big enough that an epoch lasts a second or two, so a signal lands mid-epoch: the second of two.
EPOCHS = 2
RESUME_FLAGS = ["--train-size", "20000", "--epochs", str(EPOCHS), "--batch-size", "32"]
STEPS_PER_EPOCH = int(np.ceil(18_000 / 32))  # 10% of the 20,000 are held out for validation.


def _start(out_dir, cwd):
    return subprocess.Popen([sys.executable, str(REPO_ROOT / MLP), *RESUME_FLAGS, "--out", str(out_dir)],
                            cwd=cwd, env=headless_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _run_lab(out_dir, cwd):
    process = _start(out_dir, cwd)
    stdout, stderr = process.communicate(timeout=300)
    return process.returncode, stdout, stderr


def _test_accuracy(stdout: str) -> float:
    line = [line for line in stdout.splitlines() if "test accuracy:" in line][-1]
    return float(line.rsplit(" ", 1)[1].rstrip("%")) / 100


@pytest.fixture(scope="session")  # Session-wide: other tests may run between its users.
def uninterrupted(tmp_path_factory):
    """The test accuracy of the same training never interrupted (run in this process)."""
    run = run_in_process(MLP, tmp_path_factory.mktemp("uninterrupted"), *RESUME_FLAGS)
    assert run.returncode == 0, run.stderr
    return _test_accuracy(run.stdout)


@pytest.mark.processes      # Real processes and signals, tens of seconds each: pytest -m processes.
@same_worker("resume")      # Both share the uninterrupted run.
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill"])
def test_interrupted_training_resumes_where_it_stopped(stop_signal, uninterrupted, tmp_path):
    out_dir = tmp_path / "out"
    meta = out_dir / "checkpoints" / checkpoints.META_FILE
    process = _start(out_dir, tmp_path)
    deadline = time.monotonic() + 240
    while not (meta.exists() and json.loads(meta.read_text())["epoch"] >= 1):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no epoch was saved in time"
        time.sleep(0.05)
    time.sleep(0.3)  # Into the next epoch.
    assert process.poll() is None, "the run finished before it could be interrupted"
    process.send_signal(stop_signal)
    stdout, stderr = process.communicate(timeout=120)
    if stop_signal == signal.SIGINT:
        assert process.returncode == 130
        assert "Run the same command again to continue" in stdout
        assert "Traceback" not in stderr
    else:
        assert process.returncode == -signal.SIGKILL

    saved_epoch = json.loads(meta.read_text())["epoch"]
    assert 1 <= saved_epoch < EPOCHS
    # The saved state carries the optimizer: Adam's step count and moments.
    saved = keras.models.load_model(out_dir / "checkpoints" / checkpoints.STATE_FILE)
    assert int(saved.optimizer.iterations.numpy()) == saved_epoch * STEPS_PER_EPOCH
    assert any(np.any(variable.numpy() != 0) for variable in saved.optimizer.variables[2:])

    code, stdout, stderr = _run_lab(out_dir, tmp_path)
    assert code == 0, stderr
    assert f"Resuming after epoch {saved_epoch}" in stdout
    assert "Untrained model" not in stdout
    history = json.loads(meta.read_text())["history"]
    assert len(history["loss"]) == EPOCHS and len(history["val_accuracy"]) == EPOCHS
    assert abs(_test_accuracy(stdout) - uninterrupted) < 0.01


def _tiny_model(name="tiny"):
    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs), name=name)
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def _tiny_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    return x, (x[:, 0] > 0).astype("int32")


def _training_run(out_dir, *flags):
    """A training run as a lab gets it: its flags parsed, on the CPU."""
    args = cli.parse_args("A tiny lab.", ["--out", str(out_dir), *flags], training.Run.add_arguments, "tiny.py")
    return training.Run(args, "/CPU:0")


def test_state_and_checkpoints_are_written_and_resumed(tmp_path):
    x, y = _tiny_data()
    settings = {"batch_size": 16}
    run = _training_run(tmp_path)
    model = run.resume(_tiny_model(), settings)
    assert run.completed == 0 and run.history == {}
    history = run.fit(model, x, y, epochs=6, batch_size=16)
    assert len(history["loss"]) == 6 and run.completed == 6
    names = sorted(path.name for path in (tmp_path / "checkpoints").iterdir())
    assert names == ["cp-0005.weights.h5", "cp-0006.weights.h5", "last.json", "last.keras"]
    assert run.latest_weights().name == "cp-0006.weights.h5"

    again = _training_run(tmp_path)
    resumed = again.resume(_tiny_model(), settings)
    assert again.completed == 6 and len(again.history["loss"]) == 6
    assert int(resumed.optimizer.iterations.numpy()) == 6 * 4
    np.testing.assert_array_equal(resumed.get_weights()[0], model.get_weights()[0])
    history = again.fit(resumed, x, y, epochs=8, batch_size=16)
    assert len(history["loss"]) == 8
    assert int(resumed.optimizer.iterations.numpy()) == 8 * 4


def test_other_settings_another_model_or_fresh_start_over(tmp_path, capsys):
    x, y = _tiny_data()
    run = _training_run(tmp_path)
    run.fit(run.resume(_tiny_model(), {"batch_size": 16}), x, y, epochs=1, batch_size=16)

    run = _training_run(tmp_path)
    run.resume(_tiny_model(), {"batch_size": 32})
    assert run.completed == 0
    assert "other settings (batch_size)" in capsys.readouterr().out
    assert not (tmp_path / "checkpoints" / checkpoints.STATE_FILE).exists()

    run = _training_run(tmp_path)
    run.fit(run.resume(_tiny_model(), {"batch_size": 16}), x, y, epochs=1, batch_size=16)
    run = _training_run(tmp_path)
    run.resume(_tiny_model("another"), {"batch_size": 16})  # Another lab's model in the same --out folder.
    assert run.completed == 0
    assert "other settings (model)" in capsys.readouterr().out

    run = _training_run(tmp_path)
    run.fit(run.resume(_tiny_model(), {"batch_size": 16}), x, y, epochs=1, batch_size=16)
    run = _training_run(tmp_path, "--fresh")
    run.resume(_tiny_model(), {"batch_size": 16})
    assert run.completed == 0


def test_a_finished_run_asked_for_no_more_epochs_trains_nothing(tmp_path, capsys):
    x, y = _tiny_data()
    run = _training_run(tmp_path)
    run.fit(run.resume(_tiny_model(), {"batch_size": 16}), x, y, epochs=2, batch_size=16)
    run = _training_run(tmp_path)
    model = run.resume(_tiny_model(), {"batch_size": 16})
    history = run.fit(model, x, y, epochs=2, batch_size=16)
    assert len(history["loss"]) == 2 and int(model.optimizer.iterations.numpy()) == 2 * 4
    assert "Already trained for 2 epochs (asked for 2); nothing to train" in capsys.readouterr().out


def test_early_stopping_remembers_across_a_resume(tmp_path):
    # Validation loss last improved at epoch 2 of 4, so with patience 3 one
    # more epoch without improvement must stop training.
    history = {"val_loss": [0.9, 0.5, 0.6, 0.7]}
    stopper = checkpoints.ResumableEarlyStopping(tmp_path, history, monitor="val_loss", patience=3)
    model = _tiny_model()
    stopper.set_model(model)
    stopper.on_train_begin()
    assert stopper.best == 0.5 and stopper.wait == 2
    stopper.on_epoch_end(4, {"val_loss": 0.8})
    assert model.stop_training
    assert stopper.restore_best(model, {"val_loss": [0.9, 0.5, 0.6, 0.7, 0.8]}) == 2


def test_tensorboard_logs_are_written(run_lab_main, tmp_path):
    run_lab_main(MLP, "--smoke", "--tensorboard")
    event_files = list((tmp_path / "tensorboard").rglob("events.out.tfevents.*"))
    assert {path.parent.name for path in event_files} >= {"train", "validation"}


def test_ctrl_c_during_fit_stops_at_the_next_batch_and_keeps_completed_epochs(tmp_path, capsys):
    import os

    x, y = _tiny_data()
    run = _training_run(tmp_path)
    model = run.resume(_tiny_model(), {"batch_size": 16})
    handler_before = signal.getsignal(signal.SIGINT)  # Python's default, or "ignore" in a background job

    class PressCtrlC(keras.callbacks.Callback):
        """Sends a real SIGINT to this process in the middle of the third epoch."""

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == 2 and batch == 1:
                os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        run.fit(model, x, y, epochs=5, batch_size=16, callbacks=[PressCtrlC()])
    assert "Run the same command again" in capsys.readouterr().out
    # Epochs 1 and 2 completed and were saved; the third was cut short.
    assert json.loads((tmp_path / "checkpoints" / checkpoints.META_FILE).read_text())["epoch"] == 2
    assert signal.getsignal(signal.SIGINT) is handler_before  # fit put back whatever was there

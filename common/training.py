"""Keras training that loses nothing: saved state every epoch, resuming, checkpoints, TensorBoard.

A lab hands its compiled model to ``Checkpoints.resume`` and passes
``Checkpoints.callbacks`` to ``model.fit``. Then:

- after every epoch the whole model, optimizer state included, is written to
  ``<out>/checkpoints/last.keras`` (written to a temporary file first and
  renamed, so a run killed at any moment leaves the previous state intact);
- running the same command again loads that state and continues from the last
  completed epoch; ``--fresh`` starts over;
- every ``every`` epochs (and at the last one) the weights are also saved as
  ``cp-NNNN.weights.h5``, the tutorial's checkpoints, which a fresh model can
  load with ``model.load_weights``;
- with ``--tensorboard``, losses and metrics go to ``<out>/tensorboard``.

Saved state is only reused when it was made with the same settings (the lab
passes a dictionary of them), so a ``--smoke`` run never leaks into a real one.
"""
import json
import logging
import os
import re
import shutil
import signal
import sys
import threading
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from common import distribute
from common.errors import LabError

STATE_FILE = "last.keras"
META_FILE = "last.json"
WEIGHTS_PATTERN = re.compile(r"^cp-(\d{4,})\.weights\.h5$")


def _write_atomically(path: Path, write) -> None:
    """Call ``write(temporary_path)``, then move the result over ``path`` in one step."""
    # Same ending (Keras checks it), a name that no loader takes for a finished file.
    temporary = path.with_name("partial-" + path.name)
    write(temporary)
    os.replace(temporary, path)


class _SaveState(keras.callbacks.Callback):
    """After every epoch: the model with its optimizer, then the epoch count and history."""

    def __init__(self, checkpoints, history):
        super().__init__()
        self.checkpoints = checkpoints
        self.history = {key: list(values) for key, values in history.items()}

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        folder = self.checkpoints.folder
        _write_atomically(folder / STATE_FILE, lambda path: self.model.save(path))
        meta = {"epoch": epoch + 1, "settings": self.checkpoints.settings, "history": self.history}
        _write_atomically(folder / META_FILE, lambda path: path.write_text(json.dumps(meta, indent=1)))


class _SaveWeightsEvery(keras.callbacks.Callback):
    """The tutorial's checkpoints: weights every ``every`` epochs and at the last epoch."""

    def __init__(self, folder: Path, every: int, last_epoch: int):
        super().__init__()
        self.folder, self.every, self.last_epoch = folder, every, last_epoch

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if done % self.every == 0 or done == self.last_epoch:
            path = self.folder / f"cp-{done:04d}.weights.h5"
            _write_atomically(path, lambda temporary: self.model.save_weights(temporary))


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """EarlyStopping that remembers, across a resume, how long the monitored value has not improved.

    The best weights live in a file (``best.weights.h5``) rather than in
    memory, so they survive an interrupted run too.
    """

    def __init__(self, folder: Path, history: dict, monitor="val_loss", patience=3, min_delta=0.0):
        super().__init__(monitor=monitor, patience=patience, min_delta=min_delta, restore_best_weights=False)
        self.best_path = Path(folder) / "best.weights.h5"
        self.past = list(history.get(monitor, []))

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self.monitor_op is None:
            self._set_monitor_op()  # Keras would do this at the first epoch's end.
        # Replay the earlier epochs the way EarlyStopping.on_epoch_end counts them.
        for epoch, value in enumerate(self.past):
            self.wait += 1
            if self._is_improvement(value, self.best):
                self.best, self.best_epoch, self.wait = value, epoch, 0

    def on_epoch_end(self, epoch, logs=None):
        previous_best = self.best
        super().on_epoch_end(epoch, logs)
        if self.best is not None and self.best != previous_best:
            _write_atomically(self.best_path, lambda path: self.model.save_weights(path))

    def restore_best(self, model, history: dict) -> int:
        """Load the best epoch's weights into ``model``; return that epoch (counted from 1).

        ``history`` is the whole run's, resumed epochs included; the monitored
        value is one to minimise, such as a loss.
        """
        if self.best_path.exists():
            model.load_weights(self.best_path)
        values = history.get(self.monitor, [])
        return int(np.argmin(values)) + 1 if values else 0


def require_tensorboard() -> None:
    """Stop with a clear message if the tensorboard package (which writes the logs) is missing."""
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        raise LabError("--tensorboard needs the tensorboard package: pip install tensorboard "
                       "(it is in requirements.txt)") from None


def tensorboard_callback(log_dir):
    """Keras's TensorBoard callback writing under ``log_dir`` (train/ and validation/)."""
    require_tensorboard()
    return keras.callbacks.TensorBoard(log_dir=str(log_dir))


class Checkpoints:
    """Saved training state in ``<out>/checkpoints``, for one lab and one set of settings."""

    def __init__(self, out_dir, settings: dict, fresh: bool = False):
        self.folder = Path(out_dir) / "checkpoints"
        policy = keras.mixed_precision.global_policy().name
        if policy != "float32":
            # A float16 run (--mixed-precision) is not continued in float32, nor the other way round.
            settings = {**settings, "dtype_policy": policy}
        self.settings = json.loads(json.dumps(settings))  # As it will read back from JSON.
        if fresh and self.folder.exists():
            shutil.rmtree(self.folder)
            print(f"--fresh: removed the saved state in {self.folder}")
        self.folder.mkdir(parents=True, exist_ok=True)

    def _clear(self) -> None:
        shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True)

    def resume(self, model):
        """Return ``(model, completed_epochs, history)``, from saved state where there is any.

        The model returned is the saved one (optimizer state included) when
        resuming, else the ``model`` passed in, unchanged. The workers of a
        cluster must all find the same epoch, or none of them resumes.
        """
        meta = self._usable_state()
        completed = int(meta["epoch"]) if meta else 0
        if not distribute.same_on_every_worker(completed):
            raise LabError("the workers found saved state of different epochs (one of them lost or kept other "
                           "state); run all of them again with --fresh")
        if not meta:
            return model, 0, {}
        state_path = self.folder / STATE_FILE
        restored = keras.models.load_model(state_path)
        print(f"Resuming after epoch {completed} from {state_path} (optimizer state included); "
              "--fresh starts over.")
        return restored, completed, meta["history"]

    def _usable_state(self):
        """The saved state's description if it can be resumed; else None, with stale state removed."""
        meta_path, state_path = self.folder / META_FILE, self.folder / STATE_FILE
        if not (meta_path.exists() and state_path.exists()):
            return None
        try:
            meta = json.loads(meta_path.read_text())
            saved_settings = meta["settings"]
            int(meta["epoch"]), dict(meta["history"])
        except (ValueError, KeyError, TypeError):
            print(f"The saved state in {self.folder} is unreadable; starting over.")
            self._clear()
            return None
        if saved_settings != self.settings:
            changed = sorted(key for key in set(saved_settings) | set(self.settings)
                             if saved_settings.get(key) != self.settings.get(key))
            print(f"The saved state in {self.folder} was made with other settings ({', '.join(changed)}); "
                  "starting over. Use another --out to keep both.")
            self._clear()
            return None
        return meta

    def callbacks(self, history: dict, total_epochs: int, every: int = 5, tensorboard_dir=None) -> list:
        """The callbacks that save state each epoch, weights every ``every`` epochs, and TensorBoard logs."""
        callbacks = [_SaveState(self, history), _SaveWeightsEvery(self.folder, every, total_epochs)]
        if tensorboard_dir is not None:
            callbacks.append(tensorboard_callback(tensorboard_dir))
        return callbacks

    def latest_weights(self):
        """The ``cp-NNNN.weights.h5`` with the highest epoch, or None."""
        found = [(int(match.group(1)), path) for path in self.folder.iterdir()
                 if (match := WEIGHTS_PATTERN.match(path.name))]
        return max(found)[1] if found else None


def split_validation(x, y, fraction: float = 0.1):
    """Hold out the last ``fraction`` of the training data for validation: ((x, y), (x_val, y_val)).

    The same examples every run, so a resumed run validates on the same set.
    """
    count = int(round(len(x) * fraction))
    if count < 1 or count >= len(x):
        raise ValueError(f"cannot hold out {fraction:.0%} of {len(x)} examples for validation")
    return (x[:-count], y[:-count]), (x[-count:], y[-count:])


class _StopOnInterrupt(keras.callbacks.Callback):
    """Turns Ctrl-C during training into a KeyboardInterrupt at the next batch boundary.

    Python delivers Ctrl-C as a KeyboardInterrupt wherever the main thread
    happens to be; inside a callback that TensorFlow or h5py calls from C it
    can only be printed and ignored, and training would carry on. So the
    signal handler just records the request, and this callback raises the
    interrupt from ordinary Python code. A second Ctrl-C stops at once.
    """

    def __init__(self):
        super().__init__()
        self.requested = False

    def handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def _check(self, *args, **kwargs):
        if self.requested:
            raise KeyboardInterrupt

    on_train_batch_end = on_test_batch_end = on_epoch_end = _check


def fit(model, checkpoints: Checkpoints, completed: int, history: dict, *, epochs: int,
        tensorboard_dir=None, extra_callbacks=(), **fit_arguments) -> dict:
    """``model.fit`` from epoch ``completed`` to ``epochs`` with the checkpoint callbacks.

    Returns the whole history, earlier (resumed) epochs included. If training
    already reached ``epochs``, says so and trains nothing. On Ctrl-C it says
    how to continue before passing the interruption on.
    """
    if completed >= epochs:
        print(f"Already trained for {completed} epoch{'s' if completed != 1 else ''} (asked for {epochs}); "
              "nothing to train. "
              "Use --epochs with a larger number to train on, or --fresh to start over.")
        return history
    callbacks = checkpoints.callbacks(history, epochs, tensorboard_dir=tensorboard_dir)
    interrupt = _StopOnInterrupt()
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous_handler = signal.signal(signal.SIGINT, interrupt.handle) if in_main_thread else None
    try:
        # A live progress bar on a terminal; one line per epoch in a log or a pipe.
        verbose = 1 if sys.stdout.isatty() else 2
        # A tf.data pipeline shuffles by itself; Keras only shuffles arrays.
        fit_arguments.setdefault("shuffle", not isinstance(fit_arguments.get("x"), tf.data.Dataset))
        # The interrupt check comes last, so an epoch that has just completed is saved first.
        model.fit(initial_epoch=completed, epochs=epochs,
                  callbacks=[*callbacks, *extra_callbacks, interrupt], verbose=verbose, **fit_arguments)
    except KeyboardInterrupt:
        print("\nStopped. Run the same command again to continue after the last completed epoch.")
        raise
    except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.AbortedError) as error:
        if not distribute.in_cluster():
            raise
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        raise LabError(f"another worker stopped or cannot be reached ({first_line}); run the same command on "
                       "every worker again to continue after the last completed epoch") from None
    finally:
        if in_main_thread:
            signal.signal(signal.SIGINT, previous_handler)
    return callbacks[0].history


def accuracy_of(model, x, y, batch_size: int = 1000) -> float:
    """The fraction of ``x`` that ``model`` classifies as ``y``, predicting in batches."""
    scores = model.predict(x, batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(scores, axis=1) == np.asarray(y)))


def probabilities(model, images, batch_size: int = 1000) -> np.ndarray:
    """Each image's class probabilities, (N, classes), predicted in batches.

    ``images`` are reshaped to what the model takes (an MLP's (28, 28), a
    CNN's (28, 28, 1)). A model that ends in logits gets a softmax; one that
    already outputs probabilities is left as it is.
    """
    batch = np.asarray(images).reshape((-1, *model.input_shape[1:]))
    outputs = model.predict(batch, batch_size=batch_size, verbose=0)
    if np.all(outputs >= 0) and np.allclose(outputs.sum(axis=1), 1.0, atol=1e-3):
        return outputs
    return keras.ops.convert_to_numpy(keras.ops.softmax(outputs, axis=-1))


def use_xla_for(device_name: str):
    """``jit_compile`` for a Keras model on this device.

    On CPUs TensorFlow's own (oneDNN) kernels run convolutions several times
    faster than XLA's, so XLA is only left to Keras ("auto") on GPUs.
    """
    return "auto" if "GPU" in device_name.upper() else False


class _NoRetracingNote(logging.Filter):
    """Labs that compare several small models build one compiled loop per model.

    TensorFlow then warns that a function "triggered tf.function retracing",
    which is what it should do here; the note would only alarm a learner.
    """

    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


tf.get_logger().addFilter(_NoRetracingNote())


def step_runner(model, loss, optimizer):
    """A compiled function ``run(x, y, num_steps)``: that many optimizer steps on the batch (x, y).

    For the small experiments of the later chapters, where ``model.fit``'s
    per-epoch bookkeeping would cost more than the arithmetic: the whole loop
    is one ``tf.function``. ``loss(y_true, y_pred)`` is a Keras-style loss;
    penalties the model adds (``model.losses``, such as L2 weight decay) are
    included. Returns the loss of the last step.
    """
    optimizer.build(model.trainable_variables)

    @tf.function
    def run(x, y, num_steps):
        last = tf.constant(0.0)
        for _ in tf.range(num_steps):
            with tf.GradientTape() as tape:
                value = loss(y, model(x, training=True))
                if model.losses:
                    value = value + tf.add_n(model.losses)
            gradients = tape.gradient(value, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables))
            last = tf.cast(value, tf.float32)
        return last

    return run

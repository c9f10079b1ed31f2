"""Saved training state: how a Keras training run loses nothing when it is stopped.

What ``training.Run`` keeps in ``<out>/checkpoints``:

- after every epoch the whole model, optimizer state included
  (``last.keras``), and the epoch count, settings and history so far
  (``last.json``); each is written to a temporary file first and renamed, so
  a run killed at any moment leaves the previous state intact;
- every ``every`` epochs (and at the last one) the weights alone as
  ``cp-NNNN.weights.h5``, as in TensorFlow's tutorial "Save and load models", which a fresh model can
  load with ``model.load_weights``;
- for early stopping, the best epoch's weights (``best.weights.h5``).

Keras has callbacks close to these, and this module is built on Keras's own
``EarlyStopping``. It keeps its own state files where Keras's do not do what
the labs promise: ``BackupAndRestore`` deletes its backup when training ends,
so ``--epochs 30`` after a finished 20-epoch run could not go on from it, and
it keeps neither the history (the labs draw the whole run's curves) nor the
settings (a ``--smoke`` run must never continue a real one); ``ModelCheckpoint``
counts ``save_freq`` in batches, not epochs, and cannot also save the last
epoch; ``EarlyStopping`` forgets, across a resume, how long the monitored
value has not improved.
"""
import json
import os
import re
import shutil
from pathlib import Path

import keras
import numpy as np

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
    """Weights checkpoints, as TensorFlow's "Save and load models" does: every ``every`` epochs and at the last."""

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

    def callbacks(self, history: dict, total_epochs: int, every: int = 5) -> list:
        """The callbacks that save the state each epoch and the weights every ``every`` epochs."""
        return [_SaveState(self, history), _SaveWeightsEvery(self.folder, every, total_epochs)]

    def latest_weights(self):
        """The ``cp-NNNN.weights.h5`` with the highest epoch, or None."""
        found = [(int(match.group(1)), path) for path in self.folder.iterdir()
                 if (match := WEIGHTS_PATTERN.match(path.name))]
        return max(found)[1] if found else None

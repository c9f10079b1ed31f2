"""One Keras training run that loses nothing: ``training.Run``.

A lab that trains with ``model.fit`` names the run on its last line and
receives it in ``main``::

    def add_arguments(parser):
        ...
        training.Run.add_arguments(parser)   # --fresh, --tensorboard, --strategy, ...

    def main(args, run):
        model = run.resume(build_model(), settings={"batch_size": args.batch_size})
        history = run.fit(model, x, y, epochs=args.epochs, validation_data=(x_val, y_val))

    if __name__ == "__main__":
        cli.run_lab(main, __doc__, add_arguments, run=training.Run)

``cli.run_lab`` makes the run before anything else touches TensorFlow (a
strategy must come first) and calls ``main`` inside its scope. Then:

- ``run.resume(model, settings)`` returns the model to train: the one saved
  after the last completed epoch (optimizer state included) when this model
  with these settings has saved state in ``<out>/checkpoints``, else the
  model given. ``--fresh`` starts over.
- ``run.fit(model, ...)`` is ``model.fit`` from that epoch on, saving the
  state after every epoch and the weights as ``cp-NNNN.weights.h5`` every
  five, as TensorFlow's tutorial "Save and load models" does
  (``common/checkpoints.py``), writing TensorBoard logs with
  ``--tensorboard``; Ctrl-C stops at the next batch and says how to go on.
  It returns the whole run's history, resumed epochs included.

What a run sets up is in its attributes, never added to ``args``: ``out``,
``device_name``, ``replicas``, ``chief``, ``jit_compile``, ``completed``,
``history``.
"""
import signal
import sys
import threading

import keras
import tensorflow as tf

from common import checkpoints, distribute
from common.errors import LabError, require_package


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


class Run:
    """One training run of a Keras lab: where it runs, where it keeps its state, and ``fit``.

    Attributes (all set here, none added to ``args``):
        out: the folder this process writes: ``--out``, or ``<out>/worker-N``
            for a worker other than the chief of a cluster.
        device_name: the TensorFlow device ``--device`` chose, such as ``/CPU:0``.
        replicas: how many copies of the model train together (1 without a strategy).
        chief: whether this process writes the lab's results.
        distributed: whether a ``--strategy`` spreads the training.
        jit_compile: what to pass to ``model.compile``: XLA is left to Keras
            ("auto") on GPUs; on CPUs TensorFlow's own (oneDNN) kernels run
            convolutions several times faster than XLA's, so it is off.
        completed: epochs already trained (from saved state), after ``resume``.
        history: the whole run's metrics per epoch, after ``resume`` and ``fit``.
    """

    @staticmethod
    def add_arguments(parser) -> None:
        """The flags of a lab that trains with a run: saved state, TensorBoard, strategies."""
        parser.add_argument("--fresh", action="store_true", help="ignore saved state and start over")
        parser.add_argument("--tensorboard", action="store_true", help="write TensorBoard logs under --out")
        distribute.add_arguments(parser)

    def __init__(self, args, device_name: str):
        """Set up ``--strategy`` (and the other flags) for a lab about to run on ``device_name``."""
        if args.tensorboard:
            require_package("tensorboard", "--tensorboard")
        setup = distribute.prepare(args, device_name)
        self.fresh, self.tensorboard = args.fresh, args.tensorboard
        self.device_name, self.scope, self.notes = device_name, setup.scope, setup.lines
        self.replicas, self.chief, self.out = setup.replicas, setup.chief, setup.out
        self.distributed = args.strategy != "none"
        self.jit_compile = "auto" if "GPU" in device_name.upper() else False
        self.completed, self.history = 0, {}
        self._state = None

    def global_batch_size(self, per_replica: int) -> int:
        """The examples of one training step across all replicas: ``per_replica`` times their number."""
        return per_replica * self.replicas

    def steps_per_execution(self, steps: int) -> int:
        """What to pass to ``model.compile``: ``steps`` training steps per call into TensorFlow, or 1.

        Several steps in one compiled call save Python's overhead between
        them. Under ``--strategy`` Keras's multi-step loop fails when an epoch
        ends in the middle of a call (seen with Keras 3.15 on a split CPU), so
        a distributed run takes one step per call.
        """
        return 1 if self.distributed else steps

    def resume(self, model, settings: dict):
        """The model to train: saved state's where ``model`` with these ``settings`` has any, else ``model``.

        ``settings`` are what must match for saved state to be reused (batch
        size, number of examples, ...); the model's name is added to them, so
        two labs sharing an ``--out`` never continue each other's training.
        """
        self._state = checkpoints.Checkpoints(self.out, {"model": model.name, **settings}, fresh=self.fresh)
        # Called in main, inside the run's scope: a saved model loads onto the strategy's devices.
        model, self.completed, self.history = self._state.resume(model)
        return model

    def early_stopping(self, monitor: str = "val_loss", patience: int = 3):
        """Keras's ``EarlyStopping`` that remembers, across a resume, how long ``monitor`` has not improved.

        Pass it to ``fit`` in ``callbacks``; ``restore_best(model, history)``
        then loads the best epoch's weights.
        """
        return checkpoints.ResumableEarlyStopping(self._state.folder, self.history, monitor=monitor,
                                                  patience=patience)

    def latest_weights(self):
        """The latest weights checkpoint, ``cp-NNNN.weights.h5`` (a Path), or None."""
        return self._state.latest_weights()

    def fit(self, model, x=None, y=None, *, epochs: int, callbacks=(), **fit_arguments) -> dict:
        """``model.fit`` from the last completed epoch to ``epochs``, saving the state after every epoch.

        Returns the whole history, earlier (resumed) epochs included. If
        training already reached ``epochs``, says so and trains nothing. On
        Ctrl-C it says how to continue before passing the interruption on.
        """
        if self._state is None:
            raise RuntimeError("call run.resume(model, settings) before run.fit")
        if self.completed >= epochs:
            print(f"Already trained for {self.completed} epoch{'s' if self.completed != 1 else ''} "
                  f"(asked for {epochs}); nothing to train. "
                  "Use --epochs with a larger number to train on, or --fresh to start over.")
            return self.history
        saving = self._state.callbacks(self.history, epochs)
        if self.tensorboard:
            saving.append(keras.callbacks.TensorBoard(log_dir=str(self.out / "tensorboard")))
        interrupt = _StopOnInterrupt()
        in_main_thread = threading.current_thread() is threading.main_thread()
        previous_handler = signal.signal(signal.SIGINT, interrupt.handle) if in_main_thread else None
        try:
            # A live progress bar on a terminal; one line per epoch in a log or a pipe.
            verbose = 1 if sys.stdout.isatty() else 2
            # A tf.data pipeline shuffles by itself; Keras only shuffles arrays.
            fit_arguments.setdefault("shuffle", not isinstance(x, tf.data.Dataset))
            # The interrupt check comes last, so an epoch that has just completed is saved first.
            model.fit(x, y, initial_epoch=self.completed, epochs=epochs,
                      callbacks=[*saving, *callbacks, interrupt], verbose=verbose, **fit_arguments)
        except KeyboardInterrupt:
            print("\nStopped. Run the same command again to continue after the last completed epoch.")
            raise
        except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.AbortedError) as error:
            if not distribute.in_cluster():
                raise
            first_line = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
            raise LabError(f"another worker stopped or cannot be reached ({first_line}); run the same command "
                           "on every worker again to continue after the last completed epoch") from None
        finally:
            if in_main_thread:
                signal.signal(signal.SIGINT, previous_handler)
        self.history = saving[0].history
        self.completed = len(self.history.get("loss", []))
        return self.history

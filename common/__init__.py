"""What the labs share, by who reads it.

For a learner reading a lab (each says where it is taught):

- ``data``: the bundled MNIST and Fashion-MNIST, checked; scaling, splitting, tf.data pipelines
- ``plotting``: the figures, saved as PNG; shown only with ``--show``
- ``graph``: a training loop as one compiled graph (``xla_function``, ``step_runner``)
- ``geometry``: distances from points to a decision line (labs _03, _04)
- ``evaluation``: a classifier's accuracy and class probabilities (chapter 5)

For the lab runner, which a lab only calls (``cli.run_lab`` on its last line):

- ``cli``: the flags every lab has, seeding, the device line, errors as one line
- ``device``: ``--device auto|cpu|gpu``
- ``paths``: the checkout's folders; ``load_lab`` for tests, benchmarks and tools
- ``errors``: ``LabError``, a user's mistake as one line and exit status 2
- ``_quiet``: TensorFlow's start-up messages kept off the screen

For Keras training runs, loaded only by the labs that train with ``model.fit``:

- ``training``: ``training.Run``, one object for a run: ``resume``, ``fit``
- ``checkpoints``: its saved state, so that nothing is lost
- ``distribute``: ``--strategy``: several devices or machines, mixed precision

Labs import this package *before* TensorFlow (``from common import cli`` on the
first import line), because importing it starts TensorFlow with its start-up
log lines kept off the screen. To see TensorFlow's own log, set the variable
yourself, for example ``TF_CPP_MIN_LOG_LEVEL=0 python labs/_03_single_perceptron.py``.
"""
from common import _quiet

_quiet.import_tensorflow()

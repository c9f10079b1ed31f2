"""Helpers shared by every lab: command line, device placement, data, plotting.

Labs import this package *before* TensorFlow (``from common import cli`` on the
first import line), because importing it starts TensorFlow with its start-up
log lines kept off the screen. To see TensorFlow's own log, set the variable
yourself, for example ``TF_CPP_MIN_LOG_LEVEL=0 python labs/_03_single_perceptron.py``.
"""
from common import _quiet

_quiet.import_tensorflow()

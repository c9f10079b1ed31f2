"""Start TensorFlow without its start-up noise.

TensorFlow's native code writes several lines straight to the process's
standard error while it loads (oneDNN, CUDA probing, CPU features), before its
own log level applies. Hiding them means pointing file descriptor 2 elsewhere
for the duration of the import and the first device query, then restoring it.
A user who sets ``TF_CPP_MIN_LOG_LEVEL`` has asked for TensorFlow's log, so
then nothing is hidden.
"""
import contextlib
import os
import sys

# The level this module sets is exported to child processes too; the marker
# tells a child that the level came from here, not from the user.
_QUIET_LEVEL = "2"
_MARKER = "LAB_TF_LOG_LEVEL_SET_BY_COMMON"
USER_CHOSE_LOG_LEVEL = ("TF_CPP_MIN_LOG_LEVEL" in os.environ
                        and os.environ.get(_MARKER) != os.environ["TF_CPP_MIN_LOG_LEVEL"])


@contextlib.contextmanager
def _stderr_silenced():
    """Send everything written to file descriptor 2 to the null device."""
    sys.stderr.flush()
    saved_fd = os.dup(2)
    null_fd = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null_fd, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved_fd, 2)
        os.close(saved_fd)
        os.close(null_fd)


def import_tensorflow():
    """Import TensorFlow and probe its devices, quietly unless asked otherwise."""
    if "tensorflow" in sys.modules and not USER_CHOSE_LOG_LEVEL:
        # Someone imported TensorFlow before us; its noise is already out.
        return
    if USER_CHOSE_LOG_LEVEL:
        import tensorflow  # noqa: F401
        return
    # 2 hides TensorFlow's INFO and WARNING lines for the rest of the run.
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = _QUIET_LEVEL
    os.environ[_MARKER] = _QUIET_LEVEL
    with _stderr_silenced():
        import tensorflow as tf

        # The first device query is where CUDA is probed and complains.
        tf.config.list_physical_devices()

"""Run a training loop as one compiled TensorFlow graph.

A Python loop of eager TensorFlow steps pays Python's and TensorFlow's
overhead on every operation, which for the tiny matrices of the early labs
is far more than the arithmetic. ``@graph.compiled`` turns a function,
``for`` loop over ``tf.range`` included, into one graph that XLA compiles to
native code, so thousands of epochs run without returning to Python.

XLA pays off for loops of many small operations. For large matrix products
(whole MNIST batches) TensorFlow's own CPU kernels are faster: use a plain
``tf.function`` there.
"""
import sys

import tensorflow as tf

# The errors TensorFlow raises when a build or device cannot XLA-compile a graph.
_XLA_UNAVAILABLE = (tf.errors.UnimplementedError, tf.errors.InvalidArgumentError,
                    tf.errors.NotFoundError, tf.errors.InternalError)


def compiled(fn):
    """Decorator: ``fn`` as an XLA-compiled ``tf.function``, or a plain graph where XLA is missing.

    Pass tensors, not Python numbers, as arguments that change between calls
    (an epoch count, a learning rate): a new Python value means a new graph.
    """
    with_xla = tf.function(fn, jit_compile=True)
    plain = tf.function(fn)
    state = {"function": with_xla, "tried": False}

    def call(*args, **kwargs):
        if state["tried"]:
            return state["function"](*args, **kwargs)
        state["tried"] = True
        try:
            return with_xla(*args, **kwargs)
        except _XLA_UNAVAILABLE as error:
            first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
            if len(first_line) > 150:
                first_line = first_line[:150] + "..."
            print(f"Note: XLA compilation is not available here ({first_line}); "
                  "running as a plain TensorFlow graph, which is slower.", file=sys.stderr)
            state["function"] = plain
            return plain(*args, **kwargs)

    call.__doc__ = fn.__doc__
    call.__name__ = fn.__name__
    call.python_function = fn
    return call

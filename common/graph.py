"""Run a training loop as one compiled TensorFlow graph.

A Python loop of eager TensorFlow steps pays Python's and TensorFlow's
overhead on every operation, which for the tiny matrices of the early labs
is far more than the arithmetic. ``@graph.xla_function`` turns a function,
``for`` loop over ``tf.range`` included, into one graph that XLA compiles to
native code, so thousands of epochs run without returning to Python.
``graph.step_runner`` does the same for a Keras model's optimizer steps.

XLA pays off for loops of many small operations. For large matrix products
(whole MNIST batches) TensorFlow's own CPU kernels are faster: use a plain
``tf.function`` there.
"""
import logging
import sys

import tensorflow as tf

# The errors TensorFlow raises when a build or device cannot XLA-compile a graph.
_XLA_UNAVAILABLE = (tf.errors.UnimplementedError, tf.errors.InvalidArgumentError,
                    tf.errors.NotFoundError, tf.errors.InternalError)


def xla_function(fn):
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


class _NoRetracingNote(logging.Filter):
    """Labs that compare several small models build one compiled loop per model.

    TensorFlow then warns that a function "triggered tf.function retracing",
    which is what it should do here; the note would only alarm a learner.
    """

    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


def step_runner(model, loss, optimizer):
    """A compiled function ``run(x, y, num_steps)``: that many optimizer steps on the batch (x, y).

    For the small experiments of the later chapters, where ``model.fit``'s
    per-epoch bookkeeping would cost more than the arithmetic: the whole loop
    is one ``tf.function``. ``loss(y_true, y_pred)`` is a Keras-style loss;
    penalties the model adds (``model.losses``, such as L2 weight decay) are
    included. Returns the loss of the last step.
    """
    if not any(isinstance(each, _NoRetracingNote) for each in tf.get_logger().filters):
        tf.get_logger().addFilter(_NoRetracingNote())
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

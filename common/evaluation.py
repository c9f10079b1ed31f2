"""Measuring a trained classifier: its accuracy, and the probabilities it gives each class.

Shared by the MNIST and Fashion-MNIST labs and the draw-a-digit recognizer.
"""
import keras
import numpy as np


def accuracy_of(model, x, y, batch_size: int = 1000) -> float:
    """The fraction of ``x`` that ``model`` classifies as ``y``, predicting in batches."""
    scores = model.predict(x, batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(scores, axis=1) == np.asarray(y)))


def ends_in_softmax(model) -> bool:
    """Whether ``model``'s last layer already turns its outputs into probabilities."""
    last = model.layers[-1]
    activation = getattr(last, "activation", None)
    return isinstance(last, keras.layers.Softmax) or getattr(activation, "__name__", "") == "softmax"


def probabilities(model, images, batch_size: int = 1000) -> np.ndarray:
    """Each image's class probabilities, (N, classes), predicted in batches.

    ``images`` are reshaped to what the model takes (an MLP's (28, 28), a
    CNN's (28, 28, 1)). The outputs of a model whose last layer gives logits
    (no activation, as the MNIST CNN's) go through a softmax; a model ending
    in a softmax (as the handwriting network) already gives probabilities.
    """
    batch = np.asarray(images).reshape((-1, *model.input_shape[1:]))
    outputs = model.predict(batch, batch_size=batch_size, verbose=0)
    if ends_in_softmax(model):
        return outputs
    return keras.ops.convert_to_numpy(keras.ops.softmax(outputs, axis=-1))

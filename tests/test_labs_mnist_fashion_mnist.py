"""The MNIST and Fashion-MNIST labs: the maths of the hand-written one, and that each one really learns."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from common import data
from labtools import assert_steps_are_gradient_steps, load_lab, same_worker

BACKPROP = "labs/fashion_mnist/_03_backprop_by_hand.py"
CNN = "labs/mnist/_02_cnn.py"


@pytest.mark.parametrize("init", ["normal", "xavier"])
def test_hand_written_steps_are_minus_lr_times_the_gradient(init):
    lab = load_lab(BACKPROP)
    tf.random.set_seed(7)
    (x_train, y_train), _ = data.load_fashion_mnist()
    X = tf.constant(data.scaled(x_train[:32]).reshape(32, -1), tf.float64)
    T = tf.one_hot(tf.constant(y_train[:32], tf.int32), 10, dtype=tf.float64)
    params = lab.init_params(784, 30, 10, dtype=tf.float64, init=init)
    learning_rate = 0.01
    steps = lab.weight_steps(X, T, params, tf.constant(learning_rate, tf.float64))
    with tf.GradientTape() as tape:
        error = lab.loss(T, lab.forward(X, params)[1])
    gradients = tape.gradient(error, params)
    assert set(gradients) == {"W1", "b1", "W2", "b2"}
    assert_steps_are_gradient_steps(steps, gradients, learning_rate)


def test_one_epoch_by_hand_applies_the_steps_batch_by_batch():
    lab = load_lab(BACKPROP)
    tf.random.set_seed(3)
    X = tf.random.uniform((6, 784))
    T = tf.one_hot([1, 2, 3, 4, 5, 6], 10)
    params = lab.init_params(784, 5, 10)
    expected = {name: variable.numpy().copy() for name, variable in params.items()}
    order = tf.constant([5, 0, 3, 1, 4, 2])
    # Two batches of three, computed here one after the other with the same formulas.
    reference = {name: tf.Variable(value) for name, value in expected.items()}
    for batch in (order[:3], order[3:]):
        for name, step in lab.weight_steps(tf.gather(X, batch), tf.gather(T, batch), reference, 0.5).items():
            reference[name].assign_add(step)
    lab.train_epoch(X, T, params, tf.constant(0.5), order, tf.constant(3))
    for name in params:
        np.testing.assert_allclose(params[name].numpy(), reference[name].numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("lab_path, at_least", [
    pytest.param(lab_path, at_least, marks=same_worker(lab_path)) for lab_path, at_least in [
        ("labs/mnist/_01_mlp.py", 0.80),
        ("labs/fashion_mnist/_01_mlp.py", 0.65),
        (CNN, 0.60),
        ("labs/fashion_mnist/_02_cnn.py", 0.55),
    ]])
def test_keras_labs_learn_in_one_smoke_epoch(lab_run, lab_path, at_least):
    # One epoch on 2,000 images takes chance (10%) well up. The smoke test's run.
    result = lab_run(lab_path, "--smoke").result
    assert result["test_accuracy"] >= at_least


@same_worker(CNN)
def test_cnn_model_is_saved_for_the_recognizer(lab_run):
    result = lab_run(CNN, "--smoke").result
    model = keras.models.load_model(result["model_path"])
    (_, _), (x_test, y_test) = data.load_mnist()
    scores = model.predict(data.scaled(x_test[:200])[..., np.newaxis], verbose=0)
    assert scores.shape == (200, 10)
    assert np.mean(np.argmax(scores, axis=1) == y_test[:200]) > 0.5


def test_pipeline_batches_and_reshuffles_repeatably():
    images = np.arange(10, dtype=np.float32)
    labels = np.arange(10)
    first = [batch[1].numpy().tolist() for batch in data.pipeline(images, labels, 4, shuffle_seed=1)]
    again = [batch[1].numpy().tolist() for batch in data.pipeline(images, labels, 4, shuffle_seed=1)]
    assert [len(batch) for batch in first] == [4, 4, 2]
    assert first == again and sorted(sum(first, [])) == list(range(10))
    in_order = [batch[1].numpy().tolist() for batch in data.pipeline(images, labels, 4)]
    assert sum(in_order, []) == list(range(10))

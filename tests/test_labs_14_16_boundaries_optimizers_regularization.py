"""Labs _14-_16: decision boundaries, optimizers, regularization."""
import numpy as np
import pytest
import tensorflow as tf

from labtools import load_lab, same_worker

BOUNDARIES = "labs/_14_decision_boundaries.py"
OPTIMIZERS = "labs/_15_optimizers.py"
REGULARIZATION = "labs/_16_regularization.py"


# --- _14 decision boundaries ---------------------------------------------------------------

@pytest.fixture
def boundaries(lab_run):
    return lab_run(BOUNDARIES).result    # The run whose output chapter 3 quotes.


@same_worker(BOUNDARIES)
def test_relu_and_tanh_both_classify_the_rings(boundaries):
    assert len(boundaries["accuracies"]) == 4
    for name, accuracy in boundaries["accuracies"].items():
        assert accuracy >= 0.95, name


@same_worker(BOUNDARIES)
def test_regressions_fit_down_to_the_noise(boundaries):
    assert abs(boundaries["true_curve_error"] - 0.01) < 0.002     # sin(2x) itself misses by the noise.
    for name, error in boundaries["regression_errors"].items():
        assert error < 0.02, name            # Noise variance 0.01.


@same_worker(BOUNDARIES)
def test_relu_curves_are_straight_pieces_and_tanh_curves_are_not(boundaries):
    grid = np.linspace(-2, 2, 401, dtype=np.float32).reshape(-1, 1)
    bends = {}
    for name, model in boundaries["curves"].items():
        values = model(grid).numpy().ravel()
        second_difference = np.abs(np.diff(values, 2))
        # A piecewise linear function has a zero second difference except at its few corners.
        bends[name] = np.mean(second_difference > 1e-5)
    assert bends["relu"] < 0.1          # Two grid points at each of its few corners.
    assert bends["tanh"] > 0.5


# --- _15 optimizers ---------------------------------------------------------------------------

@pytest.fixture
def optimizers(lab_run):
    return lab_run(OPTIMIZERS).result


@same_worker(OPTIMIZERS)
def test_every_optimizer_lowers_the_loss(optimizers):
    lab = load_lab(OPTIMIZERS)
    x, y = lab.make_data(1)
    model = lab.build(1)
    initial = float(tf.reduce_mean(tf.square(model(x) - y)))
    assert len(optimizers["optimizers"]) == 7
    for name, result in optimizers["optimizers"].items():
        assert result["final_loss"] < 0.5 * initial, name


@same_worker(OPTIMIZERS)
def test_more_steps_per_epoch_learn_more_per_epoch(optimizers):
    table = optimizers["optimizers"]
    assert table["SGD (1 example)"]["epochs_to_target"] is not None
    assert table["batch GD"]["epochs_to_target"] is None
    assert table["SGD (1 example)"]["final_loss"] < table["batch GD"]["final_loss"]


@same_worker(OPTIMIZERS)
def test_adam_and_momentum_beat_plain_descent_on_the_ravine(optimizers):
    steps = optimizers["ravine_steps"]
    assert steps["gradient descent"] is not None
    assert steps["momentum 0.9"] < steps["gradient descent"]
    assert steps["Adam"] < steps["gradient descent"]


def test_ravine_steps_follow_the_update_rule():
    lab = load_lab(OPTIMIZERS)
    import keras

    points, costs = lab.ravine_path(keras.optimizers.SGD(0.4), 3)
    for before, after in zip(points[:-1], points[1:]):
        gradient = np.array([0.1 * before[0], 4.0 * before[1]])      # dJ/dw of 0.05 w1^2 + 2 w2^2
        np.testing.assert_allclose(after, before - 0.4 * gradient, rtol=1e-6)


# --- _16 regularization ---------------------------------------------------------------------------

def test_dropout_logits_match_a_hand_calculation():
    lab = load_lab(REGULARIZATION)
    features = np.array(lab.FEATURES)
    hidden = np.maximum(features @ np.array(lab.HIDDEN_WEIGHTS), 0)
    # First sample by hand: 0*0.1 + 2*0.4 + 3*0.5 + 4*0.8 = 5.5, and so on.
    np.testing.assert_allclose(hidden[0], [5.5, 4.7, 4.7])
    expected = hidden @ np.array(lab.OUTPUT_WEIGHTS)
    np.testing.assert_allclose(expected[0], [4.78, 8.0])
    _, logits = lab.logits_with_dropout()
    np.testing.assert_allclose(logits, expected, rtol=1e-6)
    mask = np.array(lab.FIXED_MASK)
    _, dropped = lab.logits_with_dropout(lab.FIXED_MASK, 0.5)
    np.testing.assert_allclose(dropped, (hidden * mask * 2) @ np.array(lab.OUTPUT_WEIGHTS), rtol=1e-6)
    np.testing.assert_allclose(dropped[0], [2 * (5.5 * 0.1 + 4.7 * 0.7), 2 * (5.5 * 0.6 + 4.7 * 0.9)], rtol=1e-6)


@pytest.mark.training_run     # The lab's whole default run, about a minute: with the book's check of its output.
@same_worker(REGULARIZATION)
def test_regularization_narrows_the_gap(lab_run):
    result = lab_run(REGULARIZATION).result
    runs = result["runs"]
    plain = runs["plain"]
    assert plain["train_error"] == 0.0 and plain["gap"] > 0.05     # It overfits: the lesson needs that.
    sample, hidden = result["dropout_sample"], result["hidden"]
    kept = sample != 0
    np.testing.assert_allclose(sample[kept], 2 * hidden[kept], rtol=1e-6)
    for name in ("L2 0.001", "dropout 0.5", "early stopping"):
        assert runs[name]["loss_gap"] < 0.9 * plain["loss_gap"], name
        assert runs[name]["gap"] < plain["gap"], name
    assert runs["early stopping"]["steps"] < runs["plain"]["steps"]
    assert runs["early stopping"]["weights_step"] < runs["early stopping"]["steps"]     # It went back.

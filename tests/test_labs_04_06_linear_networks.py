"""Labs _04-_06: the delta rule, where its line sits, and what a line cannot do."""
import numpy as np
import pytest
import tensorflow as tf

from labtools import load_lab

LAB_03 = "labs/_03_single_perceptron.py"
LAB_04 = "labs/_04_linear_nn.py"
LAB_05 = "labs/_05_linear_xor.py"
LAB_06 = "labs/_06_nonlinear_xor.py"
SEEDS = [1, 2, 3]  # The default seed and two others.


@pytest.mark.parametrize("lab_path", [LAB_04, LAB_05])
def test_the_update_is_the_delta_rule(lab_path):
    lab = load_lab(lab_path)
    X = np.array(lab.INPUTS, dtype=np.float32)
    T = np.array(lab.TARGETS, dtype=np.float32)
    start = np.array([[0.3], [-0.2], [0.6]], dtype=np.float32)
    W = tf.Variable(start)
    lab.train_epochs(tf.constant(X), tf.constant(T), W, tf.constant(0.1), tf.constant(1))
    # dW = lr * X^T (T - Y) / N with the purelin output Y = X W, computed here with NumPy.
    expected = start + 0.1 * X.T @ (T - X @ start) / len(X)
    np.testing.assert_allclose(W.numpy(), expected, rtol=1e-5)


@pytest.mark.parametrize("seed", SEEDS)
def test_linear_network_line_sits_more_evenly_than_the_perceptrons(run_lab_main, seed):
    perceptron = run_lab_main(LAB_03, "--seed", str(seed))
    linear = run_lab_main(LAB_04, "--seed", str(seed))
    lab = load_lab(LAB_04)
    X, T = np.array(lab.INPUTS), np.array(lab.TARGETS).reshape(-1)
    assert np.all(np.sign(X @ linear["weights"]) == T)
    perceptron_gap = abs(perceptron["margins"][0] - perceptron["margins"][1])
    linear_gap = abs(linear["margins"][0] - linear["margins"][1])
    assert linear_gap < perceptron_gap
    # Evenly: the nearer class is at least 3/4 as far from the line as the farther one.
    assert min(linear["margins"]) / max(linear["margins"]) > 0.75


def test_linear_network_heads_for_the_least_squares_weights(run_lab_main, capsys):
    # The delta rule is gradient descent on half the mean squared error, so it heads for the least-squares
    # weights; for these four points they fit exactly, w = (-2, 0, 1): the line x2 = 2, 1 from every point.
    result = run_lab_main(LAB_04, "--epochs", "3000")
    printed = capsys.readouterr().out
    np.testing.assert_allclose(result["least_squares_weights"], [-2, 0, 1], atol=1e-9)
    np.testing.assert_allclose(result["weights"], [-2, 0, 1], atol=1e-3)
    np.testing.assert_allclose(result["margins"], [1, 1], atol=1e-3)
    assert "heading for the least-squares weights: [-2.  0.  1.]" in printed
    assert "distance from their line to the nearest +1 point: 1.0000, to the nearest -1 point: 1.0000" in printed


def test_linear_network_reports_divergence(run_lab_main, capsys):
    result = run_lab_main(LAB_04, "--learning-rate", "0.5")
    assert not np.isfinite(result["loss"])
    assert "the weights blew up" in capsys.readouterr().out


@pytest.mark.parametrize("seed", SEEDS)
def test_linear_network_cannot_solve_xor(run_lab_main, seed, capsys):
    result = run_lab_main(LAB_05, "--seed", str(seed))
    targets = np.array(load_lab(LAB_05).TARGETS).reshape(-1)
    signs_right = int(np.sum(np.sign(result["predictions"]) == targets))
    assert signs_right == result["correct"] < 4
    assert f"{signs_right} of 4 signs right" in capsys.readouterr().out


@pytest.mark.parametrize("seed", SEEDS)
def test_nonlinear_inputs_solve_xor(run_lab_main, seed):
    result = run_lab_main(LAB_06, "--seed", str(seed))
    np.testing.assert_allclose(result["predictions"], [-1, 1, 1, -1], atol=0.05)


def test_boundary_curves_are_roots_of_the_quadratic(run_lab_main):
    lab = load_lab(LAB_06)
    weights = run_lab_main(LAB_06)["weights"]
    x1 = np.linspace(-1, 2, 50)
    for x2 in lab.boundary_curves(weights, x1):
        inside = ~np.isnan(x2)
        assert inside.sum() > 10
        a, b = x1[inside], x2[inside]
        features = np.stack([np.ones_like(a), a, b, a * a, a * b, b * b], axis=1)
        np.testing.assert_allclose(features @ weights, 0, atol=1e-3)

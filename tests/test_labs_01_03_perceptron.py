"""Labs _01-_03: the tutorial's printed output, and perceptrons that really separate."""
import numpy as np
import pytest
import tensorflow as tf

from labtools import load_lab, run_in_process, run_script

LAB_01 = "labs/_01_perceptron_learn_rule.py"
LAB_02 = "labs/_02_perceptron_learn_rule_matrix.py"
LAB_03 = "labs/_03_single_perceptron.py"


def test_lab_01_prints_exactly_the_tutorial_lines(tmp_path):
    result = run_script(LAB_01, "--out", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Device: /CPU:0 (auto: no GPU visible)" or lines[0].startswith("Device: /GPU:0")
    assert lines[1:] == ["-5 0 0", "-3 0 -2", "-1 0 -4", "done"]
    # TensorFlow's start-up log lines are kept off the screen.
    assert result.stderr == ""


def test_lab_02_prints_the_weight_columns(tmp_path):
    result = run_script(LAB_02, "--out", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == [
        "[[-5]", " [ 0]", " [ 0]]",
        "[[-3]", " [ 0]", " [-2]]",
        "[[-1]", " [ 0]", " [-4]]",
        "done",
    ]
    assert result.stderr == ""


def test_lab_01_and_02_follow_the_learning_rule_for_another_rate(run_lab_main):
    # With lr = 0.5 each step moves half as far: dw = 0.5 * (1 - (-1)) * x = x.
    scalar = run_lab_main(LAB_01, "--learning-rate", "0.5")
    matrix = run_lab_main(LAB_02, "--learning-rate", "0.5")
    expected = [[-5, 0, 0], [-4, 0, -1], [-3, 0, -2], [-2, 0, -3]]
    assert scalar["converged"] and matrix["converged"]
    np.testing.assert_allclose(scalar["weights"], expected)
    np.testing.assert_allclose(np.array(matrix["weights"])[:, :, 0], expected)


def test_lab_01_learns_the_target_of_the_flag(run_lab_main):
    # t = -1: the first output, sign(-5) = -1, is already the target, so the rule changes nothing.
    already_right = run_lab_main(LAB_01, "--target", "-1")
    assert already_right["converged"] and already_right["weights"] == [[-5.0, 0.0, 0.0]]
    # t = 1 is the default, written out: the tutorial's three weight vectors.
    assert run_lab_main(LAB_01, "--target", "1")["weights"] == [[-5, 0, 0], [-3, 0, -2], [-1, 0, -4]]


def test_lab_01_refuses_a_target_the_sign_cannot_give(tmp_path):
    result = run_in_process(LAB_01, tmp_path, "--target", "0.5")
    assert result.returncode == 2 and result.stdout == ""
    assert "--target" in result.stderr and "invalid choice" in result.stderr


def test_lab_03_prints_its_start_and_steps_by_the_batch_rule(run_lab_main, capsys):
    # The printed start is what the first epoch updated: epoch 1 = start + lr * X^T (T - sign(X start)) / N.
    result = run_lab_main(LAB_03)
    printed = capsys.readouterr().out
    assert printed.index("random start\nweights:") < printed.index("epoch: 1\n")
    lab = load_lab(LAB_03)
    X, T = np.array(lab.INPUTS), np.array(lab.TARGETS)
    start = np.array([float(value) for value in
                      printed.split("random start\nweights:")[1].split("epoch:")[0].replace("[", " ")
                      .replace("]", " ").split()]).reshape(3, 1)
    first = np.array([float(value) for value in
                      printed.split("epoch: 1\nweights:")[1].split("epoch:")[0].replace("[", " ")
                      .replace("]", " ").split()]).reshape(3, 1)
    np.testing.assert_allclose(first, start + 0.1 * X.T @ (T - np.sign(X @ start)) / len(X), rtol=1e-6)
    assert result["converged"]


def test_lab_03_update_is_the_batch_rule():
    lab = load_lab(LAB_03)
    X = np.array(lab.INPUTS, dtype=np.float32)
    T = np.array(lab.TARGETS, dtype=np.float32)
    start = np.array([[0.2], [-0.3], [0.5]], dtype=np.float32)
    W = tf.Variable(start)
    lab.train_epoch(tf.constant(X), tf.constant(T), W, tf.constant(0.1))
    # dW = lr * X^T (T - Y) / N, computed here independently with NumPy.
    Y = np.sign(X @ start)
    expected = start + 0.1 * X.T @ (T - Y) / len(X)
    np.testing.assert_allclose(W.numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("seed", [1, 2, 3, 7, 11])
def test_lab_03_converges_with_every_point_on_its_side(run_lab_main, seed, tmp_path):
    result = run_lab_main(LAB_03, "--seed", str(seed))
    assert result["converged"]
    assert result["epochs"] < 100
    lab = load_lab(LAB_03)
    X, T = np.array(lab.INPUTS), np.array(lab.TARGETS).reshape(-1)
    # Strictly on the correct side: a point on the line would give sign 0.
    assert np.all(np.sign(X @ result["weights"]) == T)
    assert (tmp_path / "single_perceptron.png").is_file()


def test_lab_03_repeats_with_the_same_seed(run_lab_main):
    first = run_lab_main(LAB_03, "--seed", "5")
    second = run_lab_main(LAB_03, "--seed", "5")
    other = run_lab_main(LAB_03, "--seed", "6")
    np.testing.assert_array_equal(first["weights"], second["weights"])
    assert first["epochs"] == second["epochs"]
    assert not np.array_equal(first["weights"], other["weights"])


def test_lab_03_reports_when_the_budget_runs_out(run_lab_main, capsys):
    # The default seed needs more than one epoch, so one epoch is not enough.
    result = run_lab_main(LAB_03, "--epochs", "1")
    printed = capsys.readouterr().out
    assert not result["converged"] and result["epochs"] == 1
    assert printed.count("epoch:") == 1
    assert "Not finished" in printed
    assert "\nFinished" not in printed

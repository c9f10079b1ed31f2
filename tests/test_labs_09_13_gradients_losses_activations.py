"""Labs _09-_13: the worked numbers chapter 3 quotes, and every hand-written gradient against tf.GradientTape."""
import numpy as np
import pytest
import tensorflow as tf

from labtools import load_lab, same_worker

GRADIENT_DESCENT = "labs/_09_gradient_descent.py"
LOSSES = "labs/_10_loss_functions.py"
ACTIVATIONS = "labs/_11_activation_functions.py"
REGRESSION = "labs/_12_linear_regression.py"
CLASSIFICATION = "labs/_13_logistic_classification.py"


# --- _09 gradient descent ------------------------------------------------------------------

@pytest.fixture
def descent(lab_run):
    return lab_run(GRADIENT_DESCENT).result    # The run whose output chapter 3 quotes.


@same_worker(GRADIENT_DESCENT)
def test_automatic_differentiation_of_x_squared(descent):
    assert descent["derivative"] == pytest.approx(6.0)


@same_worker(GRADIENT_DESCENT)
def test_one_variable_iterates_are_the_worked_example(descent):
    points, costs = descent["one_variable"]
    assert points[0] == pytest.approx(1.2)
    np.testing.assert_allclose(points[1:], [0.48, 0.192, 0.0768], rtol=1e-9)
    np.testing.assert_allclose(costs[1:], [0.2304, 0.036864, 0.005898], atol=5e-7)
    assert costs[-1] < 0.01 <= costs[-2]          # Stopped at the first J below 0.01.


@same_worker(GRADIENT_DESCENT)
def test_two_variables_reach_the_worked_examples_point_in_16_steps(descent):
    points, costs = descent["two_variables"]
    assert len(points) == 17                      # The start and 16 steps.
    np.testing.assert_allclose(points[1], [2.4, 0.909070], atol=5e-7)
    assert costs[0] == pytest.approx(9.708073, abs=5e-7)
    assert costs[1] == pytest.approx(6.382415, abs=5e-7)
    np.testing.assert_allclose(points[15], [0.105553, 0.063481], atol=5e-7)
    assert costs[15] == pytest.approx(0.015166, abs=5e-7)
    np.testing.assert_allclose(points[16], [0.084442, 0.050819], atol=5e-7)
    assert costs[16] == pytest.approx(0.009711, abs=5e-7)


@same_worker(GRADIENT_DESCENT)
def test_each_step_is_minus_learning_rate_times_the_gradient(descent):
    lab = load_lab(GRADIENT_DESCENT)
    points, _ = descent["two_variables"]
    for before, after in zip(points[:-1], points[1:]):
        x, y = before
        expected = before - 0.1 * np.array([2 * x, 2 * np.sin(y) * np.cos(y)])   # The gradient of J(x, y) = x² + sin²(y).
        np.testing.assert_allclose(after, expected, rtol=1e-12)
    # And the lab's descent follows the tape on any cost.
    start = np.array([0.3, -0.7])
    points, _ = lab.descend(lab.two_valleys, start, 0.05, 1)
    with tf.GradientTape() as tape:
        point = tf.Variable(start)
        value = lab.two_valleys(point)
    np.testing.assert_allclose(points[1], start - 0.05 * tape.gradient(value, point).numpy(), rtol=1e-12)


def test_learning_rates_bounce_zigzag_arrive_and_crawl(tmp_path):
    lab = load_lab(GRADIENT_DESCENT)
    runs = {rate: lab.descend(lab.square, 1.2, rate, lab.MAX_STEPS) for rate in lab.COMPARED_RATES}
    bouncing, _ = runs[1.0]
    np.testing.assert_allclose(np.abs(bouncing), 1.2)                    # Between +1.2 and -1.2 forever.
    assert np.all(np.sign(bouncing[1:]) == -np.sign(bouncing[:-1]))
    zigzag, _ = runs[0.8]
    assert np.all(np.sign(zigzag[1:6]) == -np.sign(zigzag[:5]))          # Crosses the minimum every step...
    assert np.all(np.abs(zigzag[1:6]) < np.abs(zigzag[:5]))              # ...coming closer each time.
    crawl, _ = runs[0.1]
    assert np.all(crawl[1:13] > 0) and np.all(np.diff(crawl[:13]) < 0)  # From one side, slowly.
    steps = {rate: lab.steps_needed(costs, 0.01) for rate, (_, costs) in runs.items()}
    assert steps == {1.0: None, 0.8: 5, 0.4: 2, 0.1: 12}


@same_worker(GRADIENT_DESCENT)
def test_two_starts_end_in_the_global_and_the_local_minimum(descent):
    lab = load_lab(GRADIENT_DESCENT)
    ends = descent["valley_ends"]
    global_value = lab.two_valleys(tf.constant(ends["p1"])).numpy()
    local_value = lab.two_valleys(tf.constant(ends["p2"])).numpy()
    assert ends["p1"][0] < -0.9 and ends["p2"][0] > 0.9
    assert global_value < local_value
    for end in ends.values():                                            # Both are minima: flat there.
        point = tf.Variable(end)
        with tf.GradientTape() as tape:
            value = lab.two_valleys(point)
        assert np.linalg.norm(tape.gradient(value, point).numpy()) < 0.05


# --- _10 loss functions ----------------------------------------------------------------------

def test_loss_table_is_the_worked_example(run_lab_main):
    result = run_lab_main(LOSSES)
    (_, absolute_1, squared_1), (_, absolute_2, squared_2) = result["table"]
    assert (absolute_1, squared_1, absolute_2, squared_2) == (3, 5, 4, 8)


@pytest.mark.parametrize("logit", [-5.0, -2.0, 0.5, 3.0])
def test_sigmoid_output_gradients_match_their_formulas(logit):
    lab = load_lab(LOSSES)
    result = lab.gradients_at(logit)
    assert result["squared_error"] == pytest.approx(result["squared_error_formula"], rel=1e-9)
    assert result["cross_entropy"] == pytest.approx(result["cross_entropy_formula"], rel=1e-9)


def test_cross_entropy_keeps_its_gradient_when_confidently_wrong():
    lab = load_lab(LOSSES)
    result = lab.gradients_at(-5.0)
    assert abs(result["cross_entropy"]) > 0.99
    assert abs(result["squared_error"]) < 0.007
    assert abs(result["cross_entropy"]) > 100 * abs(result["squared_error"])


def test_each_loss_function_at_known_points():
    lab = load_lab(LOSSES)
    a = tf.constant([-1.0, 0.5, 2.0])
    one = tf.constant(1.0)
    np.testing.assert_allclose(lab.zero_one(one, a), [1, 0, 0])
    np.testing.assert_allclose(lab.absolute(one, a), [2, 0.5, 1])
    np.testing.assert_allclose(lab.hinge(one, a), [2, 0.5, 0])
    np.testing.assert_allclose(lab.squared(one, a), [4, 0.25, 1])
    np.testing.assert_allclose(lab.exponential(one, a), np.exp([1, -0.5, -2]), rtol=1e-6)
    np.testing.assert_allclose(lab.log_loss(1.0, tf.constant([0.5, 0.9])), -np.log([0.5, 0.9]), rtol=1e-6)


# --- _11 activation functions --------------------------------------------------------------------

def test_derivative_maxima_and_softmax(run_lab_main):
    result = run_lab_main(ACTIVATIONS)
    assert result["maxima"]["sigmoid"] == pytest.approx(0.25, abs=1e-6)
    assert result["maxima"]["tanh"] == pytest.approx(1.0, abs=1e-6)
    assert result["maxima"]["softsign"] == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(result["softmax"], [0.659, 0.242, 0.099], atol=5e-4)
    norms = result["gradient_norms"]
    sigmoid, relu, too_large = norms["sigmoid"], norms["ReLU"], norms["ReLU, weights x2"]
    assert sigmoid[0] / sigmoid[-1] < 1e-4                         # Vanishes on the way back.
    assert np.all(np.diff(sigmoid) > 0)
    assert 0.5 < relu[0] / relu[-1] < 2                            # Holds.
    assert too_large[0] / too_large[-1] > 100                      # Explodes.


def test_tape_derivatives_match_the_formulas():
    lab = load_lab(ACTIVATIONS)
    x = np.linspace(-4, 4, 81)
    checks = {
        "sigmoid": lambda y: y * (1 - y),
        "tanh": lambda y: 1 - y ** 2,
        "softsign": lambda y: (1 - np.abs(y)) ** 2,                # 1 / (1 + |x|)^2
        "linear": lambda y: np.ones_like(y),
    }
    for name, formula in checks.items():
        y, slope = lab.derivatives(lab.ACTIVATIONS[name], x)
        np.testing.assert_allclose(slope, formula(y), atol=1e-9, err_msg=name)
    away_from_zero = x[np.abs(x) > 1e-9]
    _, relu = lab.derivatives(lab.ACTIVATIONS["ReLU"], away_from_zero)
    np.testing.assert_allclose(relu, (away_from_zero > 0).astype(float))
    _, leaky = lab.derivatives(lab.ACTIVATIONS["leaky ReLU"], away_from_zero)
    np.testing.assert_allclose(leaky, np.where(away_from_zero > 0, 1.0, lab.LEAKY_SLOPE))
    for name in ("step", "sign"):
        _, slope = lab.derivatives(lab.ACTIVATIONS[name], x)
        assert np.all(slope == 0), name


def test_softmax_jacobian_is_diag_p_minus_p_p():
    lab = load_lab(ACTIVATIONS)
    probabilities, jacobian = lab.softmax_and_jacobian([2.0, 1.0, 0.1])
    np.testing.assert_allclose(jacobian, np.diag(probabilities) - np.outer(probabilities, probabilities),
                               atol=1e-12)


# --- _12 linear regression ---------------------------------------------------------------------------

@pytest.mark.parametrize("seed", ["1", "2", "3"])
def test_three_ways_agree_on_the_line(run_lab_main, seed):
    result = run_lab_main(REGRESSION, "--seed", seed)
    for name, difference in result["differences"].items():
        assert difference < 1e-3, name
    w, b = result["fits"]["least squares"]
    assert w == pytest.approx(2.0, abs=0.15) and b == pytest.approx(3.0, abs=0.1)
    np.testing.assert_allclose(result["hand_gradients"], result["tape_gradients"], rtol=1e-12)


def test_least_squares_is_the_minimum_of_the_loss():
    lab = load_lab(REGRESSION)
    x, y = lab.make_data(5)
    w, b = lab.least_squares(x, y)
    assert np.allclose([float(g) for g in lab.gradients(x, y, w, b)], 0, atol=1e-12)
    np.testing.assert_allclose([w, b], np.polyfit(x.numpy(), y.numpy(), 1), rtol=1e-10)


# --- _13 logistic classification ----------------------------------------------------------------------

def test_logistic_gradient_by_hand_equals_the_tape():
    lab = load_lab(CLASSIFICATION)
    X, Y = lab.make_data(4)
    W = tf.Variable([[0.3], [-0.8]], dtype=tf.float64)
    b = tf.Variable([0.2], dtype=tf.float64)
    with tf.GradientTape() as tape:
        loss = lab.cross_entropy(X, Y, W, b)
    tape_W, tape_b = tape.gradient(loss, [W, b])
    hand_W, hand_b = lab.gradients(X, Y, W, b)
    np.testing.assert_allclose(hand_W, tape_W, rtol=1e-10)
    np.testing.assert_allclose(hand_b, tape_b, rtol=1e-10)


@pytest.mark.parametrize("seed", ["1", "2", "3"])
def test_classifier_learns_and_perceptron_reaches_zero_errors(run_lab_main, seed):
    result = run_lab_main(CLASSIFICATION, "--seed", seed)
    assert result["accuracy"] >= 0.9
    assert result["losses"][-1] < result["losses"][0] < np.log(2)
    errors = result["perceptron_errors"]
    assert errors[-1] == 0 and len(errors) <= 1_000
    lab = load_lab(CLASSIFICATION)
    np.testing.assert_array_equal(result["perceptron_outputs"], lab.TRUTH_TARGETS.ravel())

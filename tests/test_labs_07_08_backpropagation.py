"""Labs _07 and _08: hand-derived backpropagation proven against GradientTape, and training that works."""
import pytest
import tensorflow as tf

from labtools import assert_steps_are_gradient_steps, load_lab

LAB_07 = "labs/_07_bp_xor.py"
LAB_08 = "labs/_08_quadratic_regression.py"
SEEDS = [1, 2, 3]  # The default seed and two others.


def test_hand_derived_steps_equal_minus_lr_times_the_gradient():
    lab = load_lab(LAB_07)
    tf.random.set_seed(123)
    X = tf.constant(lab.INPUTS, tf.float64)
    T = tf.constant(lab.TARGETS, tf.float64)
    params = lab.init_params(2, 10, 1, dtype=tf.float64)
    # Non-zero biases, so their formulas are tested too.
    params["b1"].assign(tf.random.normal((10,), dtype=tf.float64))
    params["b2"].assign(tf.random.normal((1,), dtype=tf.float64))
    learning_rate = 0.1
    steps = lab.weight_steps(X, T, params, tf.constant(learning_rate, tf.float64))
    with tf.GradientTape() as tape:
        current_loss = lab.loss(T, lab.forward(X, params)[1])
    gradients = tape.gradient(current_loss, params)
    assert set(gradients) == {"W1", "b1", "W2", "b2"}
    assert_steps_are_gradient_steps(steps, gradients, learning_rate)


@pytest.mark.parametrize("seed", SEEDS)
def test_bp_xor_learns_xor(run_lab_main, seed, capsys):
    result = run_lab_main(LAB_07, "--seed", str(seed))
    assert result["loss"] < 1e-3
    assert result["predictions"] == [0, 1, 1, 0]
    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epochs ")]
    # Every 5,000 epochs from 0 to 100,000, like the tutorial.
    assert [int(line.split()[1]) for line in printed] == list(range(0, 100_001, 5_000))
    assert float(printed[-1].split()[3]) == pytest.approx(result["loss"], rel=1e-6)


@pytest.mark.parametrize("seed", SEEDS)
def test_quadratic_regression_fits_the_curve(run_lab_main, seed):
    result = run_lab_main(LAB_08, "--seed", str(seed))
    assert result["steps"] == 1000
    assert result["mse"] < 0.01


def test_quadratic_regression_with_tanh(run_lab_main):
    assert run_lab_main(LAB_08, "--activation", "tanh")["mse"] < 0.01


def test_quadratic_regression_noise_flag_sets_the_data_and_the_floor(run_lab_main, capsys):
    # --noise-stddev mirrors NOISE_STDDEV, so exercise 4.3 needs no edit of the lab.
    lab = load_lab(LAB_08)
    tf.random.set_seed(5)
    x, t = lab.make_data(0.1)
    assert x.shape == t.shape == (lab.NUM_POINTS, 1)
    assert float(tf.math.reduce_std(t - (tf.square(x) - 0.5))) == pytest.approx(0.1, rel=0.15)
    result = run_lab_main(LAB_08, "--noise-stddev", "0.1", "--smoke")
    assert "(noise floor 0.0100)" in capsys.readouterr().out
    assert result["steps"] == lab.SMOKE_STEPS


@pytest.mark.parametrize("value", ["0", "-0.1", "loud"])
def test_quadratic_regression_rejects_a_noise_that_is_not_above_0(value, capsys):
    lab = load_lab(LAB_08)
    from common import cli
    with pytest.raises(SystemExit) as stopped:
        cli.parse_args(lab.__doc__, ["--noise-stddev", value], lab.add_arguments, lab.__file__)
    assert stopped.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1

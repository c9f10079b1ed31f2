"""Quadratic regression: a small network learns the curve x^2 - 0.5 from noisy points.

You will learn:
- regression: the network outputs a number y, not a class, and is trained to
  make the mean squared error between its outputs y and the targets t small
- a 1-20-1 network (ReLU hidden layer, linear output) trained by plain
  gradient descent, with the gradients from tf.GradientTape
- how the hidden activation shapes the fit: ReLU's is made of straight
  pieces, tanh's and sigmoid's are smooth

300 points x evenly spread over [-1, 1], targets t = x^2 - 0.5 plus Gaussian
noise with standard deviation 0.05 (--noise-stddev), so no fit can get the
mean squared error much below 0.05^2 = 0.0025. Weights start normally
distributed, biases at 0.1; learning rate 0.1, 1,000 steps.

Run:      python labs/_08_quadratic_regression.py
Expected: the loss every 50 steps, ending below 0.01 (close to the 0.0025
          noise floor); quadratic_regression.png with the points and the
          fitted curve.
Try:      --activation tanh for a smooth curve; --hidden-units 5 to see
          ReLU's straight pieces; --activation sigmoid, which learns slowest
          with this learning rate; --noise-stddev 0.1 for twice the noise.
"""
from common import cli, graph, plotting  # Before TensorFlow: it starts TensorFlow quietly.
import matplotlib.pyplot as plt  # After common.plotting, which picks the backend.
import tensorflow as tf

NUM_POINTS = 300
NOISE_STDDEV = 0.05
HIDDEN_UNITS = 20
LEARNING_RATE = 0.1
NUM_STEPS = 1_000
PRINT_EVERY = 50
SMOKE_STEPS = 100
ACTIVATIONS = {"relu": tf.nn.relu, "tanh": tf.tanh, "sigmoid": tf.sigmoid}
FIGURES = ("quadratic_regression.png",)


def add_arguments(parser):
    parser.add_argument("--activation", choices=sorted(ACTIVATIONS), default="relu",
                        help="the hidden layer's activation (default: relu)")
    cli.add_learning_rate(parser, LEARNING_RATE, "the gradient descent step size")
    cli.add_epochs(parser, NUM_STEPS, "how many gradient descent steps", flag="--steps")
    parser.add_argument("--hidden-units", type=cli.positive_int, default=HIDDEN_UNITS,
                        help=f"neurons in the hidden layer (default: {HIDDEN_UNITS})")
    parser.add_argument("--noise-stddev", type=cli.positive_float, default=NOISE_STDDEV,
                        help=f"standard deviation of the noise added to the targets (default: {NOISE_STDDEV})")


def make_data(noise_stddev: float = NOISE_STDDEV):
    """x evenly spread over [-1, 1] as a column, and the targets t: x^2 - 0.5 plus noise."""
    x = tf.reshape(tf.linspace(-1.0, 1.0, NUM_POINTS), (-1, 1))           # (300, 1)
    t = tf.square(x) - 0.5 + tf.random.normal(tf.shape(x), stddev=noise_stddev)
    return x, t


def init_params(num_hidden) -> dict:
    return {
        "W1": tf.Variable(tf.random.normal((1, num_hidden))),   # (1, 20)
        "b1": tf.Variable(tf.fill((num_hidden,), 0.1)),         # (20,)
        "W2": tf.Variable(tf.random.normal((num_hidden, 1))),   # (20, 1)
        "b2": tf.Variable(tf.fill((1,), 0.1)),                  # (1,)
    }


def predict(x, params, activation):
    """The network's output y for each x."""
    hidden = activation(x @ params["W1"] + params["b1"])   # (N, 20)
    return hidden @ params["W2"] + params["b2"]             # (N, 1), a linear output


def make_trainer(activation):
    """A compiled function running ``num_steps`` gradient descent steps for this activation."""

    @graph.xla_function
    def train_steps(x, t, params, learning_rate, num_steps):
        variables = list(params.values())
        for _ in tf.range(num_steps):
            with tf.GradientTape() as tape:
                mse = tf.reduce_mean(tf.square(t - predict(x, params, activation)))   # the cost J
            gradients = tape.gradient(mse, variables)
            for variable, gradient in zip(variables, gradients):
                variable.assign_sub(learning_rate * gradient)     # plain gradient descent
        return tf.reduce_mean(tf.square(t - predict(x, params, activation)))

    return train_steps


def draw(out_dir, x, t, fitted, activation_name, num_hidden, mse):
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.scatter(x, t, s=10, color="tab:blue", alpha=0.6, label="noisy data")
    ax.plot(x, x ** 2 - 0.5, color="0.5", linestyle="--", label="$y = x^2 - 0.5$")
    ax.plot(x, fitted, color="tab:red", linewidth=2, label=f"network ({activation_name})")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(f"1-{num_hidden}-1 network, {activation_name} hidden layer: MSE {mse:.4f}")
    ax.legend(loc="upper center")
    return plotting.save_figure(fig, out_dir, FIGURES[0])


def main(args) -> dict:
    x, t = make_data(args.noise_stddev)
    params = init_params(args.hidden_units)
    activation = ACTIVATIONS[args.activation]
    train_steps = make_trainer(activation)
    learning_rate = tf.constant(args.learning_rate)
    steps = min(args.steps, SMOKE_STEPS) if args.smoke else args.steps
    done = 0
    mse = float("nan")
    while done < steps:
        chunk = min(PRINT_EVERY, steps - done)
        mse = float(train_steps(x, t, params, learning_rate, tf.constant(chunk)))
        done += chunk
        print(f"step {done:4d} loss {mse:.6f}")
    fitted = predict(x, params, activation).numpy()
    print(f"final mean squared error: {mse:.6f} (noise floor {args.noise_stddev ** 2:.4f})")
    draw(args.out, x.numpy().ravel(), t.numpy().ravel(), fitted.ravel(), args.activation,
         args.hidden_units, mse)
    return {"mse": mse, "steps": done}


if __name__ == "__main__":
    cli.run_lab(main, __doc__, add_arguments)

"""Backpropagation by hand: a 2-10-1 sigmoid network learns XOR.

You will learn:
- the forward pass (computing the outputs from the inputs) of a network with
  one hidden layer, in matrix form; 2-10-1 gives the layer sizes: 2 inputs,
  10 hidden neurons, 1 output
- backpropagation written out: the output layer's delta, the hidden layer's
  delta passed back through the weights, and the weight and bias steps that
  follow from them (chapter 3's formulas (3.2)-(3.7))
- what 100,001 epochs of plain gradient descent look like, and why they run
  in a second: the whole loop is one compiled TensorFlow graph

Inputs (0,0), (0,1), (1,0), (1,1) with targets 0, 1, 1, 0; weights start
uniform in [0, 1), biases at 0; learning rate 0.1; every epoch uses all four
samples. The cost J is half the mean squared error, (1/2N) sum (t - y)^2.

Run:      python labs/_07_bp_xor.py
Expected: "epochs N loss L" every 5,000 epochs, the loss falling below 0.001;
          then the four outputs (near 0, 1, 1, 0) and the predictions 0 1 1 0;
          bp_xor.png with the loss curve and the network's output over the plane.
Try:      --hidden-units 2 (still enough for XOR); --hidden-units 1 (one
          hidden neuron cannot do it: the loss stalls with one point wrong);
          --learning-rate 1 (much faster, here).
"""
from common import cli, graph, plotting  # Before TensorFlow: it starts TensorFlow quietly.
import matplotlib.pyplot as plt  # After common.plotting, which picks the backend.
import numpy as np
import tensorflow as tf

HIDDEN_UNITS = 10
LEARNING_RATE = 0.1
NUM_EPOCHS = 100_001     # epochs 0 to 100,000
PRINT_EVERY = 5_000
RECORD_EVERY = 500       # one point of the loss curve per 500 epochs
SMOKE_EPOCHS = 2_001
FIGURES = ("bp_xor.png",)

INPUTS = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
TARGETS = [[0.0], [1.0], [1.0], [0.0]]


def add_arguments(parser):
    cli.add_learning_rate(parser, LEARNING_RATE)
    cli.add_epochs(parser, NUM_EPOCHS)
    parser.add_argument("--hidden-units", type=cli.positive_int, default=HIDDEN_UNITS,
                        help=f"neurons in the hidden layer (default: {HIDDEN_UNITS})")


def init_params(num_inputs, num_hidden, num_outputs, dtype=tf.float32) -> dict:
    """Weights uniform in [0, 1) and zero biases, as tf.Variables."""
    return {
        "W1": tf.Variable(tf.random.uniform((num_inputs, num_hidden), dtype=dtype)),   # (2, 10)
        "b1": tf.Variable(tf.zeros((num_hidden,), dtype=dtype)),                      # (10,)
        "W2": tf.Variable(tf.random.uniform((num_hidden, num_outputs), dtype=dtype)),  # (10, 1)
        "b2": tf.Variable(tf.zeros((num_outputs,), dtype=dtype)),                     # (1,)
    }


def forward(X, params):
    """Formula (3.2): L1 = f(Z1), Z1 = X W1 + b1; Y = f(Z2), Z2 = L1 W2 + b2; f the sigmoid."""
    L1 = tf.sigmoid(X @ params["W1"] + params["b1"])     # (N, 10)
    Y = tf.sigmoid(L1 @ params["W2"] + params["b2"])     # (N, 1)
    return L1, Y


def loss(T, Y):
    """Formula (3.3): J = mean((T - Y)^2) / 2, half the mean squared error."""
    return tf.reduce_mean(tf.square(T - Y)) / 2


def weight_steps(X, T, params, learning_rate) -> dict:
    """The backpropagation steps for every parameter, from formulas (3.4)-(3.7).

    The sigmoid's derivative is f'(z) = f(z) * (1 - f(z)), so it comes from
    the layer's output without recomputing z. Each delta is -N dJ/dZ of its
    layer, so every step below is -learning_rate * dJ/d(parameter).
    """
    N = tf.cast(tf.shape(X)[0], X.dtype)
    L1, Y = forward(X, params)
    delta_2 = (T - Y) * Y * (1 - Y)                                 # (N, 1),  formula (3.4)
    delta_1 = (delta_2 @ tf.transpose(params["W2"])) * L1 * (1 - L1)  # (N, 10), formula (3.5)
    return {
        "W2": learning_rate * tf.transpose(L1) @ delta_2 / N,         # (10, 1), formula (3.6)
        "W1": learning_rate * tf.transpose(X) @ delta_1 / N,          # (2, 10), formula (3.6)
        "b2": learning_rate * tf.reduce_mean(delta_2, axis=0),        # (1,),    formula (3.7)
        "b1": learning_rate * tf.reduce_mean(delta_1, axis=0),        # (10,),   formula (3.7)
    }


@graph.xla_function
def train_epochs(X, T, params, learning_rate, num_epochs):
    """Run ``num_epochs`` full-batch epochs; return the loss after them."""
    for _ in tf.range(num_epochs):
        steps = weight_steps(X, T, params, learning_rate)
        for name, step in steps.items():
            params[name].assign_add(step)
    return loss(T, forward(X, params)[1])


def train(X, T, params, learning_rate, num_epochs, report=print) -> list:
    """Train for ``num_epochs``; report "epochs N loss L" every PRINT_EVERY; return (epoch, loss) pairs.

    Epochs are numbered from 0: "epochs 0" is the loss after the first
    update.
    """
    rate = tf.constant(learning_rate, X.dtype)
    curve = []
    done = 0
    while done < num_epochs:
        chunk = 1 if done == 0 else min(RECORD_EVERY, num_epochs - done)
        current = float(train_epochs(X, T, params, rate, tf.constant(chunk)))
        done += chunk
        epoch = done - 1
        curve.append((epoch, current))
        if epoch % PRINT_EVERY == 0 or done == num_epochs:
            report(f"epochs {epoch} loss {current:.8g}")
    return curve


def draw(out_dir, curve, params):
    fig, (ax_loss, ax_output) = plt.subplots(1, 2, figsize=(11, 4.5))
    epochs, losses = zip(*curve)
    ax_loss.semilogy(epochs, losses, color="tab:red")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("loss J = MSE / 2 (log scale)")
    ax_loss.set_title("Training loss")
    ax_loss.grid(True, which="both", alpha=0.3)

    grid = np.linspace(-0.5, 1.5, 200, dtype=np.float32)
    x1, x2 = np.meshgrid(grid, grid)
    plane = tf.constant(np.stack([x1.ravel(), x2.ravel()], axis=1))
    output = forward(plane, params)[1].numpy().reshape(x1.shape)
    image = ax_output.contourf(x1, x2, output, levels=np.linspace(0, 1, 11), cmap="coolwarm")
    ax_output.contour(x1, x2, output, levels=[0.5], colors="black", linewidths=2)
    fig.colorbar(image, ax=ax_output, label="network output")
    plotting.plot_two_classes(ax_output, INPUTS, np.where(np.array(TARGETS) > 0.5, 1, -1),
                              names=("target 1", "target 0"))
    ax_output.set_title("Output over the plane (black: 0.5)")
    ax_output.legend(loc="upper right")
    return plotting.save_figure(fig, out_dir, FIGURES[0])


def main(args) -> dict:
    X = tf.constant(INPUTS)      # (4, 2)
    T = tf.constant(TARGETS)     # (4, 1)
    params = init_params(2, args.hidden_units, 1)
    epochs = min(args.epochs, SMOKE_EPOCHS) if args.smoke else args.epochs
    curve = train(X, T, params, args.learning_rate, epochs)
    outputs = forward(X, params)[1].numpy()
    predictions = (outputs.reshape(-1) > 0.5).astype(int)
    print("outputs:")
    print(outputs)
    print("predictions:", " ".join(str(p) for p in predictions))
    draw(args.out, curve, params)
    return {"loss": curve[-1][1], "outputs": outputs.reshape(-1), "predictions": predictions.tolist(),
            "curve": curve}


if __name__ == "__main__":
    cli.run_lab(main, __doc__, add_arguments)

"""Activation functions and their derivatives, and why deep sigmoid networks stop learning.

You will learn:
- nine activations (sigmoid, tanh, softsign, ReLU, leaky ReLU, step, sign,
  linear, softmax) and their derivatives, all taken by tf.GradientTape
- the largest derivative of each S-shaped function: sigmoid 0.25, tanh and
  softsign 1; backpropagation multiplies by the activation's derivative at
  every layer
- softmax turns scores into probabilities: [2.0, 1.0, 0.1] -> [0.659, 0.242, 0.099]
- vanishing and exploding gradients: the gradient at each layer of a deep
  network, with sigmoid (it shrinks layer after layer), with ReLU (it holds),
  and with ReLU and weights twice too large (it grows)

Run:      python labs/_11_activation_functions.py
Expected: the derivative maxima, the softmax values, a table of gradient
          norms (sizes) per layer for the three deep networks, activation_functions.png
          and gradient_flow.png.
Try:      --depth 30: the sigmoid network's first layers get almost nothing.
"""
from common import cli, plotting  # Before TensorFlow: it starts TensorFlow quietly.
import matplotlib.pyplot as plt  # After common.plotting, which picks the backend.
import numpy as np
import tensorflow as tf

LEAKY_SLOPE = 0.1
SOFTMAX_SCORES = [2.0, 1.0, 0.1]
DEPTH = 10                   # Hidden layers of the deep networks.
WIDTH = 64
BATCH = 256
FIGURES = ("activation_functions.png", "gradient_flow.png")

ACTIVATIONS = {
    "sigmoid": tf.sigmoid,
    "tanh": tf.tanh,
    "softsign": tf.nn.softsign,
    "ReLU": tf.nn.relu,
    "leaky ReLU": lambda x: tf.nn.leaky_relu(x, alpha=LEAKY_SLOPE),
    # The step and sign functions are flat everywhere but at 0, where they
    # jump: their derivative is 0 wherever it exists, which is why the
    # perceptron learns by its own rule instead of by gradients.
    "step": lambda x: tf.cast(x > 0, x.dtype),
    "sign": tf.sign,
    "linear": tf.identity,
}


def add_arguments(parser):
    parser.add_argument("--depth", type=cli.positive_int, default=DEPTH,
                        help=f"hidden layers of the deep networks (default: {DEPTH})")


def derivatives(function, x):
    """function(x) and its derivative at every x, elementwise, from tf.GradientTape."""
    x = tf.Variable(x)
    with tf.GradientTape() as tape:
        y = function(x)
    gradient = tape.gradient(y, x)
    # A function that does not depend on x differentiably (step, sign) gets no gradient: 0.
    return y.numpy(), (tf.zeros_like(x) if gradient is None else gradient).numpy()


def softmax_and_jacobian(scores):
    """softmax(scores) and its Jacobian d softmax_i / d score_j (tape.jacobian)."""
    scores = tf.Variable(scores, dtype=tf.float64)
    with tf.GradientTape() as tape:
        probabilities = tf.nn.softmax(scores)
    return probabilities.numpy(), tape.jacobian(probabilities, scores).numpy()


# --- Gradients through a deep network ----------------------------------------------

def layer_gradient_norms(activation, depth: int, weight_scale: float, seed: int):
    """The size of the learning signal at each layer of a deep network, first layer first.

    The learning signal of layer l is dJ/dZ_l, the gradient of the cost with
    respect to the layer's weighted sum Z_l, the input to its activation
    (chapter 3's lab _07 works with delta_l = -N dJ/dZ_l, formulas (3.4) and
    (3.5)); its weights' gradient is (inputs)^T dJ/dZ_l. Going back one layer
    multiplies it by that layer's weights and by the activation's derivative.

    Weights are drawn from a normal distribution with mean 0 and variance
    weight_scale^2 / fan_in: scale 1 is Glorot's (Xavier's) for sigmoid, here
    where fan_in = fan_out, and sqrt(2) is He's for ReLU. The cost J is the
    mean squared error against random targets; only how the signal changes
    from layer to layer matters.
    """
    rng = tf.random.Generator.from_seed(seed)
    x = rng.normal((BATCH, WIDTH))
    targets = rng.normal((BATCH, 1))
    weights = [rng.normal((WIDTH, WIDTH)) * weight_scale / np.sqrt(WIDTH) for _ in range(depth)]
    output_weights = rng.normal((WIDTH, 1)) / np.sqrt(WIDTH)
    with tf.GradientTape() as tape:
        hidden, inputs_to_activation = x, []
        for kernel in weights:
            z = hidden @ kernel
            tape.watch(z)
            inputs_to_activation.append(z)
            hidden = activation(z)
        loss = tf.reduce_mean(tf.square(hidden @ output_weights - targets))
    # The norm in float64: squaring float32 values below about 1e-19 gives 0, and a signal that is
    # tiny but not zero would print as none at all.
    return np.array([np.linalg.norm(delta.numpy().astype(np.float64))
                     for delta in tape.gradient(loss, inputs_to_activation)])


def draw_activations(out_dir):
    x = np.linspace(-4, 4, 801).astype(np.float32)
    fig, axes = plt.subplots(3, 3, figsize=(11, 9))
    for ax, (name, function) in zip(axes.flat, ACTIVATIONS.items()):
        y, slope = derivatives(function, x)
        ax.plot(x, y, label=name)
        ax.plot(x, slope, "--", label="derivative")
        ax.set_title(name)
        ax.axhline(0, color="0.8", linewidth=0.8)
        ax.legend(fontsize=8)
    # Softmax works on a vector: how the first probability and its slope move
    # as the first score varies, the others held at 1.0 and 0.1.
    ax = axes.flat[8]
    scores = np.stack([x, np.full_like(x, 1.0), np.full_like(x, 0.1)], axis=1)
    variable = tf.Variable(scores)
    with tf.GradientTape() as tape:
        first = tf.nn.softmax(variable)[:, 0]
    ax.plot(x, first.numpy(), label="softmax, first output")
    ax.plot(x, tape.gradient(first, variable).numpy()[:, 0], "--", label="derivative")
    ax.set_title("softmax (scores [x, 1.0, 0.1])")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return plotting.save_figure(fig, out_dir, FIGURES[0])


def draw_gradient_flow(out_dir, norms: dict):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, values in norms.items():
        ax.semilogy(range(1, len(values) + 1), values, "o-", label=name)
    ax.set(xlabel="layer (1 = next to the input)", ylabel="norm of the learning signal dJ/dz (log scale)",
           title="The learning signal reaching each layer of a deep network")
    ax.legend()
    return plotting.save_figure(fig, out_dir, FIGURES[1])


def main(args) -> dict:
    x = np.linspace(-6, 6, 12_001)
    print("Largest derivative of each S-shaped activation (tf.GradientTape on [-6, 6]):")
    maxima = {}
    for name in ("sigmoid", "tanh", "softsign"):
        _, slope = derivatives(ACTIVATIONS[name], x)
        maxima[name] = float(slope.max())
        print(f"{name:9s} {maxima[name]:.4f} at x = {x[np.argmax(slope)]:g}")

    probabilities, jacobian = softmax_and_jacobian(SOFTMAX_SCORES)
    print(f"\nsoftmax({SOFTMAX_SCORES}) = [{', '.join(f'{p:.3f}' for p in probabilities)}] "
          f"(sum {probabilities.sum():.3f})")
    print(f"d softmax_0 / d score_0 = p0 (1 - p0) = {jacobian[0, 0]:.4f}")
    draw_activations(args.out)

    networks = {"sigmoid": (tf.sigmoid, 1.0), "ReLU": (tf.nn.relu, np.sqrt(2.0)),
                "ReLU, weights x2": (tf.nn.relu, 2 * np.sqrt(2.0))}
    norms = {name: layer_gradient_norms(activation, args.depth, scale, args.seed)
             for name, (activation, scale) in networks.items()}
    print(f"\nLearning signal |dJ/dz| at each layer of a {args.depth}-layer network ({WIDTH} units wide):")
    print(f"{'layer':>5s} " + " ".join(f"{name:>17s}" for name in norms))
    for layer in range(args.depth):
        print(f"{layer + 1:5d} " + " ".join(f"{values[layer]:17.3e}" for values in norms.values()))
    for name, values in norms.items():
        print(f"{name}: the first layer gets {values[0] / values[-1]:.2g} times the last layer's signal")
    draw_gradient_flow(args.out, norms)
    return {"maxima": maxima, "softmax": probabilities, "gradient_norms": norms}


if __name__ == "__main__":
    cli.run_lab(main, __doc__, add_arguments)

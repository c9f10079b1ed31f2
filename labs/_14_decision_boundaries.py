"""Decision boundaries: what the activation function and the depth do to the shapes a network can draw.

You will learn:
- a network with ReLU hidden layers cuts the plane with straight lines: its
  boundary is made of straight pieces, while tanh's is smooth
- more hidden layers combine more pieces into more complicated shapes
- the same in one dimension: a regression curve from tanh, a broken line from ReLU

The data: two classes that no line separates, a disc of points inside a
ring, and for the regression targets t = sin(2x) on [-2, 2] plus noise.
Each network has 6 neurons per hidden layer and is trained by Adam
(gradient descent that divides each weight's step by the size of its
recent gradients; lab _15 explains it) on the whole data set at once, with the
same seed. They compute in float64: in float32 the last printed digits
after 1,500 steps depend on the processor's instructions (AVX2 or AVX-512
add the same sums in other orders).

Run:      python labs/_14_decision_boundaries.py
Expected: the accuracy of each of the four classifiers (all above 95%) and
          the error of the two regressions, next to that of the true curve
          sin(2x) itself; decision_boundaries.png and regression_curves.png.
Try:      --hidden-units 3 and see the ReLU network's corners; --hidden-units 20.
"""
from common import cli, graph, plotting  # Before TensorFlow: it starts TensorFlow quietly.
import matplotlib.pyplot as plt  # After common.plotting, which picks the backend.
import keras
import numpy as np
import tensorflow as tf

POINTS_PER_CLASS = 200
HIDDEN_UNITS = 6
DEPTHS = (2, 4)
ACTIVATION_NAMES = ("tanh", "relu")
LEARNING_RATE = 0.02
NUM_STEPS = 1_500
REGRESSION_POINTS = 120
REGRESSION_NOISE = 0.1
DTYPE = "float64"
FIGURES = ("decision_boundaries.png", "regression_curves.png")


def add_arguments(parser):
    parser.add_argument("--hidden-units", type=cli.positive_int, default=HIDDEN_UNITS,
                        help=f"neurons in each hidden layer (default: {HIDDEN_UNITS})")
    cli.add_epochs(parser, NUM_STEPS, "full-batch Adam steps per network", flag="--steps")


def make_rings(seed: int):
    """Class 0: a disc of radius 1; class 1: a ring from radius 1.6 to 2.4. Returns (points, labels)."""
    rng = np.random.default_rng(seed)
    radius = np.concatenate([rng.uniform(0.0, 1.0, POINTS_PER_CLASS), rng.uniform(1.6, 2.4, POINTS_PER_CLASS)])
    angle = rng.uniform(0, 2 * np.pi, 2 * POINTS_PER_CLASS)
    points = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1).astype(DTYPE)
    labels = np.repeat([0.0, 1.0], POINTS_PER_CLASS).astype(DTYPE).reshape(-1, 1)
    return points, labels


def make_curve(seed: int):
    rng = np.random.default_rng(seed + 1)
    x = np.sort(rng.uniform(-2, 2, REGRESSION_POINTS)).astype(DTYPE).reshape(-1, 1)
    y = (np.sin(2 * x) + rng.normal(0, REGRESSION_NOISE, x.shape)).astype(DTYPE)
    return x, y


def build(inputs: int, depth: int, units: int, activation: str, seed: int):
    """``depth`` hidden layers of ``units`` neurons, one linear output (a logit or a value)."""
    glorot = keras.initializers.GlorotUniform(seed=seed)

    def initializer(shape, dtype=None):  # Glorot's float32 draws, so the start does not depend on DTYPE
        return tf.cast(glorot(shape, "float32"), DTYPE)

    layers = [keras.Input(shape=(inputs,), dtype=DTYPE)]
    layers += [keras.layers.Dense(units, activation=activation, kernel_initializer=initializer, dtype=DTYPE)
               for _ in range(depth)]
    layers.append(keras.layers.Dense(1, kernel_initializer=initializer, dtype=DTYPE))
    return keras.Sequential(layers)


def train(model, x, y, loss, steps: int):
    run = graph.step_runner(model, loss, keras.optimizers.Adam(LEARNING_RATE))
    return float(run(tf.constant(x), tf.constant(y), tf.constant(steps)))


def classification_loss(y, logits):
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits))


def mean_squared_error(y, predicted):
    return tf.reduce_mean(tf.square(predicted - y))


def draw_boundaries(out_dir, points, labels, models: dict):
    fig, axes = plt.subplots(len(DEPTHS), len(ACTIVATION_NAMES), figsize=(9, 8.5))
    grid_x, grid_y = np.meshgrid(np.linspace(-3, 3, 300), np.linspace(-3, 3, 300))
    grid = np.stack([grid_x.ravel(), grid_y.ravel()], axis=1).astype(DTYPE)
    for (activation, depth), (model, accuracy) in models.items():
        ax = axes[DEPTHS.index(depth), ACTIVATION_NAMES.index(activation)]
        scores = model(grid).numpy().reshape(grid_x.shape)
        ax.contourf(grid_x, grid_y, scores > 0, levels=[-0.5, 0.5, 1.5], colors=["#c6dbef", "#fdd0a2"])
        ax.contour(grid_x, grid_y, scores, levels=[0], colors="black", linewidths=1.2)
        ax.scatter(*points[labels.ravel() == 0].T, s=6, color="tab:blue")
        ax.scatter(*points[labels.ravel() == 1].T, s=6, color="tab:orange")
        ax.set(title=f"{activation}, {depth} hidden layers: {accuracy:.1%}", xticks=[], yticks=[], aspect="equal")
    fig.suptitle("Decision boundaries: ReLU draws straight pieces, tanh smooth curves")
    fig.tight_layout()
    return plotting.save_figure(fig, out_dir, FIGURES[0])


def draw_curves(out_dir, x, y, curves: dict):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.scatter(x, y, s=10, color="0.6", label="data")
    grid = np.linspace(-2.2, 2.2, 400, dtype=DTYPE).reshape(-1, 1)
    for name, (model, error) in curves.items():
        ax.plot(grid, model(grid).numpy(), linewidth=2, label=f"{name}: MSE {error:.4f}")
    ax.set(xlabel="x", ylabel="y", title="Regression: tanh bends, ReLU breaks into straight pieces")
    ax.legend(loc="lower left")
    return plotting.save_figure(fig, out_dir, FIGURES[1])


def main(args) -> dict:
    steps = min(args.steps, 100) if args.smoke else args.steps
    points, labels = make_rings(args.seed)
    print(f"Classifying a disc inside a ring: {len(points)} points, {args.hidden_units} neurons per hidden layer")
    classifiers, accuracies = {}, {}
    for depth in DEPTHS:
        for activation in ACTIVATION_NAMES:
            model = build(2, depth, args.hidden_units, activation, args.seed)
            loss = train(model, points, labels, classification_loss, steps)
            scores = model(points).numpy()
            accuracy = float(np.mean((scores > 0) == (labels > 0.5)))
            classifiers[(activation, depth)] = (model, accuracy)
            accuracies[f"{activation}, {depth} layers"] = accuracy
            print(f"{activation:4s}, {depth} hidden layers: loss {loss:.4f}, accuracy {accuracy:.1%}")
    draw_boundaries(args.out, points, labels, classifiers)

    x, y = make_curve(args.seed)
    print(f"\nRegression of t = sin(2x) + noise (noise variance {REGRESSION_NOISE ** 2:.4f}), 2 hidden layers:")
    curves, errors = {}, {}
    for activation in ACTIVATION_NAMES:
        model = build(1, 2, args.hidden_units, activation, args.seed)
        train(model, x, y, mean_squared_error, steps)
        error = float(np.mean((model(x).numpy() - y) ** 2))
        curves[activation] = (model, error)
        errors[activation] = error
        print(f"{activation:4s}: mean squared error {error:.4f}")
    true_error = float(np.mean((np.sin(2 * x) - y) ** 2))  # Below it, a fit follows the noise of these points.
    print(f"the true curve sin(2x) itself: mean squared error {true_error:.4f}")
    draw_curves(args.out, x, y, curves)
    return {"accuracies": accuracies, "regression_errors": errors, "true_curve_error": true_error,
            "models": {key: model for key, (model, _) in classifiers.items()},
            "curves": {key: model for key, (model, _) in curves.items()}}


if __name__ == "__main__":
    cli.run_lab(main, __doc__, add_arguments)

"""Gradient descent, step by step: derivatives from tf.GradientTape, then walking downhill.

You will learn:
- automatic differentiation: TensorFlow records the computation and gives
  the derivative, here dJ/dw of J = w^2 at w = 3
- the update rule w <- w - learning_rate * dJ/dw (chapter 3's formula (3.1)),
  in one variable and in two
- what the learning rate does: too large bounces or zig-zags, too small crawls
- why the starting point matters: on a surface with two valleys, two
  starts can end in different minima (a local and the global one)

The worked examples: J(w) = w^2 from w = 1.2 with a learning rate of 0.3,
and J(w1, w2) = w1^2 + sin^2(w2) from (3, 1) with 0.1, both stopping when
J < 0.01. The variables are called w because gradient descent moves weights.

Run:      python labs/_09_gradient_descent.py
Expected: dJ/dw = 6 at w = 3; w = 0.48, 0.192, 0.0768 (J = 0.005898);
          16 steps to (0.084442, 0.050819) with J = 0.009711; the step
          counts of four learning rates; two starts ending in two minima;
          four figures.
Try:      --learning-rate 0.9 and watch J = w^2 zig-zag; --learning-rate 0.05.
"""
from common import cli, plotting  # Before TensorFlow: it starts TensorFlow quietly.
import matplotlib.pyplot as plt  # After common.plotting, which picks the backend.
import numpy as np
import tensorflow as tf

STOP_BELOW = 0.01            # Stop condition: J < 0.01.
ONE_VARIABLE_START = 1.2
ONE_VARIABLE_RATE = 0.3
TWO_VARIABLE_START = (3.0, 1.0)
TWO_VARIABLE_RATE = 0.1
COMPARED_RATES = (1.0, 0.8, 0.4, 0.1)
MAX_STEPS = 100              # Where a learning rate that never arrives is stopped.
# Two starting points on a surface with a local and a global minimum.
VALLEY_STARTS = {"p1": (-0.4, 1.6), "p2": (1.6, -1.4)}
VALLEY_RATE = 0.05
VALLEY_STEPS = 60
FIGURES = ("gradient_descent_1d.png", "gradient_descent_2d.png", "learning_rates.png", "local_minimum.png")


def add_arguments(parser):
    cli.add_learning_rate(parser, ONE_VARIABLE_RATE, "the step size on J(w) = w^2")


# --- Automatic differentiation ---------------------------------------------------

def derivative_of_square(w_value: float):
    """J = w^2 and dJ/dw at w, the derivative from tf.GradientTape."""
    w = tf.Variable(w_value)
    with tf.GradientTape() as tape:
        cost = w * w
    return float(cost), float(tape.gradient(cost, w))


# --- The cost functions ---------------------------------------------------------------

def square(w):
    return w * w


def w1_squared_plus_sin_squared_w2(point):
    return point[0] ** 2 + tf.sin(point[1]) ** 2


def two_valleys(point):
    """A surface with a global minimum near (-1.05, 0) and a local one near (0.95, 0)."""
    w1, w2 = point[0], point[1]
    return (w1 ** 2 - 1) ** 2 + 0.3 * w1 + w2 ** 2


# --- Gradient descent -------------------------------------------------------------------

def descend(cost, start, learning_rate: float, max_steps: int, stop_below=None):
    """Gradient descent from ``start``; returns every point visited (start first) and J at each.

    Each step: J and its gradient at the current point (tf.GradientTape),
    then point <- point - learning_rate * gradient. Stops when J < ``stop_below``.
    """
    point = tf.Variable(tf.constant(start, dtype=tf.float64))
    points, costs = [], []
    for _ in range(max_steps + 1):
        with tf.GradientTape() as tape:
            value = cost(point)
        points.append(point.numpy().copy())
        costs.append(float(value))
        if stop_below is not None and value < stop_below:
            break
        if len(points) > max_steps:
            break
        point.assign_sub(learning_rate * tape.gradient(value, point))
    return np.array(points), np.array(costs)


def steps_needed(costs, stop_below: float):
    """How many steps it took to get J below ``stop_below``, or None if it never did."""
    below = np.flatnonzero(costs < stop_below)
    return int(below[0]) if len(below) else None


# --- Figures ----------------------------------------------------------------------------

def draw_one_variable(out_dir, points, learning_rate):
    fig, ax = plt.subplots(figsize=(6, 4))
    grid = np.linspace(-1.4, 1.4, 200)
    ax.plot(grid, grid ** 2, color="0.5", label="$J(w) = w^2$")
    ax.plot(points, points ** 2, "o-", color="tab:red", label=f"steps, learning rate {learning_rate:g}")
    ax.set(xlabel="w", ylabel="J(w)", title="Gradient descent on $J(w) = w^2$")
    ax.legend()
    return plotting.save_figure(fig, out_dir, FIGURES[0])


def draw_two_variables(out_dir, points):
    fig, ax = plt.subplots(figsize=(6, 5))
    w1, w2 = np.meshgrid(np.linspace(-3.5, 3.5, 200), np.linspace(-2, 2, 200))
    contours = ax.contour(w1, w2, w1 ** 2 + np.sin(w2) ** 2, levels=20, cmap="viridis")
    ax.clabel(contours, fontsize=7)
    ax.plot(points[:, 0], points[:, 1], "o-", color="tab:red", markersize=4, label="gradient descent path")
    ax.set(xlabel="$w_1$", ylabel="$w_2$", title=r"$J(w_1, w_2) = w_1^2 + \sin^2 w_2$ from (3, 1), learning rate 0.1")
    ax.legend()
    return plotting.save_figure(fig, out_dir, FIGURES[1])


def draw_learning_rates(out_dir, runs):
    fig, axes = plt.subplots(1, len(runs), figsize=(4 * len(runs), 3.6), sharey=True)
    grid = np.linspace(-1.4, 1.4, 200)
    for ax, (rate, (points, costs)) in zip(axes, runs.items()):
        shown = points[:12]
        steps = steps_needed(costs, STOP_BELOW)
        ax.plot(grid, grid ** 2, color="0.6")
        ax.plot(shown, shown ** 2, "o-", color="tab:red", markersize=4)
        verdict = f"J < 0.01 after {steps} steps" if steps is not None else f"never ({MAX_STEPS} steps)"
        ax.set(title=f"learning rate {rate:g}\n{verdict}", xlabel="w")
    axes[0].set_ylabel("J(w) = w²")
    return plotting.save_figure(fig, out_dir, FIGURES[2])


def draw_valleys(out_dir, paths):
    fig, ax = plt.subplots(figsize=(6, 5))
    w1, w2 = np.meshgrid(np.linspace(-2, 2, 200), np.linspace(-2, 2, 200))
    surface = (w1 ** 2 - 1) ** 2 + 0.3 * w1 + w2 ** 2
    ax.contourf(w1, w2, surface, levels=30, cmap="Greys")
    for (name, points), colour in zip(paths.items(), ("tab:blue", "tab:red")):
        ax.plot(points[:, 0], points[:, 1], "o-", color=colour, markersize=3, label=f"from {name}")
        ax.annotate(name, points[0], textcoords="offset points", xytext=(5, 5), color=colour)
    ax.set(xlabel="$w_1$", ylabel="$w_2$", title="Two starts, two minima: global (left), local (right)")
    ax.legend()
    return plotting.save_figure(fig, out_dir, FIGURES[3])


def main(args) -> dict:
    # Automatic differentiation.
    cost, slope = derivative_of_square(3.0)
    print(f"J = w^2 at w = 3: J = {cost:g}, dJ/dw = {slope:g} (tf.GradientTape)")

    # One variable: w <- w - learning_rate * 2w, until J < 0.01.
    print(f"\nJ(w) = w^2 from w = {ONE_VARIABLE_START}, learning rate {args.learning_rate:g}, until J < {STOP_BELOW}:")
    one_points, one_costs = descend(square, ONE_VARIABLE_START, args.learning_rate, MAX_STEPS, STOP_BELOW)
    for step, (w, cost) in enumerate(zip(one_points[1:], one_costs[1:]), start=1):
        print(f"step {step:2d}  w = {w:.6f}  J = {cost:.6f}")
    draw_one_variable(args.out, one_points, args.learning_rate)

    # Two variables: the same rule on both coordinates at once.
    print(f"\nJ(w1, w2) = w1^2 + sin^2(w2) from {TWO_VARIABLE_START}, learning rate {TWO_VARIABLE_RATE}, "
          f"until J < {STOP_BELOW}:")
    two_points, two_costs = descend(w1_squared_plus_sin_squared_w2, TWO_VARIABLE_START, TWO_VARIABLE_RATE,
                                    MAX_STEPS, STOP_BELOW)
    print(f"{'step':>4s} {'w1':>10s} {'w2':>10s} {'J(w1, w2)':>10s}")
    for step, ((w1, w2), cost) in enumerate(zip(two_points, two_costs)):
        print(f"{step:4d} {w1:10.6f} {w2:10.6f} {cost:10.6f}")
    draw_two_variables(args.out, two_points)

    # Four learning rates on J = w^2, each from w = 1.2.
    print(f"\nLearning rates on J(w) = w^2 from w = {ONE_VARIABLE_START} (steps until J < {STOP_BELOW}):")
    runs = {rate: descend(square, ONE_VARIABLE_START, rate, MAX_STEPS) for rate in COMPARED_RATES}
    step_counts = {}
    for rate, (points, costs) in runs.items():
        steps = steps_needed(costs, STOP_BELOW)
        step_counts[rate] = steps
        first = ", ".join(f"{w:.4g}" for w in points[1:5])
        verdict = f"{steps} steps" if steps is not None else f"never in {MAX_STEPS} steps"
        print(f"learning rate {rate:3.1f}: {verdict:>18s}; w = {first}, ...")
    draw_learning_rates(args.out, runs)

    # Local against global minimum.
    print(f"\nTwo starts on a surface with two minima (learning rate {VALLEY_RATE}, {VALLEY_STEPS} steps):")
    valley_paths = {}
    for name, start in VALLEY_STARTS.items():
        points, costs = descend(two_valleys, start, VALLEY_RATE, VALLEY_STEPS)
        valley_paths[name] = points
        kind = "global" if points[-1][0] < 0 else "local"
        print(f"{name} {start} -> ({points[-1][0]:.3f}, {points[-1][1]:.3f}), J = {costs[-1]:.4f}: "
              f"the {kind} minimum")
    draw_valleys(args.out, valley_paths)

    return {"derivative": slope, "one_variable": (one_points, one_costs),
            "two_variables": (two_points, two_costs), "learning_rate_steps": step_counts,
            "valley_ends": {name: points[-1] for name, points in valley_paths.items()}}


if __name__ == "__main__":
    cli.run_lab(main, __doc__, add_arguments)

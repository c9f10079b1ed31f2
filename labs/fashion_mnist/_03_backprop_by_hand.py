"""Backpropagation by hand at scale: a 784-30-10 sigmoid network on Fashion-MNIST.

You will learn:
- that the formulas of lab _07 (chapter 3, (3.2)-(3.7)) scale from four XOR points
  to 60,000 images unchanged: only the matrices grow
- mini-batch training: each step uses 1,000 images, each epoch all of them
  once in a new random order
- one-hot targets: the label 3 becomes the vector 0001000000, one output per class
- how to write TensorBoard scalars yourself with tf.summary

The network: 784 inputs, 30 sigmoid hidden units, 10 sigmoid outputs,
weights and biases drawn from a standard normal distribution, cost
J = 1/2 * sum of (t - y)^2 over the batch and the outputs (targets t,
outputs y), learning rate 0.01, 10 epochs. Every step is written out in
TensorFlow ops (no optimizer, no GradientTape): it is exactly -lr times the
gradient of J, which a test checks against tf.GradientTape.

Run:      python labs/fashion_mnist/_03_backprop_by_hand.py
Expected: one line per epoch with train and test accuracy, climbing to a
          test accuracy of about 59% in 10 epochs: weights drawn from a standard normal
          distribution make the sums of 784 inputs so large that most hidden
          sigmoids sit flat at 0 or 1, where their derivative, and so the step
          of every weight leading into them, is tiny; accuracy.png with both
          curves.
Try:      --init xavier --learning-rate 0.003: weights scaled to the layer sizes
          (Glorot/Xavier), which keep the sigmoids responsive, and a smaller
          learning rate: test accuracy reaches 83% (chapter 5, exercise 5.6,
          asks what each of the two changes does).
"""
from common import cli, data, plotting  # Before TensorFlow: it starts TensorFlow quietly.
import matplotlib.pyplot as plt  # After common.plotting, which picks the backend.
import numpy as np
import tensorflow as tf
from common.errors import require_package

NUM_HIDDEN = 30
LEARNING_RATE = 0.01
BATCH_SIZE = 1_000
NUM_EPOCHS = 10
SMOKE_TRAIN_SIZE, SMOKE_TEST_SIZE = 5_000, 1_000
FIGURES = ("accuracy.png",)


def add_arguments(parser):
    parser.add_argument("--init", choices=("normal", "xavier"), default="normal",
                        help="starting weights: standard normal, or Glorot/Xavier (default: normal)")
    cli.add_epochs(parser, NUM_EPOCHS)
    cli.add_learning_rate(parser, LEARNING_RATE)
    parser.add_argument("--batch-size", type=cli.positive_int, default=BATCH_SIZE,
                        help=f"images per step (default: {BATCH_SIZE:,})")
    parser.add_argument("--hidden-units", type=cli.positive_int, default=NUM_HIDDEN,
                        help=f"sigmoid units in the hidden layer (default: {NUM_HIDDEN})")
    parser.add_argument("--tensorboard", action="store_true", help="write TensorBoard scalars under --out")


def init_params(num_inputs, num_hidden, num_outputs, dtype=tf.float32, init="normal") -> dict:
    """Weights and biases from a standard normal distribution.

    With ``init="xavier"`` the weights are instead uniform in +-sqrt(6 / (fan_in + fan_out))
    (Glorot and Bengio, 2010) and the biases start at 0.
    """
    if init == "xavier":
        def glorot(fan_in, fan_out):
            limit = (6 / (fan_in + fan_out)) ** 0.5
            return tf.Variable(tf.random.uniform((fan_in, fan_out), -limit, limit, dtype=dtype))

        return {"W1": glorot(num_inputs, num_hidden), "b1": tf.Variable(tf.zeros((num_hidden,), dtype)),
                "W2": glorot(num_hidden, num_outputs), "b2": tf.Variable(tf.zeros((num_outputs,), dtype))}
    return {
        "W1": tf.Variable(tf.random.normal((num_inputs, num_hidden), dtype=dtype)),   # (784, 30)
        "b1": tf.Variable(tf.random.normal((num_hidden,), dtype=dtype)),              # (30,)
        "W2": tf.Variable(tf.random.normal((num_hidden, num_outputs), dtype=dtype)),  # (30, 10)
        "b2": tf.Variable(tf.random.normal((num_outputs,), dtype=dtype)),             # (10,)
    }


def forward(X, params):
    """L1 = f(X W1 + b1), Y = f(L1 W2 + b2) with f the sigmoid: formula (3.2)."""
    L1 = tf.sigmoid(X @ params["W1"] + params["b1"])    # (batch, 30)
    Y = tf.sigmoid(L1 @ params["W2"] + params["b2"])    # (batch, 10)
    return L1, Y


def loss(T, Y):
    """The cost J = 1/2 * sum over the batch and the ten outputs of (T - Y)^2."""
    return tf.reduce_sum(tf.square(Y - T)) / 2


def weight_steps(X, T, params, learning_rate) -> dict:
    """The step for every parameter: lab _07's formulas, summed over the batch like J.

    Summing, not averaging, matches the cost J above, so each step is exactly
    -learning_rate times the gradient of J.
    """
    L1, Y = forward(X, params)
    delta_2 = (T - Y) * Y * (1 - Y)                                       # (batch, 10), formula (3.4)
    delta_1 = (delta_2 @ tf.transpose(params["W2"])) * L1 * (1 - L1)      # (batch, 30), formula (3.5)
    return {
        "W2": learning_rate * tf.transpose(L1) @ delta_2,                 # (30, 10)
        "W1": learning_rate * tf.transpose(X) @ delta_1,                  # (784, 30)
        "b2": learning_rate * tf.reduce_sum(delta_2, axis=0),             # (10,)
        "b1": learning_rate * tf.reduce_sum(delta_1, axis=0),             # (30,)
    }


# A plain graph, not XLA: for matrices this large TensorFlow's own CPU kernels
# are many times faster than XLA's, and the whole epoch still runs as one call.
@tf.function
def train_epoch(X, T, params, learning_rate, order, batch_size):
    """One pass over the training set in the given order, one step per full batch."""
    num_batches = tf.shape(order)[0] // batch_size
    for batch in tf.range(num_batches):
        indices = order[batch * batch_size:(batch + 1) * batch_size]
        steps = weight_steps(tf.gather(X, indices), tf.gather(T, indices), params, learning_rate)
        for name, step in steps.items():
            params[name].assign_add(step)


def accuracy(X, labels, params, batch_size: int = 10_000) -> float:
    """Fraction of images whose highest output is the right class.

    Counted ``batch_size`` images at a time, so a wide hidden layer
    (--hidden-units) does not need the activations of all 60,000 at once.
    """
    correct = 0
    for start in range(0, int(X.shape[0]), batch_size):
        outputs = forward(X[start:start + batch_size], params)[1]
        predicted = tf.argmax(outputs, axis=1, output_type=tf.int32)
        correct += int(tf.reduce_sum(tf.cast(predicted == labels[start:start + batch_size], tf.int32)))
    return correct / int(X.shape[0])


def main(args) -> dict:
    dataset = data.load_fashion_mnist()
    if args.smoke:
        dataset = data.limited(dataset, SMOKE_TRAIN_SIZE, SMOKE_TEST_SIZE)
    (x_train, y_train), (x_test, y_test) = dataset
    # Images as rows of 784 values in [0, 1]; targets one-hot, as the network has 10 outputs.
    X_train = tf.constant(data.scaled(x_train).reshape(len(x_train), -1))   # (60000, 784)
    X_test = tf.constant(data.scaled(x_test).reshape(len(x_test), -1))      # (10000, 784)
    labels_train = tf.constant(y_train, tf.int32)
    labels_test = tf.constant(y_test, tf.int32)
    T_train = tf.one_hot(labels_train, 10)                                  # (60000, 10)

    params = init_params(784, args.hidden_units, 10, init=args.init)
    writer = None
    if args.tensorboard:
        require_package("tensorboard", "--tensorboard")
        writer = tf.summary.create_file_writer(str(args.out / "tensorboard"))
    epochs = 1 if args.smoke else args.epochs
    learning_rate = tf.constant(args.learning_rate)
    batch_size = tf.constant(min(args.batch_size, len(x_train)))
    history = {"train": [], "test": []}
    for epoch in range(1, epochs + 1):
        order = tf.random.shuffle(tf.range(len(x_train)))
        train_epoch(X_train, T_train, params, learning_rate, order, batch_size)
        train_accuracy = accuracy(X_train, labels_train, params)
        test_accuracy = accuracy(X_test, labels_test, params)
        history["train"].append(train_accuracy)
        history["test"].append(test_accuracy)
        print(f"epoch {epoch:2d}  train accuracy {train_accuracy:.4f}  test accuracy {test_accuracy:.4f}")
        if writer is not None:
            with writer.as_default(step=epoch):
                tf.summary.scalar("accuracy/train", train_accuracy)
                tf.summary.scalar("accuracy/test", test_accuracy)
    if writer is not None:
        writer.close()

    fig, ax = plt.subplots(figsize=(6, 4))
    epochs_axis = np.arange(1, epochs + 1)
    ax.plot(epochs_axis, history["train"], "o", color="tab:blue", label="train accuracy")
    ax.plot(epochs_axis, history["test"], "-", color="tab:red", label="test accuracy")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_title(f"784-{args.hidden_units}-10 sigmoid network ({args.init} start), backpropagation by hand")
    ax.grid(True, alpha=0.3)
    ax.legend()
    plotting.save_figure(fig, args.out, FIGURES[0])
    return {"train_accuracy": history["train"][-1], "test_accuracy": history["test"][-1], "history": history}


if __name__ == "__main__":
    cli.run_lab(main, __doc__, add_arguments)

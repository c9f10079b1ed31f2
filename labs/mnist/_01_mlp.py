"""MNIST with a multilayer perceptron, with checkpoints.

You will learn:
- what MNIST looks like: 28x28 grey images of handwritten digits, pixel values 0..255
- a Keras model, Flatten -> Dense 512 ReLU -> Dropout 0.2 -> Dense 10, trained with Adam
- honest evaluation: a validation set (the last 10% of the training images)
  watches training, and the test set is used once, at the end
- checkpoints: the whole state is saved after every epoch, so an interrupted
  run continues where it stopped; the weights are also saved every 5 epochs
  (cp-0005.weights.h5, ...) and the last of them is loaded into a fresh model
  for the final test

The network and its checkpoints are those of TensorFlow's tutorials
"TensorFlow 2 quickstart for beginners" and "Save and load models".

Run:      python labs/mnist/_01_mlp.py
Expected: an untrained validation accuracy near 10% (chance), one line per
          epoch, and a test accuracy of about 98% from the restored checkpoint;
          first_image.png, training_images.png and training_curves.png.
          Running it again continues from the saved state (--fresh starts over).
Try:      --train-size 1000 --out outputs/mlp_1000 and watch training and
          validation accuracy part ways (overfitting; chapter 5, exercise 5.1).
"""
from common import cli, data, evaluation, plotting, training  # Before TensorFlow: it starts TensorFlow quietly.
import keras
from keras import layers

NUM_EPOCHS = 10
BATCH_SIZE = 32            # Keras's default
VALIDATION_FRACTION = 0.1
SMOKE_TRAIN_SIZE, SMOKE_TEST_SIZE = 2_000, 500
FIGURES = ("first_image.png", "training_images.png", "training_curves.png")


def add_arguments(parser):
    cli.add_epochs(parser, NUM_EPOCHS, "how many epochs to train in all")
    parser.add_argument("--batch-size", type=cli.positive_int, default=BATCH_SIZE,
                        help=f"examples per training step on each device (default: {BATCH_SIZE})")
    parser.add_argument("--train-size", type=cli.positive_int, default=None,
                        help="train on only the first N training images (default: all 60,000)")
    training.Run.add_arguments(parser)  # --fresh, --tensorboard, --strategy and the other run flags


def build_model():
    inputs = keras.Input(shape=(28, 28))
    x = layers.Flatten()(inputs)                         # (batch, 784)
    x = layers.Dense(512, activation="relu")(x)
    x = layers.Dropout(0.2)(x)                           # Active only while training.
    outputs = layers.Dense(10, dtype="float32")(x)         # Logits: one score per digit.
    return keras.Model(inputs, outputs, name="mnist_mlp")


def compile_model(model):
    """Attach what training needs: the optimizer, the loss on logits, the metric to report."""
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def main(args, run) -> dict:
    dataset = data.load_mnist()
    if args.smoke:
        dataset = data.limited(dataset, SMOKE_TRAIN_SIZE, SMOKE_TEST_SIZE)
    (x_train, y_train), (x_test, y_test) = data.limited(dataset, args.train_size)
    print(f"MNIST: {len(x_train):,} training and {len(x_test):,} test images of {x_train.shape[1:]} pixels")

    # Look at the data before training on it.
    plotting.save_figure(plotting.first_image(x_train[0], f"The first training image: a {y_train[0]}"),
                         run.out, FIGURES[0])
    plotting.save_figure(plotting.image_grid(x_train, y_train, data.MNIST_CLASSES,
                                             title="The first 25 training images"),
                         run.out, FIGURES[1])

    (x_fit, y_fit), (x_val, y_val) = data.split_validation(data.scaled(x_train), y_train, VALIDATION_FRACTION)
    # --batch-size examples for each device; with several (--strategy) a step takes them all.
    batch_size = run.global_batch_size(args.batch_size)
    model = run.resume(compile_model(build_model()), settings={"training_examples": len(x_fit),
                                                               "batch_size": batch_size})
    if run.completed == 0:
        print(f"Untrained model, validation accuracy: {evaluation.accuracy_of(model, x_val, y_val):.1%} "
              "(chance is 10%)")
    history = run.fit(model, x_fit, y_fit, epochs=1 if args.smoke else args.epochs, batch_size=batch_size,
                      validation_data=(x_val, y_val))
    plotting.save_figure(plotting.training_curves(history, "MNIST multilayer perceptron"), run.out, FIGURES[2])

    # As TensorFlow's tutorial "Save and load models" does: a fresh model, the latest checkpoint's
    # weights, the test set once.
    # Only predicting, the fresh model needs no optimizer, so it is not compiled.
    latest = run.latest_weights()
    restored = build_model()
    restored.load_weights(latest)
    test_accuracy = evaluation.accuracy_of(restored, data.scaled(x_test), y_test)
    print(f"Restored model from {latest.name}, test accuracy: {test_accuracy:.2%}")
    return {"test_accuracy": test_accuracy, "epochs": len(history.get("loss", [])), "history": history}


if __name__ == "__main__":
    cli.run_lab(main, __doc__, add_arguments, run=training.Run)

"""A narrow sigmoid network for MNIST: 784-64-16-10, Xavier start, plain SGD, early stopping.

You will learn:
- a deeper but narrow multilayer perceptron: two sigmoid hidden layers of 64
  and 16 units and a softmax output over the ten digits
- Xavier (Glorot) initialisation, which scales each layer's starting weights
  to its size so that sigmoids start in their responsive range
- plain mini-batch stochastic gradient descent: learning rate 0.2, 128
  images per step, no momentum
- early stopping: train up to 40 epochs, stop when the validation loss has
  not improved for 3 epochs, and keep the best epoch's weights

Its state is saved every epoch, so an interrupted run continues where it
stopped (--fresh starts over).

Run:      python labs/mnist/_03_handwriting_network.py
Expected: one line per epoch for all 40 epochs (the validation loss is
          still falling, so early stopping does not stop it), and a test
          accuracy of about 97.2%; training_curves.png.
Try:      --learning-rate 0.02 --out outputs/sgd_0.02: steps ten times smaller,
          still improving at epoch 40 (chapter 5, exercise 5.5).
"""
from common import cli, data, evaluation, plotting, training  # Before TensorFlow: it starts TensorFlow quietly.
import keras
from keras import layers

LEARNING_RATE = 0.2
BATCH_SIZE = 128
MAX_EPOCHS = 40
PATIENCE = 3
VALIDATION_FRACTION = 0.1
SMOKE_TRAIN_SIZE, SMOKE_TEST_SIZE = 2_000, 500
FIGURES = ("training_curves.png",)


def add_arguments(parser):
    cli.add_epochs(parser, MAX_EPOCHS, "the most epochs to train")
    cli.add_learning_rate(parser, LEARNING_RATE, "the SGD step size")
    parser.add_argument("--batch-size", type=cli.positive_int, default=BATCH_SIZE,
                        help=f"images per step on each device (default: {BATCH_SIZE})")
    parser.add_argument("--patience", type=cli.positive_int, default=PATIENCE,
                        help=f"epochs without a better validation loss before stopping (default: {PATIENCE})")
    training.Run.add_arguments(parser)  # --fresh, --tensorboard, --strategy and the other run flags


def build_model():
    # Glorot uniform is Keras's default for Dense layers: named here because it is the lesson.
    xavier = "glorot_uniform"
    inputs = keras.Input(shape=(28, 28))
    x = layers.Flatten()(inputs)                                                    # (batch, 784)
    x = layers.Dense(64, activation="sigmoid", kernel_initializer=xavier)(x)
    x = layers.Dense(16, activation="sigmoid", kernel_initializer=xavier)(x)
    outputs = layers.Dense(10, activation="softmax", kernel_initializer=xavier, dtype="float32")(x)  # Probabilities.
    return keras.Model(inputs, outputs, name="mnist_64_16")


def main(args, run) -> dict:
    dataset = data.load_mnist()
    if args.smoke:
        dataset = data.limited(dataset, SMOKE_TRAIN_SIZE, SMOKE_TEST_SIZE)
    (x_train, y_train), (x_test, y_test) = dataset
    (x_fit, y_fit), (x_val, y_val) = data.split_validation(data.scaled(x_train), y_train, VALIDATION_FRACTION)

    model = build_model()
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=args.learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    # --batch-size examples for each device; with several (--strategy) a step takes them all.
    batch_size = run.global_batch_size(args.batch_size)
    model = run.resume(model, settings={"training_examples": len(x_fit), "batch_size": batch_size,
                                        "learning_rate": args.learning_rate})
    stopper = run.early_stopping(monitor="val_loss", patience=args.patience)
    epochs = 1 if args.smoke else args.epochs
    history = run.fit(model, x_fit, y_fit, epochs=epochs, callbacks=[stopper], batch_size=batch_size,
                      validation_data=(x_val, y_val))
    trained = len(history.get("loss", []))
    best_epoch = stopper.restore_best(model, history)
    stopped_early = trained < epochs
    print(f"{'Stopped early after' if stopped_early else 'Trained for'} {trained} epoch{'s' * (trained != 1)}; "
          f"keeping epoch {best_epoch}, the best on validation loss")
    plotting.save_figure(plotting.training_curves(history, "784-64-16-10 network, SGD 0.2"),
                         run.out, FIGURES[0])

    test_accuracy = evaluation.accuracy_of(model, data.scaled(x_test), y_test)
    print(f"Test accuracy: {test_accuracy:.2%}")
    return {"test_accuracy": test_accuracy, "epochs": trained, "best_epoch": best_epoch}


if __name__ == "__main__":
    cli.run_lab(main, __doc__, add_arguments, run=training.Run)

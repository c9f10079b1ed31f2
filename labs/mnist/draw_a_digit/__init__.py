"""The parts of the draw-a-digit recognizer (labs/mnist/_04_draw_a_digit.py), beside it.

- ``recipe``: the lesson: MNIST's recipe that turns a picture of a digit into
  the 28x28 input the network was trained on, and the short recipe many
  tutorials use instead; reading image files and drawing test digits.
- ``pad``: the drawing window.

The lab imports them as ``from draw_a_digit import pad, recipe`` (Python puts
a script's folder on its path); tests and benchmarks reach them through the
loaded lab, ``paths.load_lab("labs/mnist/_04_draw_a_digit.py").recipe``.
"""

"""Backend-independent optimisers for image optimisation (L-BFGS, Adam on NumPy vectors)."""

from keras_style.optimizers.lbfgs import LBFGS, Adam, NonFiniteError, minimize  # noqa: F401

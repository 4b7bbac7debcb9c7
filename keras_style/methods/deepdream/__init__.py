"""DeepDream (`deepdream`): gradient ascent on layer activations with octaves."""

from keras_style.methods.deepdream.deepdream import DeepDream  # noqa: F401

"""Johnson, Alahi & Fei-Fei (ECCV 2016): perceptual losses for style transfer and super-resolution."""
from keras_style.methods.johnson.networks import JohnsonSRNetwork, JohnsonTransformer  # noqa: F401
from keras_style.methods.johnson.johnson_style_transfer import JohnsonStyleTransfer  # noqa: F401
from keras_style.methods.johnson.johnson_super_resolution import JohnsonSuperResolution  # noqa: F401

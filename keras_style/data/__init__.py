"""keras_style.data: tf.data pipelines (image folders, SR pairs, content/style pairs).

Importing this package imports TensorFlow lazily only when a pipeline is built.
"""
from keras_style.data.folders import (  # noqa: F401
    IMAGE_EXTENSIONS,
    crop_image,
    decode_image,
    degrade,
    gaussian_blur,
    image_folder,
    list_image_files,
    readable_image_files,
    resize_shorter_side,
    scan_image_files,
    super_resolution_pairs,
    warn_skipped,
)
from keras_style.data.content_style import content_style_pairs  # noqa: E402,F401
from keras_style.data.photo_art import photo_art_pairs  # noqa: E402,F401  (style-aware)

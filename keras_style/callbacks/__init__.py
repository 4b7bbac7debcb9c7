"""keras_style.callbacks: importing this package registers its entries."""
from keras_style.callbacks.stylized_preview import StylizedPreview, stylized_preview  # noqa: E402,F401
from keras_style.callbacks.resumable_backup import ResumableBackup  # noqa: E402,F401

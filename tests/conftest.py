import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def data_dir():
    return DATA


@pytest.fixture
def example_images():
    return ROOT / "examples" / "images"


@pytest.fixture(autouse=True)
def _keras_state():
    """Each test starts with a fresh Keras global state and float32 policy."""
    import keras

    yield
    keras.mixed_precision.set_global_policy("float32")
    keras.backend.clear_session()


def has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None

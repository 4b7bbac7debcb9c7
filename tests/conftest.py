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
    if keras.mixed_precision.global_policy().name != "float32":
        keras.mixed_precision.set_global_policy("float32")
    # free_memory=False skips a full gc.collect(), which costs ~1 s per test here
    keras.backend.clear_session(free_memory=False)


def has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None

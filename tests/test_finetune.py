"""Fine-tuning (issue 6, METHODS.md §8): backbones, freezing, ImageNet row reuse, round trip, CLI."""

import os

import keras
import numpy as np
import pytest
from helpers import random_image

import keras_style as ks
from keras_style.errors import ConfigError
from keras_style.methods.finetune import (
    FineTuneClassifier,
    available_backbones,
    compile_finetune,
    imagenet_classes,
    match_imagenet_classes,
    unfreeze,
)

SIZE = 32  # the smallest input of MobileNet (v1): keeps every test fast
BACKBONE = "mobilenet"  # the shallowest keras.applications model; its classifier is a 1x1 conv


def test_imagenet_class_file():
    classes = imagenet_classes()
    assert len(classes) == 1000
    assert classes[751] == ("n04037443", ["racer", "race car", "racing car"])
    assert classes[934][0] == "n07697537" and "hot dog" in classes[934][1]
    assert classes[817] == ("n04285008", ["sports car", "sport car"])
    assert len({w for w, _ in classes}) == 1000
    assert all(w.startswith("n") and len(w) == 9 for w, _ in classes)


def test_match_imagenet_classes():
    m = match_imagenet_classes(["Race_Car", "racer", "HOTDOG", "not_hotdog", "crane", "Sports-Car"])
    assert m["Race_Car"]["index"] == 751 and m["Race_Car"]["match"] == "synonym"
    assert m["racer"]["match"] == "exact"
    assert m["HOTDOG"]["index"] == 934 and m["HOTDOG"]["wnid"] == "n07697537"
    assert m["not_hotdog"] is None
    assert m["crane"]["index"] == 134 and m["crane"]["other_indices"] == [517]
    assert m["Sports-Car"]["index"] == 817


def test_bad_arguments():
    with pytest.raises(ConfigError, match="ResNet50") as ei:
        ks.get("finetune", backbone="resnet_5O", num_classes=2, weights=None)
    assert "MobileNetV2" in str(ei.value)
    with pytest.raises(ConfigError, match="empty"):
        FineTuneClassifier(backbone=BACKBONE, class_names=[], weights=None, input_shape=(SIZE, SIZE, 3))
    with pytest.raises(ConfigError, match="num_classes"):
        FineTuneClassifier(backbone=BACKBONE, weights=None, input_shape=(SIZE, SIZE, 3))
    with pytest.raises(ConfigError, match="disagrees"):
        FineTuneClassifier(backbone=BACKBONE, num_classes=3, class_names=["a", "b"], weights=None)
    with pytest.raises(ConfigError, match="matches no layer"):
        FineTuneClassifier(backbone=BACKBONE, num_classes=2, weights=None,
                           input_shape=(SIZE, SIZE, 3), freeze="conv4*")
    with pytest.raises(ConfigError, match="fraction"):
        FineTuneClassifier(backbone=BACKBONE, num_classes=2, weights=None,
                           input_shape=(SIZE, SIZE, 3), freeze=1.5)
    with pytest.raises(ConfigError, match="ImageNet classifier weights"):
        ks.get("finetune", backbone=BACKBONE, class_names=["hotdog", "x"], weights=None,
               input_shape=(SIZE, SIZE, 3), reuse_imagenet_classes=True)
    assert "ResNet50" in available_backbones() and "EfficientNetB0" in available_backbones()


def _fake_imagenet_source():
    """An include_top=True MobileNet with weights=None and a classifier we set ourselves."""
    src = keras.applications.MobileNet(include_top=True, weights=None, input_shape=(SIZE, SIZE, 3))
    rng = np.random.default_rng(0)
    k, b = src.get_layer("conv_preds").get_weights()  # 1x1 conv (1, 1, 1024, 1000)
    src.get_layer("conv_preds").set_weights(
        [rng.normal(size=k.shape).astype("float32"), rng.normal(size=b.shape).astype("float32")]
    )
    k, b = src.get_layer("conv_preds").get_weights()
    return src, k.reshape(-1, 1000), b


def test_reuse_freeze_fit_unfreeze_and_round_trip(tmp_path):
    src, sk, sb = _fake_imagenet_source()
    model = ks.get(
        "finetune",
        backbone="MobileNet",
        class_names=["hot_dog", "not hotdog", "Racing Car"],
        weights=None,
        input_shape=(SIZE, SIZE, 3),
        freeze=0.5,
        reuse_imagenet_classes=True,
        source_model=src,
        compile=False,
        # random weights + BN in inference mode give all-zero features (nothing would
        # train); let the unfrozen BN layers use batch statistics in this test
        freeze_batchnorm=False,
    )
    # eager steps: tracing/XLA-compiling the train step costs far more than 2 tiny steps
    compile_finetune(model, learning_rate=1e-2, run_eagerly=True)
    # reused head columns equal the source rows (kernel and bias); the unmatched one does not
    hk, hb = model.classifier.get_weights()
    np.testing.assert_array_equal(hk[:, 0], sk[:, 934])
    np.testing.assert_array_equal(hk[:, 2], sk[:, 751])
    assert hb[0] == sb[934] and hb[2] == sb[751]
    assert not np.allclose(hk[:, 1], sk[:, 934])
    info = model.describe()
    assert set(info["imagenet_matches"]) == {"hot_dog", "Racing Car"}
    assert info["unmatched"] == ["not hotdog"]
    assert info["reused_imagenet_rows"] == {"hot_dog": 934, "Racing Car": 751}
    # preprocessing is inside; the backbone's bottom half (BN included) is frozen
    assert model.get_layer("preprocess").backbone == "MobileNet"
    bn = [la for la in model.backbone.layers if isinstance(la, keras.layers.BatchNormalization)]
    assert not bn[0].trainable and bn[-1].trainable
    frozen = set(model.frozen_layers())
    assert "conv1" in frozen and "conv_pw_13" not in frozen

    x = random_image(SIZE, SIZE, batch=8)
    y = np.arange(8) % 3
    before = {w.path: w.numpy().copy() for w in model.weights}
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    after = {w.path: w.numpy() for w in model.weights}
    changed = {p for p in before if not np.array_equal(before[p], after[p])}
    for layer in model.backbone.layers:
        for w in layer.weights:
            if not layer.trainable:
                assert w.path not in changed, f"frozen {w.path} changed"  # BN moving stats too
    assert any(p.endswith("classifier/kernel") for p in changed)
    assert any(p.endswith("classifier/bias") for p in changed)
    trainable_backbone = [w.path for la in model.backbone.layers if la.trainable for w in la.trainable_weights]
    assert sum(p in changed for p in trainable_backbone) >= len(trainable_backbone) // 2

    # second phase: unfreeze a block (BN stays frozen), recompiled at 1e-5
    names = unfreeze(model, "conv_*_1*")
    assert "conv_dw_1" in names and "conv_pw_1" in names
    assert model.backbone.get_layer("conv_dw_1").trainable
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(1e-5)
    assert model.get_config()["unfrozen"] == ["conv_*_1*"]

    # .keras round trip: same predictions, same trainable layers, no download (weights=None)
    path = tmp_path / "ft.keras"
    model.save(path)
    again = keras.saving.load_model(path)
    assert isinstance(again, FineTuneClassifier)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(again(x, training=False)),
        keras.ops.convert_to_numpy(model(x, training=False)),
        atol=1e-5,
    )
    assert again.frozen_layers() == model.frozen_layers()
    assert again.get_config()["class_names"] == model.class_names


def test_freeze_patterns_and_all():
    m = FineTuneClassifier(backbone=BACKBONE, num_classes=2, weights=None,
                           input_shape=(SIZE, SIZE, 3), freeze=["conv_dw_1*", "conv1"])
    frozen = set(m.frozen_layers())
    assert frozen == {"conv1", "conv_dw_1", "conv_dw_1_bn", "conv_dw_10", "conv_dw_10_bn",
                      "conv_dw_11", "conv_dw_11_bn", "conv_dw_12", "conv_dw_12_bn", "conv_dw_13",
                      "conv_dw_13_bn"} | {la.name for la in m.backbone.layers if "bn" in la.name}
    m2 = ks.get("finetune", backbone=BACKBONE, num_classes=2, weights=None,
                input_shape=(SIZE, SIZE, 3), freeze=True)
    assert all(not w for w in [la.trainable_weights for la in m2.backbone.layers])
    # default freeze_batchnorm=True: BN frozen (inference mode) even where convs train,
    # and unfreeze() leaves BN frozen
    bn = [la for la in m.backbone.layers if isinstance(la, keras.layers.BatchNormalization)]
    assert bn and not any(la.trainable for la in bn)
    assert m.backbone.get_layer("conv_pw_13").trainable
    names = unfreeze(m, "*", recompile=False)
    assert names and not any(n.endswith("_bn") for n in names)
    assert not any(la.trainable for la in bn)
    # head-only training: the keras.io guide's 1e-3
    assert float(keras.ops.convert_to_numpy(m2.optimizer.learning_rate)) == pytest.approx(1e-3)
    assert len(m2.trainable_weights) == 2


def test_cli_finetune(tmp_path):
    from PIL import Image

    from keras_style.cli import main

    for cls in ("cats", "dogs"):
        d = tmp_path / "train" / cls
        d.mkdir(parents=True)
        for i in range(3):
            img = random_image(40, 40, seed=i + (10 if cls == "dogs" else 0))
            Image.fromarray((img * 255).astype(np.uint8)).save(d / f"{i}.png")
    out = tmp_path / "model.keras"
    rc = main([
        "finetune", str(tmp_path / "train"), "--val", str(tmp_path / "train"), "-o", str(out),
        "--backbone", BACKBONE, "--weights", "none", "--image-size", str(SIZE),
        "--batch-size", "3", "--epochs", "1", "--freeze", "0.8", "--quiet", "--run-eagerly",
    ])
    assert rc == 0 and out.exists() and os.path.getsize(out) > 0
    model = keras.saving.load_model(out)
    assert model.class_names == ["cats", "dogs"]
    assert main(["finetune", str(tmp_path / "train" / "cats"), "-o", str(tmp_path / "x.keras"),
                 "--weights", "none", "--quiet"]) == 1


def test_failed_imagenet_download_is_a_clear_error(monkeypatch):
    from keras_style.errors import WeightsUnavailableError

    def offline(**kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: None -- offline")

    offline.__module__ = keras.applications.MobileNet.__module__  # preprocess_input lookup
    monkeypatch.setattr(keras.applications, "MobileNet", offline)
    with pytest.raises(WeightsUnavailableError, match="weights=None"):
        FineTuneClassifier(backbone=BACKBONE, num_classes=2, weights="imagenet")

"""Fine-tuning (docs/methods/finetune.md): backbones, freezing, ImageNet row reuse, round trip, CLI."""

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
        ks.get("finetune", backbone="resnet_5O", num_classes=2, backbone_weights=None)
    assert "MobileNetV2" in str(ei.value)
    with pytest.raises(ConfigError, match="empty"):
        FineTuneClassifier(backbone=BACKBONE, class_names=[], backbone_weights=None, input_shape=(SIZE, SIZE, 3))
    with pytest.raises(ConfigError, match="num_classes"):
        FineTuneClassifier(backbone=BACKBONE, backbone_weights=None, input_shape=(SIZE, SIZE, 3))
    with pytest.raises(ConfigError, match="disagrees"):
        FineTuneClassifier(backbone=BACKBONE, num_classes=3, class_names=["a", "b"], backbone_weights=None)
    with pytest.raises(ConfigError, match="matches no layer"):
        FineTuneClassifier(backbone=BACKBONE, num_classes=2, backbone_weights=None,
                           input_shape=(SIZE, SIZE, 3), freeze="conv4*")
    with pytest.raises(ConfigError, match="fraction"):
        FineTuneClassifier(backbone=BACKBONE, num_classes=2, backbone_weights=None,
                           input_shape=(SIZE, SIZE, 3), freeze=1.5)
    with pytest.raises(ConfigError, match="ImageNet classifier weights"):
        ks.get("finetune", backbone=BACKBONE, class_names=["hotdog", "x"], backbone_weights=None,
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
        backbone_weights=None,
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
    m = FineTuneClassifier(backbone=BACKBONE, num_classes=2, backbone_weights=None,
                           input_shape=(SIZE, SIZE, 3), freeze=["conv_dw_1*", "conv1"])
    frozen = set(m.frozen_layers())
    assert frozen == {"conv1", "conv_dw_1", "conv_dw_1_bn", "conv_dw_10", "conv_dw_10_bn",
                      "conv_dw_11", "conv_dw_11_bn", "conv_dw_12", "conv_dw_12_bn", "conv_dw_13",
                      "conv_dw_13_bn"} | {la.name for la in m.backbone.layers if "bn" in la.name}
    m2 = ks.get("finetune", backbone=BACKBONE, num_classes=2, backbone_weights=None,
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
    # head-only training: the head at the keras.io guide's 1e-3 (the optimizer's base rate is
    # the backbone's, 1e-3 / the head multiplier 10)
    from keras_style.methods.finetune import head_learning_rate

    assert head_learning_rate(m2) == pytest.approx(1e-3)
    assert float(keras.ops.convert_to_numpy(m2.optimizer.learning_rate)) == pytest.approx(1e-4)
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
        FineTuneClassifier(backbone=BACKBONE, num_classes=2, backbone_weights="imagenet")


# ------------------------------------------------- head learning-rate multiplier (d2l recipe)


def _twin_models(mult_a, mult_b, lr=0.1):
    """Two identical MobileNets (same weights, no dropout) compiled with SGD(lr) and two
    head multipliers; eager steps (tiny)."""
    kw = dict(backbone=BACKBONE, num_classes=3, weights=None, input_shape=(SIZE, SIZE, 3),
              dropout=0.0, freeze_batchnorm=False, classifier_activation=None, compile=False)
    a = ks.get("finetune", **kw)
    b = ks.get("finetune", **kw)
    b.set_weights(a.get_weights())
    compile_finetune(a, learning_rate=lr, head_learning_rate_multiplier=mult_a,
                     optimizer=keras.optimizers.SGD(lr), run_eagerly=True)
    compile_finetune(b, learning_rate=lr, head_learning_rate_multiplier=mult_b,
                     optimizer=keras.optimizers.SGD(lr), run_eagerly=True)
    return a, b


def test_head_learning_rate_multiplier_scales_only_the_head_update():
    a, b = _twin_models(10.0, 1.0)
    assert a.head_learning_rate_multiplier == 10.0 and b.head_learning_rate_multiplier == 1.0
    x = random_image(SIZE, SIZE, batch=4)
    y = np.array([0, 1, 2, 1])
    start = {w.path: w.numpy().copy() for w in a.trainable_weights}
    a.train_on_batch(x, y)
    b.train_on_batch(x, y)
    head = {w.path for w in a.classifier.weights}
    assert head == {"classifier/kernel", "classifier/bias"}
    moved_a = {w.path: w.numpy() - start[w.path] for w in a.trainable_weights}
    moved_b = {w.path: w.numpy() - start[w.path] for w in b.trainable_weights}
    assert len(moved_a) > 2
    for path in moved_a:
        if path in head:
            assert np.abs(moved_b[path]).max() > 0
            np.testing.assert_allclose(moved_a[path], 10.0 * moved_b[path], rtol=1e-4, atol=1e-7)
        else:  # the backbone moved exactly as with one learning rate
            np.testing.assert_allclose(moved_a[path], moved_b[path], rtol=1e-5, atol=1e-8)
    assert any(np.abs(moved_a[p]).max() > 0 for p in moved_a if p not in head)


def test_multiplier_scales_adam_updates_in_a_compiled_graph():
    """Adam is invariant to a gradient scale: the multiplier must scale the update itself,
    also inside the compiled (tf.function) train step."""
    from keras_style.methods.finetune import with_learning_rate_multipliers

    def tiny():
        inp = keras.Input((4,))
        out = keras.layers.Dense(2, name="classifier")(keras.layers.Dense(3, name="body")(inp))
        return keras.Model(inp, out)

    a, b = tiny(), tiny()
    b.set_weights(a.get_weights())
    lr = 1e-2
    a.compile(optimizer=with_learning_rate_multipliers(keras.optimizers.Adam(lr), {"classifier/kernel": 10.0,
                                                                                 "classifier/bias": 10.0}),
              loss="mse")
    b.compile(optimizer=keras.optimizers.Adam(lr), loss="mse")
    x = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
    y = np.random.default_rng(1).normal(size=(8, 2)).astype("float32")
    w0 = [w.copy() for w in a.get_weights()]
    a.fit(x, y, batch_size=8, epochs=1, verbose=0)
    b.fit(x, y, batch_size=8, epochs=1, verbose=0)
    da = [w - w0[i] for i, w in enumerate(a.get_weights())]
    db = [w - w0[i] for i, w in enumerate(b.get_weights())]
    np.testing.assert_allclose(da[0], db[0], rtol=1e-5, atol=1e-8)  # body kernel
    np.testing.assert_allclose(da[2], 10 * db[2], rtol=1e-3, atol=1e-7)  # head kernel
    assert np.abs(db[2]).max() == pytest.approx(lr, rel=1e-2)  # Adam's first step ~ lr
    cfg = a.optimizer.get_config()
    assert cfg["learning_rate_multipliers"] == {"classifier/kernel": 10.0, "classifier/bias": 10.0}
    again = keras.optimizers.deserialize(keras.optimizers.serialize(a.optimizer))
    assert again.learning_rate_multipliers == cfg["learning_rate_multipliers"]


def test_head_multiplier_defaults_and_bad_values():
    from keras_style.methods.finetune import head_learning_rate

    m = ks.get("finetune", backbone=BACKBONE, num_classes=2, backbone_weights=None,
               input_shape=(SIZE, SIZE, 3), freeze=True)
    assert m.head_learning_rate_multiplier == 10.0  # d2l's recipe
    assert head_learning_rate(m) == pytest.approx(1e-3)  # keras.io head phase, backbone frozen
    unfreeze(m, "conv_pw_13")
    # phase 2: backbone 1e-5, the head ten times that, the multiplier kept
    assert float(keras.ops.convert_to_numpy(m.optimizer.learning_rate)) == pytest.approx(1e-5)
    assert head_learning_rate(m) == pytest.approx(1e-4)
    compile_finetune(m, learning_rate=1e-3, head_learning_rate_multiplier=1)
    assert head_learning_rate(m) == pytest.approx(1e-3)
    for bad in (0, -1.0, float("nan"), float("inf"), "10", True):
        with pytest.raises(ConfigError, match="positive"):
            compile_finetune(m, head_learning_rate_multiplier=bad)
    with pytest.raises(ConfigError, match="positive"):
        ks.get("finetune", backbone=BACKBONE, num_classes=2, backbone_weights=None,
               input_shape=(SIZE, SIZE, 3), head_learning_rate_multiplier=-2)
    with pytest.raises(ConfigError, match="positive"):
        unfreeze(m, "*", head_learning_rate_multiplier=0)
    with pytest.raises(ConfigError, match="learning_rate"):
        compile_finetune(m, learning_rate=0)


def test_cli_bad_head_multiplier(tmp_path):
    from keras_style.cli import main

    rc = main(["finetune", str(tmp_path), "-o", str(tmp_path / "m.keras"), "--weights", "none",
               "--head-lr-multiplier", "-3", "--quiet"])
    assert rc == 1


# -------------------------------------------------------- VGG: ImageNet rows behind fc1/fc2


def _narrow_vgg16(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None,
                  classes=1000, classifier_activation="softmax", name="vgg16"):
    """keras.applications.VGG16's layer names and structure (block{b}_conv{k}, block{b}_pool,
    flatten, fc1, fc2, predictions) with 4 channels and 16-unit fc layers: fast tests."""
    assert weights is None, "no downloads in tests"
    inp = keras.Input(shape=input_shape or (None, None, 3))
    x = inp
    for b, n in enumerate((2, 2, 3, 3, 3), 1):
        for k in range(1, n + 1):
            x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name=f"block{b}_conv{k}")(x)
        x = keras.layers.MaxPooling2D(2, 2, name=f"block{b}_pool")(x)
    if include_top:
        x = keras.layers.Flatten(name="flatten")(x)
        x = keras.layers.Dense(16, activation="relu", name="fc1")(x)
        x = keras.layers.Dense(16, activation="relu", name="fc2")(x)
        x = keras.layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inp, x, name=name)


_narrow_vgg16.__module__ = keras.applications.VGG16.__module__  # preprocess_input lookup


def _fake_vgg16_source(size=SIZE):
    """An include_top=True narrow VGG16 whose fc1/fc2/predictions we set ourselves."""
    src = _narrow_vgg16(include_top=True, input_shape=(size, size, 3))
    rng = np.random.default_rng(0)
    for name in ("fc1", "fc2", "predictions"):
        layer = src.get_layer(name)
        layer.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32") for w in layer.get_weights()])
    return src


def test_keep_imagenet_fc_real_vgg16_structure():
    """With the real keras.applications.VGG16 (random weights): the kept top is flatten ->
    fc1 -> fc2 and the new head reads fc2's 4096 features."""
    m = FineTuneClassifier(backbone="vgg16", num_classes=2, backbone_weights=None, input_shape=(SIZE, SIZE, 3),
                           keep_imagenet_fc=True, freeze=["block*", "fc1"])
    assert [la.name for la in m.backbone.layers][-3:] == ["flatten", "fc1", "fc2"]
    assert m.classifier.get_weights()[0].shape == (4096, 2)
    assert "fc1" in m.frozen_layers() and "fc2" not in m.frozen_layers()  # freeze reaches the top


def test_reuse_imagenet_classes_vgg16_keeps_fc1_fc2(tmp_path, monkeypatch):
    monkeypatch.setattr(keras.applications, "VGG16", _narrow_vgg16)
    src = _fake_vgg16_source()
    model = ks.get("finetune", backbone="vgg16", class_names=["tabby", "not a class", "hotdog"],
                   backbone_weights=None, input_shape=(SIZE, SIZE, 3), reuse_imagenet_classes=True,
                   source_model=src, compile=False)
    assert model.keep_imagenet_fc and model.get_config()["keep_imagenet_fc"] is True
    assert [la.name for la in model.backbone.layers][-3:] == ["flatten", "fc1", "fc2"]
    for name in ("fc1", "fc2"):  # the fully connected layers come from the source
        for got, want in zip(model.backbone.get_layer(name).get_weights(), src.get_layer(name).get_weights()):
            np.testing.assert_array_equal(got, want)
    # the new head reads fc2 and starts from the matching columns of `predictions`
    pk, pb = src.get_layer("predictions").get_weights()
    hk, hb = model.classifier.get_weights()
    assert hk.shape == (16, 3)
    np.testing.assert_array_equal(hk[:, 0], pk[:, 281])  # tabby, tabby cat
    np.testing.assert_array_equal(hk[:, 2], pk[:, 934])
    assert hb[0] == pb[281] and hb[2] == pb[934]
    assert not np.allclose(hk[:, 1], pk[:, 281])
    assert model.describe()["reused_imagenet_rows"] == {"tabby": 281, "hotdog": 934}
    # with the source's convolutions too, the new head reads exactly the source's fc2 features
    for la in model.backbone.layers:
        if la.name.startswith("block") and la.weights:
            la.set_weights(src.get_layer(la.name).get_weights())
    x = random_image(SIZE, SIZE, batch=2)
    head_in = keras.Model(model.input, model.backbone(model.get_layer("preprocess").output))(x)
    src_fc2 = keras.Model(src.input, src.get_layer("fc2").output)(
        model.get_layer("preprocess")(keras.ops.convert_to_tensor(x)))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(head_in), keras.ops.convert_to_numpy(src_fc2),
                               rtol=1e-5, atol=1e-5)
    # a .keras round trip keeps the kept top and the predictions
    compile_finetune(model)
    path = tmp_path / "vgg.keras"
    model.save(path)
    again = keras.saving.load_model(path)
    assert again.keep_imagenet_fc
    np.testing.assert_allclose(keras.ops.convert_to_numpy(again(x)), keras.ops.convert_to_numpy(model(x)),
                               atol=1e-5)


def test_reuse_imagenet_classes_errors(monkeypatch):
    with pytest.raises(ConfigError, match="224"):
        ks.get("finetune", backbone="vgg16", class_names=["tabby", "x"], backbone_weights="imagenet",
               input_shape=(64, 64, 3), reuse_imagenet_classes=True)
    with pytest.raises(ConfigError, match="convolutions only"):
        ks.get("finetune", backbone="vgg16", class_names=["tabby", "x"], backbone_weights="vgg16_imagenet",
               input_shape=(SIZE, SIZE, 3), reuse_imagenet_classes=True)
    monkeypatch.setattr(keras.applications, "VGG16", _narrow_vgg16)
    with pytest.raises(ConfigError, match="same input_shape"):  # source at another size
        ks.get("finetune", backbone="vgg16", class_names=["tabby", "x"], backbone_weights=None,
               input_shape=(64, 64, 3), reuse_imagenet_classes=True, source_model=_fake_vgg16_source())
    with pytest.raises(ConfigError, match="keep_imagenet_fc"):
        FineTuneClassifier(backbone=BACKBONE, num_classes=2, backbone_weights=None, keep_imagenet_fc=True)
    # a backbone with weighted layers between pooled features and classifier: the message
    # names the backbones that do support reuse
    src = keras.applications.MobileNetV3Small(include_top=True, weights=None, input_shape=(SIZE, SIZE, 3),
                                              include_preprocessing=False, alpha=0.75, minimalistic=True)
    with pytest.raises(ConfigError, match="vgg16 and vgg19") as ei:
        ks.get("finetune", backbone="mobilenet_v3_small", class_names=["tabby", "x"], backbone_weights=None,
               input_shape=(SIZE, SIZE, 3), reuse_imagenet_classes=True, source_model=src)
    assert "resnet50" in str(ei.value)


# ------------------------------------------------------------ vgg16_imagenet conv weights


def test_vgg16_imagenet_weights_load_the_converted_convolutions(monkeypatch, tmp_path):
    """weights='vgg16_imagenet' puts read_conv_weights' kernels into keras.applications.VGG16
    (a synthetic converted file stands in for resolve(); nothing is downloaded)."""
    import h5py

    from keras_style import weights as wreg
    from keras_style.backbones.vgg import read_conv_weights

    ref = keras.applications.VGG16(include_top=False, weights=None, input_shape=(SIZE, SIZE, 3))
    rng = np.random.default_rng(3)
    path = tmp_path / "vgg16_imagenet.weights.h5"
    with h5py.File(path, "w") as f:  # keras_h5_legacy layout: one group per layer
        for layer in ref.layers:
            if layer.weights:
                g = f.create_group(layer.name)
                k, b = layer.get_weights()
                g.create_dataset(f"{layer.name}/kernel:0", data=rng.normal(size=k.shape).astype("float32"))
                g.create_dataset(f"{layer.name}/bias:0", data=rng.normal(size=b.shape).astype("float32"))
        f.attrs["layer_names"] = [la.name.encode() for la in ref.layers if la.weights]
    convs = read_conv_weights(path, "vgg16")
    assert len(convs) == 13
    asked = []
    monkeypatch.setattr(wreg, "resolve", lambda name, **kw: asked.append(name) or path)
    m = ks.get("finetune", backbone="vgg16", num_classes=2, backbone_weights="vgg16_imagenet",
               input_shape=(SIZE, SIZE, 3), freeze=True)
    assert asked == ["vgg16_imagenet"]
    for name, (k, b) in convs.items():
        got_k, got_b = m.backbone.get_layer(name).get_weights()
        np.testing.assert_array_equal(got_k, k)
        np.testing.assert_array_equal(got_b, b)
    with pytest.raises(ConfigError, match="vgg16"):
        ks.get("finetune", backbone="resnet50", num_classes=2, backbone_weights="vgg16_imagenet",
               input_shape=(SIZE, SIZE, 3))

import keras
import numpy as np
import pytest

import kzoo
from kzoo.backbones import build_backbone, freeze_backbone
from kzoo.models.classification import compile_classifier
from kzoo.training import recipe as recipe_module


def _images(n=4, size=64):
    return np.random.default_rng(0).uniform(0, 255, (n, size, size, 3)).astype("float32")


def test_p2_freezes_resnet50s_stem_and_first_stage_and_every_batch_norm():
    backbone = build_backbone("resnet50", (64, 64, 3))
    frozen = freeze_backbone(backbone, "P2")
    layers = {layer.name: layer for layer in backbone.get_layer("resnet50_features").layers}
    # Detectron's FREEZE_AT 2: conv1 and res2 frozen, res3 on trainable; frozen batch norm everywhere.
    assert not layers["conv1_conv"].trainable
    assert not layers["conv2_block3_3_conv"].trainable
    assert layers["conv3_block1_1_conv"].trainable
    assert layers["conv5_block3_3_conv"].trainable
    batch_norms = [layer for layer in layers.values() if isinstance(layer, keras.layers.BatchNormalization)]
    assert batch_norms and not any(layer.trainable for layer in batch_norms)
    frozen_weights = {id(w) for w in backbone.non_trainable_weights}
    assert all(id(w) not in frozen_weights for w in layers["conv3_block1_1_conv"].weights)
    assert frozen == len([layer for layer in layers.values() if layer.weights and not layer.trainable])


def test_frozen_batch_norm_runs_on_its_statistics_in_training():
    backbone = build_backbone("tiny", (64, 64, 3))
    images = _images()
    # Stored statistics unlike a batch's, so batch statistics would give another answer.
    for layer in backbone.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(np.full(layer.moving_mean.shape, 0.3, "float32"))
            layer.moving_variance.assign(np.full(layer.moving_variance.shape, 2.0, "float32"))
    training = backbone(images, training=True)
    inference = backbone(images, training=False)
    assert not np.allclose(training["P5"], inference["P5"], atol=1e-3)

    freeze_backbone(backbone, "batch_norm")
    training = backbone(images, training=True)
    for level in ("P2", "P3", "P4", "P5"):
        np.testing.assert_allclose(training[level], inference[level], rtol=1e-5, atol=1e-5)
    assert all(layer.trainable for layer in backbone.layers if isinstance(layer, keras.layers.Conv2D))


def test_a_fit_step_leaves_frozen_weights_and_statistics_alone_and_trains_the_rest(tmp_path):
    model = kzoo.build("classifier", num_classes=3, backbone="tiny", input_shape=(64, 64, 3))
    freeze_backbone(model, "P3")
    compile_classifier(model)
    frozen = {w.path: np.array(w) for w in model.non_trainable_weights}
    trained = {w.path: np.array(w) for w in model.trainable_weights}
    assert frozen and trained
    model.fit(_images(8), np.arange(8) % 3, batch_size=4, epochs=1, verbose=0)
    for weight in model.non_trainable_weights:
        np.testing.assert_array_equal(np.array(weight), frozen[weight.path], err_msg=weight.path)
    assert any(not np.array_equal(np.array(w), trained[w.path]) for w in model.trainable_weights)

    path = str(tmp_path / "frozen.keras")
    model.save(path)
    reloaded = keras.models.load_model(path, safe_mode=True)
    assert [w.path for w in reloaded.trainable_weights] == [w.path for w in model.trainable_weights]


@pytest.mark.parametrize(
    "build, up_to, message",
    [
        (lambda: build_backbone("tiny", (64, 64, 3)), "P6", "up_to must be one of"),
        (lambda: keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)], name="mlp"), "P2", "has no backbone"),
        (lambda: build_backbone("tiny", (None, None, 3)), "P2", "needs a fixed input size"),
    ],
)
def test_bad_requests_are_refused(build, up_to, message):
    with pytest.raises(ValueError, match=message):
        freeze_backbone(build(), up_to)


@pytest.mark.parametrize(
    "argv, weights, freezing",
    [
        ([], None, None),
        (["--weights", "imagenet"], "imagenet", "P2"),  # fine-tuning freezes as Detectron does
        (["--weights", "imagenet", "--freeze-backbone", "none"], "imagenet", None),
        (["--weights", "w.h5", "--freeze-backbone", "batch_norm"], "w.h5", "batch_norm"),
        (["--freeze-backbone", "P3"], None, "P3"),
    ],
)
def test_recipes_pass_weights_and_freezing_to_train(monkeypatch, argv, weights, freezing):
    from kzoo_cli.recipe_args import recipe_parser

    calls = []
    monkeypatch.setattr(recipe_module, "train", lambda *args, **kwargs: calls.append(kwargs))
    parser = recipe_parser("", "retinanet", dataset="shapes", image_size=128, epochs=1, batch_size=2)
    recipe_module.train_recipe(parser.parse_args(["--backbone", "resnet50", *argv]), compile_fn=None)
    assert calls[0]["model_kwargs"].get("weights") == weights
    assert calls[0]["freeze_backbone"] == freezing


def test_recipes_refuse_an_unknown_freezing_level():
    from kzoo_cli.recipe_args import recipe_parser

    parser = recipe_parser("", "retinanet", dataset="shapes", image_size=128, epochs=1, batch_size=2)
    with pytest.raises(SystemExit):
        parser.parse_args(["--freeze-backbone", "P1"])

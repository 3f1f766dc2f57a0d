"""Every recipe's common arguments (``recipe_parser``), and the training pipeline's flips, zooms, caching and
autotuner."""

import glob
import os

import numpy as np
import pytest

import kzoo
from kzoo.models.registry import get_spec
from kzoo.training import fit_dataset
from tests.helpers import REPO, load_recipe

RECIPES = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(REPO, "recipes", "*.py")))


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_defaults_name_a_registered_model(name):
    args = load_recipe(name).parse_args([])
    assert args.model_name in kzoo.list_models()
    assert args.out is None and not args.flip and args.cpu_replicas is None
    assert args.dataset in kzoo.data.list_datasets() and args.epochs > 0 and args.batch_size > 0
    flipped = load_recipe(name).parse_args(["--flip", "--out", "somewhere", "--image-size", "96"])
    assert flipped.flip and flipped.out == "somewhere" and flipped.image_size == 96
    assert args.zoom_in is None and load_recipe(name).parse_args(["--zoom-in", "0.7"]).zoom_in == 0.7


def test_every_registered_model_has_aload_recipe():
    from kzoo_cli.main import RECIPE_ALIASES

    names = {load_recipe(name).parse_args([]).model_name for name in RECIPES}
    # Names one recipe trains with an argument (fcn8s: fcn --variant 8s; ssdlite: ssd --separable).
    aliases = {alias: load_recipe(recipe).parse_args(preset).model_name
               for alias, (recipe, preset) in RECIPE_ALIASES.items()}
    assert all(alias == name for alias, name in aliases.items()), aliases
    assert names | set(aliases) == set(kzoo.list_models())


def test_backbone_aliases_and_choices():
    assert load_recipe("deconvnet").parse_args(["--encoder", "small"]).backbone == "small"
    with pytest.raises(SystemExit):
        load_recipe("deconvnet").parse_args(["--backbone", "no_such_encoder"])


def test_flip_mirrors_images_and_labels_together():
    spec = get_spec("unet")
    size = tuple(kzoo.data.info("shapes/tiny").image_size)  # no resize: nearest-neighbour labels would shift
    plain = next(iter(fit_dataset(spec, "train", 16, size, dataset="shapes/tiny", take=16)))
    flipped = next(iter(fit_dataset(spec, "train", 16, size, dataset="shapes/tiny", take=16, flip=True)))
    images, labels = (np.asarray(t) for t in plain)
    out_images, out_labels = (np.asarray(t) for t in flipped)
    mirrored = []
    for i in range(16):
        same = np.array_equal(out_images[i], images[i]) and np.array_equal(out_labels[i], labels[i])
        mirror = np.array_equal(out_images[i], images[i, :, ::-1]) and np.array_equal(out_labels[i], labels[i, :, ::-1])
        assert same or mirror, i
        mirrored.append(mirror and not same)
    assert 0 < sum(mirrored) < 16  # about half: the chance of all or none is 2**-15


def test_zoom_in_enlarges_boxes_and_keeps_classes():
    spec = get_spec("classify_localize")
    dataset = "fashion_scenes/single_tiny"
    size = tuple(kzoo.data.info(dataset).image_size)
    _, plain = next(iter(fit_dataset(spec, "train", 16, size, dataset=dataset, take=16)))
    _, zoomed = next(iter(fit_dataset(spec, "train", 16, size, dataset=dataset, take=16, zoom_in=0.6)))
    np.testing.assert_array_equal(zoomed["class_logits"], plain["class_logits"])

    def sides(boxes):
        boxes = np.asarray(boxes)
        return boxes[:, 2:] - boxes[:, :2]

    # A window of side s maps a box side h to h / s: never smaller, and at most 1 / 0.6 times larger.
    ratio = sides(zoomed["box"]) / sides(plain["box"])
    assert np.all(ratio >= 1 - 1e-5) and np.all(ratio <= 1 / 0.6 * (1 + 1 / size[0]) + 1e-5)
    assert np.any(ratio > 1.05)


def test_cached_pipeline_gives_the_same_batches():
    spec = get_spec("unet")
    size = tuple(kzoo.data.info("shapes/tiny").image_size)
    plain = fit_dataset(spec, "train", 8, size, dataset="shapes/tiny", take=16)
    cached = fit_dataset(spec, "train", 8, size, dataset="shapes/tiny", take=16, cache=True)
    for _ in range(2):  # the second pass reads the cache
        for (images, labels), (cached_images, cached_labels) in zip(plain, cached):
            np.testing.assert_array_equal(images, cached_images)
            np.testing.assert_array_equal(labels, cached_labels)


def test_pipeline_leaves_the_autotuner_off_unless_asked_and_gives_the_same_batches():
    spec = get_spec("retinanet")
    size = tuple(kzoo.data.info("shapes/tiny").image_size)
    default = fit_dataset(spec, "train", 8, size, dataset="shapes/tiny", take=16)
    tuned = fit_dataset(spec, "train", 8, size, dataset="shapes/tiny", take=16, autotune=True)
    assert default.options().autotune.enabled is False and tuned.options().autotune.enabled is True
    batches = 0
    for (images, targets), (tuned_images, tuned_targets) in zip(default, tuned):
        np.testing.assert_array_equal(images, tuned_images)
        for name in targets:
            np.testing.assert_array_equal(targets[name], tuned_targets[name])
        batches += 1
    assert batches == 2

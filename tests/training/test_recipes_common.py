"""Every recipe's common arguments (``recipe_parser``), and flips in the training pipeline."""

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


def test_every_registered_model_has_aload_recipe():
    names = {load_recipe(name).parse_args([]).model_name for name in RECIPES}
    fcn = load_recipe("fcn")
    names |= {fcn.parse_args(["--variant", variant]).model_name for variant in fcn.VARIANTS}
    assert names == set(kzoo.list_models())


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

"""README.md's training examples run as written, each on its own (imports and inputs included).

Each ``python`` block that trains is executed in a fresh namespace, with
``train`` cut to one step of each split on the dataset's tiny variant and
``evaluate_model`` to two test images: what is checked is the examples'
names, arguments and the keys they read, not what the models reach.
"""

import os
import re

import pytest

import kzoo.evaluation
import kzoo.training
from kzoo.models.registry import get_spec
from tests.helpers import REPO, tiny_variant


def _training_blocks():
    text = open(os.path.join(REPO, "README.md")).read()
    return [block for block in re.findall(r"```python\n(.*?)```", text, re.S) if "train(" in block]


BLOCKS = _training_blocks()


def test_the_readme_has_a_training_example_per_task_family():
    trained = {name for block in BLOCKS for name in re.findall(r'train\("(\w+)"', block)}
    assert {"classifier", "unet", "classify_localize", "deeppose", "retinanet", "faster_rcnn", "rfcn",
            "mask_rcnn", "keypoint_rcnn"} <= trained


@pytest.mark.slow  # nine trainings, four of them region-based graphs
@pytest.mark.parametrize("block", BLOCKS, ids=[re.search(r'train\("(\w+)"', b).group(1) for b in BLOCKS])
def test_a_readme_training_example_runs_as_written(block, tmp_path, monkeypatch):
    real_train, real_evaluate = kzoo.training.train, kzoo.evaluation.evaluate_model

    def quick_train(name, out_dir, **kwargs):
        kwargs.update(epochs=1, steps_per_epoch=1, validation_steps=1, batch_size=2, verbose=0,
                      dataset=tiny_variant(kwargs.get("dataset") or get_spec(name).dataset))
        return real_train(name, str(tmp_path / out_dir), **kwargs)

    monkeypatch.setattr(kzoo.training, "train", quick_train)
    monkeypatch.setattr(kzoo.evaluation, "evaluate_model", lambda model, **kw: real_evaluate(model, limit=2, verbose=0))
    exec(compile(block, "README.md", "exec"), {"__name__": "readme_example"})

"""Train the detectors from scratch and report COCO box mAP (and mask or keypoint AP) on the test split.

For each detector (sliding window, YOLO, SSD, RetinaNet, R-CNN, Fast R-CNN,
Faster R-CNN FPN and C4, R-FCN, Mask R-CNN, keypoint R-CNN) and dataset
(``shapes``, ``fashion_scenes``, ``stick_figures``), trains from random weights with
``model.fit`` on the dataset's ``train`` split under a wall-clock budget
(the learning rate follows a cosine over the budget, and training stops when
the next epoch would not fit), then runs the exported inference graph
(resize, model, decode, NMS) on the ``test`` split and evaluates with
pycocotools through the model's evaluator (``ModelSpec.evaluate``). Prints a
table of box AP (mAP@[0.5:0.95]), AP50, AP75, mask or keypoint AP where the
model predicts them, training time and epochs.

    python benchmarks/train_detectors.py                       # everything, 20 min each
    python benchmarks/train_detectors.py --models retinanet --datasets shapes --minutes 5
    python benchmarks/train_detectors.py --minutes 2 --budget retinanet@shapes=10 --out runs/bench
    python benchmarks/train_detectors.py --models keypoint_rcnn --datasets stick_figures --clock cpu
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
BENCHMARKS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(BENCHMARKS, ".."))
sys.path.insert(0, BENCHMARKS)

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import kzoo  # noqa: E402
import kzoo.data  # noqa: E402
from kzoo.evaluation import predict_split  # noqa: E402
from kzoo.export.inference import make_inference_fn, num_external_proposals  # noqa: E402
from kzoo.models.registry import get_spec  # noqa: E402
from kzoo.training.pipeline import fit_dataset  # noqa: E402
from kzoo.training.trainer import precision_policy  # noqa: E402
from kzoo.tradeoffs.grid import ARCHITECTURES, AUGMENTATION  # noqa: E402
from budget import TimeBudget, save_trained  # noqa: E402

# Region-based models: the test-time counts of the papers scaled to 128-pixel images, and the
# TrainingSettings of the training graph ("training").
_RPN = {"num_channels": 64, "pre_nms_top_k": 1000, "post_nms_top_k": 300}
_RPN_TRAINING = dict(rpn_pre_nms_top_k=1000, rpn_post_nms_top_k=300, roi_num_samples=64)
_BOX_HEAD = {"representation_size": 256}


def _rpn_config(**model):
    """A model with an RPN: the tiny backbone, ``_RPN``, ``_RPN_TRAINING``, and ``model``'s own arguments."""
    return dict(model=dict(backbone="tiny", rpn=_RPN, **model), training=_RPN_TRAINING, learning_rate=2e-3,
                batch_size=8)


# The configurations benchmarked: small heads so that CPU training fits the budget.
CONFIGS = {
    "sliding_window_detector": dict(model=dict(backbone="tiny"), learning_rate=2e-3, batch_size=16),
    "yolo": dict(
        # The trade-off grid's YOLO: a convolutional head (the paper's fully connected one memorizes the training
        # images) on the stride-16 map (8 x 8 at 128 pixels, about the 7 x 7 grid, as in the paper).
        model=dict(backbone="tiny", **ARCHITECTURES["yolo"][1]), learning_rate=1e-3,
        batch_size=16,
        augment=AUGMENTATION["yolo"],
    ),
    "ssd": dict(model=dict(backbone="tiny", extra_channels=128), learning_rate=2e-3, batch_size=16),
    "ssdlite": dict(model=dict(backbone="tiny", extra_channels=128), learning_rate=2e-3, batch_size=16),
    "retinanet": dict(model=dict(backbone="tiny", num_channels=64, num_convs=2), learning_rate=2e-3, batch_size=16),
    "faster_rcnn": _rpn_config(variant="fpn", fpn_channels=64, roi_heads=_BOX_HEAD),
    "fast_rcnn": dict(
        model=dict(backbone="tiny", num_proposals=300, roi_heads=_BOX_HEAD),
        training=dict(roi_num_samples=64), learning_rate=2e-3, batch_size=8,
    ),
    # R-CNN's two stages: 80 % of the budget fine-tunes the CNN, 20 % trains the SVMs and box regressors.
    "rcnn": dict(
        model=dict(backbone="tiny", num_proposals=300, crop_size=64, representation_size=256),
        stages=[(0.8, dict(stage="finetune", num_samples=32)), (0.2, dict(stage="svm", num_samples=32))],
        learning_rate=2e-3, batch_size=8,
    ),
    "faster_rcnn_c4": {**_rpn_config(variant="c4", roi_heads=_BOX_HEAD), "builds": "faster_rcnn"},
    # R-FCN on the same stride-16 map and proposals as the C4 variant; its head has no per-RoI layer.
    "rfcn": _rpn_config(channels=256),
    # Faster R-CNN FPN as above, with Mask R-CNN's heads at a narrower width.
    "mask_rcnn": _rpn_config(fpn_channels=64, roi_heads=_BOX_HEAD, mask_head={"channels": 64}),
    # The keypoint head (eight convolutions per RoI) dominates the step: half the RoI sample, with the head
    # trained on 2 of its 8 positives per image (for about 2.5 people), makes a step 1.9 times cheaper than
    # on all 8 (0.51 against 0.97 CPU-s): 12 epochs in the budget instead of 6; flips swap left and right joints.
    "keypoint_rcnn": {
        **_rpn_config(fpn_channels=64, roi_heads=_BOX_HEAD, keypoint_head={"channels": 64}),
        "training": {**_RPN_TRAINING, "roi_num_samples": 32, "instance_num_samples": 2}, "augment": dict(flip=True),
    },
}
# What each task's evaluator adds beside the box metrics.
EXTRA_METRICS = ("mask_AP", "mask_AP50", "mask_AP75", "keypoint_AP", "keypoint_AP50", "keypoint_AP75")


def run(
    name, dataset, minutes, max_epochs=1000, train_limit=None, test_limit=None, verbose=2, out_dir=None, clock="wall",
    mixed_precision=False,
):
    """Train ``name`` on ``dataset`` for about ``minutes`` and evaluate it; returns a result dict.

    ``clock="cpu"`` measures the budget in process CPU time over the usable
    cores, so that other jobs on a shared machine do not eat into it.
    ``mixed_precision`` builds the model under Keras's mixed policy, as ``kzoo train --mixed-precision`` does.
    With ``out_dir``, the trained model is saved there before evaluation, as ``<name>/best.keras`` on
    the model's default dataset and ``<name>_<dataset>/best.keras`` on another.
    """
    config = CONFIGS[name]
    registered = config.get("builds", name)
    spec = get_spec(registered)
    info = kzoo.data.info(dataset)
    image_size = tuple(info.image_size)
    keras.utils.set_random_seed(0)
    with precision_policy(mixed_precision):
        model = kzoo.build(registered, num_classes=info.num_classes, input_shape=image_size + (3,), **config["model"])
    batch_size = config["batch_size"]
    num_proposals = num_external_proposals(model)
    train = fit_dataset(
        spec, "train", batch_size, image_size, shuffle=True, dataset=dataset, take=train_limit,
        num_proposals=num_proposals, **config.get("augment", {}),
    )
    # A model trained in stages (R-CNN) splits the budget; the others have one stage.
    stages = config.get("stages", [(1.0, config.get("training"))])
    start = time.perf_counter()
    epochs = steps = 0
    for share, settings in stages:
        # Region-based detectors fit their training graph, which shares the model's weights.
        fit_model = model if spec.training_model is None else spec.training_model(model, settings)
        spec.compile(fit_model)
        budget = TimeBudget(
            share * minutes * 60.0, clock=clock, base_learning_rate=config["learning_rate"], warmup_steps=100,
            whole_epochs=True,
        )
        fit_model.fit(train, epochs=max_epochs, callbacks=[budget], verbose=verbose)
        epochs, steps = epochs + budget.epochs, steps + budget.steps
    train_seconds = time.perf_counter() - start
    if out_dir:
        save_trained(model, out_dir, name if dataset == spec.dataset else f"{name}_{dataset.replace('/', '_')}")
    inference = tf.function(make_inference_fn(model))
    elements, predictions = predict_split(
        lambda *inputs: inference(*[tf.constant(x) for x in inputs]), dataset, "test", test_limit,
        num_proposals=num_proposals,
    )
    metrics = spec.evaluate(elements, predictions, info)
    return {
        "model": name,
        "dataset": dataset,
        "backbone": config["model"].get("backbone"),
        "parameters": model.count_params(),
        "epochs": epochs,
        "steps": steps,
        "train_seconds": round(train_seconds, 1),
        "mixed_precision": mixed_precision,
        **{key: metrics[key] for key in ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR100")},
        **{key: metrics[key] for key in EXTRA_METRICS if key in metrics},
        "per_class_AP": metrics["per_class_AP"],
    }


def format_results(results):
    header = (
        f"{'model':<24} {'dataset':<15} {'backbone':<8} {'params':>9} {'epochs':>6} {'train s':>8} "
        f"{'AP':>6} {'AP50':>6} {'AP75':>6} {'mask/keypoint AP, AP50':>23}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        kind = "mask" if "mask_AP" in r else "keypoint" if "keypoint_AP" in r else None
        extra = f"{r[kind + '_AP']:>11.3f} {r[kind + '_AP50']:>11.3f}" if kind else f"{'-':>23}"
        lines.append(
            f"{r['model']:<24} {r['dataset']:<15} {r['backbone']:<8} {r['parameters']:>9} {r['epochs']:>6} "
            f"{r['train_seconds']:>8.0f} {r['AP']:>6.3f} {r['AP50']:>6.3f} {r['AP75']:>6.3f} {extra}"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["retinanet", "ssd", "yolo", "sliding_window_detector"])
    parser.add_argument("--datasets", nargs="+", default=["shapes", "fashion_scenes"])
    parser.add_argument("--minutes", type=float, default=20.0, help="training budget per model and dataset")
    parser.add_argument(
        "--budget", nargs="*", default=[], metavar="MODEL[@DATASET]=MINUTES", help="budgets replacing --minutes"
    )
    parser.add_argument("--out", default=None, help="save the trained models here")
    parser.add_argument("--max-epochs", type=int, default=1000)
    parser.add_argument("--train-limit", type=int, default=None, help="use only the first N training images")
    parser.add_argument("--test-limit", type=int, default=None, help="evaluate on the first N test images")
    parser.add_argument("--json", default=None, help="also write the results here")
    parser.add_argument("--verbose", type=int, default=2)
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall", help="how the budget is measured")
    parser.add_argument("--mixed-precision", action="store_true",
                        help="bfloat16 compute on CPUs, float16 on GPUs (kzoo train --mixed-precision)")
    args = parser.parse_args(argv)
    budgets = dict(item.split("=") for item in args.budget)
    results = []
    for dataset in args.datasets:
        for name in args.models:
            minutes = float(budgets.get(f"{name}@{dataset}", budgets.get(name, args.minutes)))
            result = run(
                name, dataset, minutes, args.max_epochs, args.train_limit, args.test_limit, args.verbose, args.out,
                args.clock, args.mixed_precision,
            )
            print(json.dumps(result), flush=True)
            results.append(result)
    print(format_results(results))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)
    return results


if __name__ == "__main__":
    main()

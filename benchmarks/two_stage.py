"""The region-based detectors against each other: proposal recall, test-time speed, training-step time.

Three subcommands, each printing a table (and, with ``--json PATH``,
writing its results):

``recall``
    Average recall of region proposals on a test split (default ``shapes``
    test): selective search (``kzoo.data.proposal_cache.split_proposals``,
    cached per split) against the RPN of a trained Faster R-CNN checkpoint.
    The RPN's proposals come from the checkpoint's own layers (backbone,
    FPN, RPN head, anchors) and a ``RegionProposals`` layer with the
    model's NMS settings, keeping the largest count asked for (300). Each
    method is judged on its first N proposals by
    ``kzoo.metrics.proposals.proposal_recall``: recall at IoU 0.5 (AR50@N)
    and averaged over IoU 0.5:0.95 (AR@N), for N = 100 and 300.

``speed``
    The test-time comparison of R-CNN, Fast R-CNN and Faster R-CNN:
    seconds per image at batch 1, on the same backbone (``tiny``), image
    size (128) and box-head width (256), P = 300 proposals, with random
    weights (the network's cost does not depend on its training, except
    for the final NMS, which has fewer boxes above the score threshold in
    a trained model). Models that take external proposals (R-CNN, Fast
    R-CNN) get selective search run on the host, timed apart from the
    network; the table shows the search, the network and their sum, and
    each total as a multiple of Faster R-CNN's, all measured in one run.
    The network runs as a ``tf.function`` of ``kzoo.export.make_inference_fn``
    (the graph every export holds: uint8 images in, detections out). For
    every image, the search and the networks are called in alternation
    (``timing.alternating_median_ms``), so load from other processes falls
    on all alike; each time is the median over repeats, then the median
    over images. Selective search's time grows quickly with image size:
    on PASCAL-sized images it dominates far more than at 128 pixels.

``step``
    Training-step time of Faster R-CNN's one-pass training graph against a
    step that runs the backbone twice, on the same batch (8 ``shapes`` train
    images with their ground truth padded as ``ModelSpec.targets`` does),
    the same weights and the same optimizer (Adam with gradient clipping,
    from ``ModelSpec.compile``), in the configuration
    ``benchmarks/train_detectors.py`` trains. Four calls are timed, in
    alternation:

    - ``one-pass (train_on_batch)``: the compiled training graph's
      ``train_on_batch``, what ``fit`` runs;
    - ``one-pass``: a ``tf.function`` that runs the training graph (backbone
      once: RPN losses, proposals, RoI sampling, RoI head losses) under a
      ``GradientTape``, sums the mean per-image losses and applies Adam;
    - ``two-pass``: the form of keras-cv's unreleased Faster R-CNN port.
      The same ``tf.function`` step, preceded by one forward pass of the
      whole inference model (backbone, FPN, RPN, proposals, RoI head,
      decoding with NMS) on the same images, outside the tape; its
      detections are discarded, but ``0 * sum(detection_scores)``
      (gradient stopped) is added to the loss and returned, so the pass
      cannot be pruned from the graph. Its backward pass is the one-pass
      step's: only the extra forward pass differs;
    - ``inference forward alone``: the two-pass step's extra pass by itself
      (no training), for reading the difference.

    The ratio two-pass / one-pass is the cost of the second pass. Note that
    the extra pass is the whole inference model: at test time its RoI head
    runs on every proposal (300 per image) and decodes them with NMS, where
    the training graph's head sees only the sampled RoIs (64 per image).

Examples:

    python benchmarks/two_stage.py recall --checkpoint runs/bench/faster_rcnn/best.keras
    python benchmarks/two_stage.py recall --checkpoint runs/bench/faster_rcnn/best.keras --limit 100 --json recall.json
    python benchmarks/two_stage.py speed                                 # rcnn, fast_rcnn, faster_rcnn
    python benchmarks/two_stage.py speed --models fast_rcnn faster_rcnn --images 10 --repeats 3
    python benchmarks/two_stage.py step --batch-size 8 --repeats 10 --json step.json
"""

import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
BENCHMARKS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(BENCHMARKS, ".."))
sys.path.insert(0, BENCHMARKS)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import kzoo  # noqa: E402
import kzoo.data  # noqa: E402
from kzoo.data.proposal_cache import pad_proposals, split_proposals  # noqa: E402
from kzoo.data.selective_search import selective_search  # noqa: E402
from kzoo.export.inference import make_inference_fn, num_external_proposals  # noqa: E402
from kzoo.layers import RegionProposals  # noqa: E402
from kzoo.metrics.proposals import proposal_recall  # noqa: E402
from kzoo.models.registry import get_spec  # noqa: E402
from kzoo.models.two_stage import TwoStageParts  # noqa: E402
from timing import alternating_median_ms  # noqa: E402

SPEED_MODELS = ("rcnn", "fast_rcnn", "faster_rcnn")
# Comparable heads: the box head of every model is 256 wide; Faster R-CNN is train_detectors.py's FPN configuration.
HEAD_WIDTH = 256


# ----------------------------------------------------------------------------------------------------- recall


def rpn_proposal_model(model, max_proposals):
    """images -> the RPN's proposals [N, max_proposals, 4], best first, from ``model``'s own layers.

    The proposal layer copies the model's (NMS threshold, minimum size, box
    coding) with ``post_nms_top_k = max_proposals`` and a ``pre_nms_top_k``
    of at least that many.
    """
    parts = TwoStageParts.from_model(model)
    if parts.rpn_head is None or parts.proposals is None:
        raise ValueError(f"model {model.name!r} has no region proposal network")
    images = keras.Input(tuple(model.input_shape[1:]), name="images")
    features = parts.features(images)
    objectness, deltas, anchors = parts.rpn(features, images)
    config = parts.proposals.get_config()
    config.update(
        name="recall_proposals",
        post_nms_top_k=int(max_proposals),
        pre_nms_top_k=max(int(config["pre_nms_top_k"]), int(max_proposals)),
    )
    proposals, _ = RegionProposals.from_config(config)([objectness, deltas, anchors])
    return keras.Model(images, proposals, name="rpn_proposals")


def _real_counts(proposals, limit):
    """Mean number of positive-area rows among the first ``limit`` of each image's proposals."""
    counts = []
    for boxes in proposals:
        boxes = np.asarray(boxes).reshape(-1, 4)
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        counts.append(min(int((area > 0).sum()), limit))
    return float(np.mean(counts)) if counts else float("nan")


def run_recall(
    checkpoint, dataset="shapes", split="test", limit=None, counts=(100, 300), batch_size=16,
    cache_dir=None, data_dir=None, verbose=1,
):
    """Proposal recall of selective search and of a checkpoint's RPN on one split.

    Args:
        checkpoint: a Faster R-CNN ``.keras`` file (or a built model).
        dataset, split: the images and ground truth judged.
        limit: only the first N images (the split slice ``split[:N]``, cached on its own).
        counts: the numbers of proposals N judged.
        batch_size: images per RPN batch.
        cache_dir, data_dir: selective search's cache folder and the TFDS folder (defaults when None).
        verbose: 1 shows selective search's progress bar the first time a split is searched.

    Returns:
        dict with ``rows`` (one per method: ``method``, ``proposals_per_image``
        and ``AR50@N`` / ``AR@N`` per count), ``num_images``,
        ``num_ground_truth``, ``dataset``, ``split``, ``checkpoint``.
    """
    counts = tuple(sorted(int(n) for n in counts))
    largest = counts[-1]
    split = split if limit is None else f"{split}[:{int(limit)}]"
    if isinstance(checkpoint, keras.Model):
        model, checkpoint = checkpoint, None
    else:
        model = keras.saving.load_model(checkpoint, safe_mode=True)
    elements = list(kzoo.data.load(dataset, split, data_dir=data_dir).as_numpy_iterator())
    if not elements:
        raise ValueError(f"{dataset} {split} holds no images")

    searched = split_proposals(dataset, split, largest, cache_dir=cache_dir, data_dir=data_dir, verbose=verbose)
    search_boxes = [searched[int(e["image_id"])] for e in elements]

    rpn = rpn_proposal_model(model, largest)
    height, width = rpn.input_shape[1:3]
    predict = tf.function(lambda x: rpn(x, training=False))
    rpn_boxes = []
    for start in range(0, len(elements), batch_size):
        batch = [tf.image.resize(tf.cast(e["image"], tf.float32), (height, width))
                 for e in elements[start:start + batch_size]]
        rpn_boxes.extend(np.asarray(predict(tf.stack(batch))))

    rows = []
    num_gt = 0
    for method, boxes in (("selective search", search_boxes), ("RPN", rpn_boxes)):
        result = proposal_recall(elements, boxes, counts=counts)
        num_gt = result["num_ground_truth"]
        row = {"method": method, "proposals_per_image": _real_counts(boxes, largest)}
        for n in counts:
            row[f"AR50@{n}"], row[f"AR@{n}"] = result[f"AR50@{n}"], result[f"AR@{n}"]
        rows.append(row)
    return {
        "dataset": dataset, "split": split, "checkpoint": checkpoint, "counts": list(counts),
        "num_images": len(elements), "num_ground_truth": num_gt, "rows": rows,
    }


def format_recall(result):
    counts = result["counts"]
    header = f"{'method':<18} {'props/img':>9}" + "".join(f" {f'AR50@{n}':>9} {f'AR@{n}':>8}" for n in counts)
    lines = [
        f"proposal recall on {result['dataset']} {result['split']}: {result['num_images']} images, "
        f"{result['num_ground_truth']} objects",
        header, "-" * len(header),
    ]
    for row in result["rows"]:
        lines.append(
            f"{row['method']:<18} {row['proposals_per_image']:>9.1f}"
            + "".join(f" {row[f'AR50@{n}']:>9.3f} {row[f'AR@{n}']:>8.3f}" for n in counts)
        )
    lines.append("AR50@N: recall at IoU 0.5 of the first N proposals; AR@N: recall averaged over IoU 0.5:0.95.")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------------ speed


def speed_configs(num_proposals):
    """Builder arguments of each model: the same backbone and head width, P proposals at test time."""
    return {
        "rcnn": dict(num_proposals=num_proposals, representation_size=HEAD_WIDTH),
        "fast_rcnn": dict(num_proposals=num_proposals, roi_heads={"representation_size": HEAD_WIDTH}),
        "faster_rcnn": dict(
            variant="fpn", fpn_channels=64,
            rpn={"num_channels": 64, "pre_nms_top_k": max(1000, num_proposals), "post_nms_top_k": num_proposals},
            roi_heads={"representation_size": HEAD_WIDTH},
        ),
    }


def run_speed(
    models=SPEED_MODELS, num_images=20, repeats=5, num_proposals=300, dataset="shapes", split="test",
    image_size=128, backbone="tiny", num_classes=5, warmup=3, configs=None, data_dir=None, log=print,
):
    """Seconds per image (batch 1) of each model: selective search on the host, the network, their sum.

    Args:
        models: registered names; names not in ``kzoo.list_models()`` are skipped with a note.
        num_images: the first images of ``dataset`` ``split`` timed.
        repeats: timed calls of each step per image (after ``warmup`` untimed ones on the first image, 1 on the others).
        num_proposals: P, proposals per image of every model.
        image_size, backbone, num_classes: of every model.
        configs: builder arguments by name; ``speed_configs(num_proposals)`` when None.
        log: where notes go.

    Returns:
        dict with ``rows`` (one per model: ``model``, ``parameters``,
        ``proposals`` ("selective search" or "RPN"), ``search_s``,
        ``network_s``, ``total_s``, ``vs_faster_rcnn``), ``skipped`` and the
        settings.
    """
    available = set(kzoo.list_models())
    names, skipped = [], []
    for name in models:
        if name in available:
            names.append(name)
        else:
            skipped.append(name)
            log(f"note: {name!r} is not a registered model (kzoo.list_models()); skipped")
    configs = speed_configs(num_proposals) if configs is None else configs
    images = [e["image"] for e in kzoo.data.load(dataset, f"{split}[:{int(num_images)}]", data_dir=data_dir)
              .as_numpy_iterator()]
    if not images:
        raise ValueError(f"{dataset} {split} holds no images")

    predictors, external, parameters = {}, {}, {}
    for name in names:
        keras.utils.set_random_seed(0)
        model = kzoo.build(
            name, num_classes=num_classes, backbone=backbone, input_shape=(image_size, image_size, 3),
            **configs.get(name, {}),
        )
        external[name] = num_external_proposals(model)
        if external[name] not in (None, num_proposals):
            raise ValueError(f"{name} takes {external[name]} proposals, not {num_proposals}: fix its configuration")
        predictors[name] = tf.function(make_inference_fn(model))
        parameters[name] = model.count_params()
    searches = any(external[name] is not None for name in names)

    search_ms, network_ms = [], {name: [] for name in names}
    for index, image in enumerate(images):
        padded, _ = pad_proposals(selective_search(image, max_proposals=num_proposals), num_proposals)
        pixels, proposals = tf.constant(image[None]), tf.constant(padded[None])

        def search(image=image):
            return pad_proposals(selective_search(image, max_proposals=num_proposals), num_proposals)[0]

        def network(name):
            if external[name] is None:
                return lambda: predictors[name](pixels)
            return lambda: predictors[name](pixels, proposals)

        fns = ([search] if searches else []) + [network(name) for name in names]
        times = alternating_median_ms(fns, (), repeats, warmup=warmup if index == 0 else 1)
        if searches:
            search_ms.append(times.pop(0))
        for name, ms in zip(names, times, strict=True):
            network_ms[name].append(ms)

    search_s = statistics.median(search_ms) / 1000.0 if searches else 0.0
    rows = []
    for name in names:
        network_s = statistics.median(network_ms[name]) / 1000.0
        own_search = search_s if external[name] is not None else 0.0
        rows.append({
            "model": name, "parameters": parameters[name],
            "proposals": "RPN" if external[name] is None else "selective search",
            "search_s": own_search, "network_s": network_s, "total_s": own_search + network_s,
        })
    reference = next((row["total_s"] for row in rows if row["model"] == "faster_rcnn"), None)
    for row in rows:
        row["vs_faster_rcnn"] = row["total_s"] / reference if reference else float("nan")
    return {
        "rows": rows, "skipped": skipped, "num_images": len(images), "repeats": repeats,
        "num_proposals": num_proposals, "image_size": image_size, "backbone": backbone, "weights": "random",
        "dataset": dataset, "split": split,
    }


def format_speed(result):
    header = (
        f"{'model':<12} {'params':>9} {'proposals':<17} {'search s':>9} {'network s':>10} {'total s':>9} "
        f"{'x faster_rcnn':>13}"
    )
    lines = [
        f"seconds per image, batch 1: {result['backbone']} backbone, {result['image_size']}-pixel images, "
        f"P = {result['num_proposals']}, {result['weights']} weights; median over {result['num_images']} "
        f"{result['dataset']} {result['split']} images of the median of {result['repeats']} repeats",
        header, "-" * len(header),
    ]
    for row in result["rows"]:
        search = f"{row['search_s']:>9.4f}" if row["proposals"] != "RPN" else f"{'-':>9}"
        lines.append(
            f"{row['model']:<12} {row['parameters']:>9} {row['proposals']:<17} {search} {row['network_s']:>10.4f} "
            f"{row['total_s']:>9.4f} {row['vs_faster_rcnn']:>13.2f}"
        )
    for name in result["skipped"]:
        lines.append(f"{name}: not registered, skipped")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------------- step


def _faster_rcnn_config():
    """train_detectors.py's Faster R-CNN (FPN) configuration: builder arguments and training settings."""
    from train_detectors import CONFIGS

    config = CONFIGS["faster_rcnn"]
    return config["model"], config.get("training")


def _training_batch(spec, dataset, split, batch_size, image_size, data_dir=None):
    """The first ``batch_size`` elements of a split as the training graph's (inputs, placeholder targets)."""
    ds = kzoo.data.load(dataset, split, data_dir=data_dir).take(batch_size)
    ds = ds.map(lambda element: spec.targets(element, image_size)).batch(batch_size)
    inputs, targets = next(iter(ds))
    if int(inputs["images"].shape[0]) != batch_size:
        raise ValueError(f"{dataset} {split} has fewer than {batch_size} images")
    return inputs, targets


def run_step(
    batch_size=8, repeats=10, warmup=3, dataset="shapes", split="train", model_kwargs=None, training=None,
    num_classes=None, data_dir=None,
):
    """Median ms of Faster R-CNN's one-pass training step and of the two-pass (backbone twice) step.

    Args:
        batch_size: images per step.
        repeats: timed calls of each step, in alternation (after ``warmup`` untimed ones).
        dataset, split: where the batch comes from (its first ``batch_size`` images).
        model_kwargs, training: builder arguments and ``TrainingSettings``;
            train_detectors.py's Faster R-CNN configuration when None.
        num_classes: the dataset's when None.

    Returns:
        dict with ``rows`` (``step``, ``ms``, ``vs_one_pass``) and the settings.
    """
    spec = get_spec("faster_rcnn")
    if model_kwargs is None and training is None:
        model_kwargs, training = _faster_rcnn_config()
    model_kwargs = dict(model_kwargs or {})
    info = kzoo.data.info(dataset)
    image_size = tuple(info.image_size)
    model_kwargs.setdefault("input_shape", image_size + (3,))
    keras.utils.set_random_seed(0)
    model = kzoo.build("faster_rcnn", num_classes=num_classes or info.num_classes, **model_kwargs)
    training_model = spec.training_model(model, training)
    spec.compile(training_model)
    optimizer = training_model.optimizer
    variables = training_model.trainable_variables
    if not optimizer.built:
        optimizer.build(variables)
    x, y = _training_batch(spec, dataset, split, batch_size, tuple(model.input_shape[1:3]), data_dir)

    def total_loss(losses):
        return tf.add_n([tf.reduce_mean(value) for value in losses.values()] + list(training_model.losses))

    @tf.function
    def one_pass(inputs):
        with tf.GradientTape() as tape:
            loss = total_loss(training_model(inputs, training=True))
        optimizer.apply(tape.gradient(loss, variables), variables)
        return loss

    @tf.function
    def two_pass(inputs):
        # The whole inference model first (keras-cv's port: proposals from a forward pass), outside the tape.
        detections = model(inputs["images"], training=False)
        forced = tf.stop_gradient(0.0 * tf.reduce_sum(detections["detection_scores"]))
        with tf.GradientTape() as tape:
            loss = total_loss(training_model(inputs, training=True)) + forced
        optimizer.apply(tape.gradient(loss, variables), variables)
        return loss, forced

    @tf.function
    def inference_forward(images):
        return model(images, training=False)["detection_scores"]

    steps = {
        "one-pass (train_on_batch)": lambda: training_model.train_on_batch(x, y),
        "one-pass": lambda: one_pass(x),
        "two-pass (backbone twice)": lambda: two_pass(x),
        "inference forward alone": lambda: inference_forward(x["images"]),
    }
    times = alternating_median_ms(list(steps.values()), (), repeats, warmup=warmup)
    one = times[1]
    rows = [{"step": name, "ms": ms, "vs_one_pass": ms / one} for name, ms in zip(steps, times, strict=True)]
    return {
        "rows": rows, "batch_size": batch_size, "repeats": repeats, "image_size": list(image_size),
        "dataset": dataset, "split": split, "parameters": model.count_params(),
    }


def format_step(result):
    header = f"{'step':<28} {'ms/step':>9} {'x one-pass':>10}"
    lines = [
        f"Faster R-CNN training step: batch {result['batch_size']} of {result['dataset']} {result['split']}, "
        f"{result['image_size'][0]}-pixel images, {result['parameters']} parameters; median of "
        f"{result['repeats']} alternating repeats",
        header, "-" * len(header),
    ]
    for row in result["rows"]:
        lines.append(f"{row['step']:<28} {row['ms']:>9.1f} {row['vs_one_pass']:>10.2f}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------------- main


def _write_json(path, result):
    if path:
        with open(path, "w") as handle:
            json.dump(result, handle, indent=1, default=float)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    recall = commands.add_parser("recall", help="proposal recall: selective search against a trained RPN")
    recall.add_argument("--checkpoint", default="runs/bench/faster_rcnn/best.keras", help="a Faster R-CNN .keras file")
    recall.add_argument("--dataset", default="shapes")
    recall.add_argument("--split", default="test")
    recall.add_argument("--limit", type=int, default=None, help="only the first N images")
    recall.add_argument("--counts", type=int, nargs="+", default=[100, 300], help="proposals N judged")
    recall.add_argument("--batch-size", type=int, default=16, help="images per RPN batch")

    speed = commands.add_parser("speed", help="test-time seconds per image of R-CNN, Fast R-CNN, Faster R-CNN")
    speed.add_argument("--models", nargs="+", default=list(SPEED_MODELS), help="registered names (others are skipped)")
    speed.add_argument("--images", type=int, default=20, help="images timed")
    speed.add_argument("--repeats", type=int, default=5, help="timed calls per image")
    speed.add_argument("--proposals", type=int, default=300, help="P, proposals per image")
    speed.add_argument("--dataset", default="shapes")
    speed.add_argument("--image-size", type=int, default=128)
    speed.add_argument("--backbone", default="tiny")

    step = commands.add_parser("step", help="training step: one pass of the backbone against two")
    step.add_argument("--batch-size", type=int, default=8)
    step.add_argument("--repeats", type=int, default=10, help="timed steps of each kind")
    step.add_argument("--dataset", default="shapes")

    for sub in (recall, speed, step):
        sub.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    if args.command == "recall":
        result = run_recall(args.checkpoint, args.dataset, args.split, args.limit, args.counts, args.batch_size)
        table = format_recall(result)
    elif args.command == "speed":
        result = run_speed(
            args.models, args.images, args.repeats, args.proposals, args.dataset, image_size=args.image_size,
            backbone=args.backbone,
        )
        table = format_speed(result)
    else:
        result = run_step(args.batch_size, args.repeats, dataset=args.dataset)
        table = format_step(result)
    print()
    print(table)
    print(f"({time.perf_counter() - start:.0f} s)")
    _write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()

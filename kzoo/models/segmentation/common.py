"""What every semantic segmentation model shares: targets, losses, compile and decode.

Every kzoo segmentation model maps float RGB images [N, H, W, 3] in [0, 255]
to per-pixel class logits [N, H, W, num_classes + 1] at the input size:
channel 0 is the background and channel ``c + 1`` object class ``c``, the
labels of a dataset element's ``segmentation`` map.
"""

import keras
import tensorflow as tf

from kzoo.losses.dice import CrossEntropyDiceLoss, DiceLoss
from kzoo.metrics.replica_usage import ReplicaUsage
from kzoo.metrics.segmentation import SegmentationIoU
from kzoo.optimizers import FusedAdam

LOSSES = ("cross_entropy", "dice", "cross_entropy_dice")


def output_channels(num_classes):
    """Logit channels of a segmentation model: the classes and the background."""
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    return int(num_classes) + 1


def segmentation_loss(name="cross_entropy"):
    """The loss ``name`` on logits: per-pixel softmax cross-entropy, soft Dice, or their sum.

    Args:
        name: one of ``LOSSES``. ``"dice"`` and ``"cross_entropy_dice"`` are
            ``kzoo.losses.DiceLoss`` and ``CrossEntropyDiceLoss`` (per-image
            soft Dice averaged over all classes, background included).

    Returns:
        A Keras loss taking int label maps [N, H, W] and logits [N, H, W, C].
    """
    if name == "cross_entropy":
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    if name == "dice":
        return DiceLoss(from_logits=True)
    if name == "cross_entropy_dice":
        return CrossEntropyDiceLoss(from_logits=True)
    raise ValueError(f"loss must be one of {LOSSES}, got {name!r}")


def compile_segmentation(model, strategy=None, loss="cross_entropy", learning_rate=2e-3, optimizer=None):
    """The standard compile: Adam, the chosen loss, pixel accuracy and mean IoU.

    Args:
        model: a segmentation model (logits [N, H, W, C]).
        strategy: the ``tf.distribute`` strategy it was built under; adds a
            ``ReplicaUsage`` metric.
        loss: a name from ``LOSSES``.
        learning_rate: Adam's learning rate (a float or a schedule).
        optimizer: an optimizer to use instead of Adam.
    """
    num_channels = model.output_shape[-1]
    metrics = [
        keras.metrics.SparseCategoricalAccuracy(name="pixel_accuracy"),
        SegmentationIoU(num_channels, sparse_y_pred=False, name="mean_iou"),
    ]
    if strategy is not None:
        metrics.append(ReplicaUsage(strategy.num_replicas_in_sync))
    model.compile(
        optimizer=optimizer or FusedAdam(learning_rate),
        loss=segmentation_loss(loss),
        metrics=metrics,
    )


def segmentation_targets(element, image_size):
    """Dataset element -> (float image [H, W, 3] in [0, 255], int32 label map [H, W]) at ``image_size``.

    Labels are resized by nearest neighbour, so they stay whole classes.
    """
    image = tf.image.resize(tf.cast(element["image"], tf.float32), image_size)
    labels = tf.image.resize(element["segmentation"][..., None], image_size, method="nearest")[..., 0]
    return image, tf.cast(labels, tf.int32)


def decode_segmentation(model, logits):
    """Logits [N, H, W, C] -> ``segmentation_probs`` (softmax) and ``segmentation_mask`` (argmax, int32)."""
    del model  # every segmentation model decodes the same way
    probabilities = tf.nn.softmax(logits, axis=-1)
    return {
        "segmentation_probs": probabilities,
        "segmentation_mask": tf.argmax(logits, axis=-1, output_type=tf.int32),
    }

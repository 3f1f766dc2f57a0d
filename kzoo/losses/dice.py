"""Soft Dice coefficient and Dice loss for semantic segmentation (the lecture's definition).

``Dice(A, B) = 2 |A n B| / (|A| + |B|)`` with the soft set sizes
``|A n B| = sum(y * p)``, ``|A| = sum(y)``, ``|B| = sum(p)`` taken over the
pixels of one image and one class, and ``DiceLoss = 1 - Dice`` averaged over
classes. Computing it per image (not over the whole batch) makes every image
count the same and makes the Keras reduction exact under ``tf.distribute``.
"""

import keras
import tensorflow as tf

from kzoo.losses import reduction as red

_EPSILON = 1e-7


def _targets_and_mask(y_true, y_pred, ignore_class):
    """One-hot targets [N, ..., C] and a float mask [N, ..., 1] of pixels that count (None: all)."""
    y_pred = tf.convert_to_tensor(y_pred)
    dtype = y_pred.dtype
    num_classes = tf.shape(y_pred)[-1]
    y_true = tf.convert_to_tensor(y_true)
    if y_true.shape.rank == y_pred.shape.rank and y_true.shape[-1] == 1 and y_pred.shape[-1] != 1:
        # Label maps often arrive as [N, H, W, 1]: that is a label, not a one-channel one-hot.
        y_true = tf.squeeze(y_true, -1)
    if y_true.shape.rank == y_pred.shape.rank - 1:
        labels = red.labels_from_float(y_true)
        if ignore_class is None:
            return tf.one_hot(labels, num_classes, dtype=dtype), None
        valid = labels != ignore_class
        # one_hot of -1 is all zeros, so ignored pixels add nothing to either set.
        targets = tf.one_hot(tf.where(valid, labels, -1), num_classes, dtype=dtype)
    else:
        targets = tf.cast(y_true, dtype)
        if ignore_class is None:
            return targets, None
        ignored = tf.one_hot(ignore_class, num_classes, dtype=dtype)
        valid = tf.reduce_sum(targets * ignored, axis=-1) < 0.5
    return targets, tf.cast(valid, dtype)[..., None]


def _class_weights(class_weights, ignore_class, num_classes, dtype):
    """[C] weights of the class average; an ignored class inside [0, C) gets weight 0."""
    if class_weights is None:
        weights = tf.ones([num_classes], dtype)
    else:
        weights = tf.cast(tf.convert_to_tensor(class_weights), dtype)
    if ignore_class is not None:
        weights = weights * (1.0 - tf.one_hot(ignore_class, num_classes, dtype=dtype))
    return weights


def dice_coefficient(y_true, y_pred, smooth=1.0, ignore_class=None):
    """Soft Dice coefficient of each image and class.

    Args:
        y_true: int label map [N, H, W] (or any [N, ...]) or one-hot [N, ..., C].
        y_pred: probabilities [N, ..., C].
        smooth: added to numerator and denominator; keeps an empty class
            (absent in both) at Dice 1 and the gradient bounded.
        ignore_class: label whose pixels are left out (e.g. 255); for one-hot
            targets, a channel index whose pixels are left out.

    Returns:
        [N, C] Dice values in [0, 1]. With ``smooth=0`` a class absent from
        both target and prediction has Dice 1.
    """
    y_pred = tf.convert_to_tensor(y_pred)
    targets, mask = _targets_and_mask(y_true, y_pred, ignore_class)
    probs = y_pred
    if mask is not None:
        targets, probs = targets * mask, probs * mask
    axes = list(range(1, y_pred.shape.rank - 1))
    intersection = tf.reduce_sum(targets * probs, axis=axes)
    denominator = tf.reduce_sum(targets, axis=axes) + tf.reduce_sum(probs, axis=axes) + smooth
    dice = (2.0 * intersection + smooth) / tf.where(denominator > 0.0, denominator, 1.0)
    return tf.where(denominator > 0.0, dice, tf.ones_like(dice))


def dice_loss(y_true, y_pred, smooth=1.0, class_weights=None, ignore_class=None, from_logits=False):
    """Per-image multi-class soft Dice loss, ``1 - weighted mean over classes of Dice``.

    Args:
        y_true: int label map [N, ...] or one-hot [N, ..., C].
        y_pred: probabilities [N, ..., C] (logits with ``from_logits=True``).
        smooth: smoothing term of ``dice_coefficient``.
        class_weights: optional [C] weights of the class average.
        ignore_class: label left out of the loss (and of the class average
            when it is one of the C classes).
        from_logits: apply a softmax over the last axis first.

    Returns:
        [N] losses in [0, 1].
    """
    y_pred = tf.convert_to_tensor(y_pred)
    if from_logits:
        y_pred = tf.nn.softmax(y_pred, axis=-1)
    dice = dice_coefficient(y_true, y_pred, smooth, ignore_class)
    weights = _class_weights(class_weights, ignore_class, tf.shape(dice)[-1], dice.dtype)
    mean_dice = tf.math.divide_no_nan(tf.reduce_sum(dice * weights, axis=-1), tf.reduce_sum(weights))
    return 1.0 - mean_dice


def _pixel_cross_entropy(y_true, y_pred, ignore_class, from_logits):
    """Per-image cross-entropy averaged over the pixels that count: [N]."""
    y_pred = tf.convert_to_tensor(y_pred)
    targets, mask = _targets_and_mask(y_true, y_pred, ignore_class)
    if from_logits:
        log_probs = tf.nn.log_softmax(y_pred, axis=-1)
    else:
        log_probs = tf.math.log(tf.clip_by_value(y_pred, _EPSILON, 1.0))
    per_pixel = -tf.reduce_sum(targets * log_probs, axis=-1)
    if mask is None:
        return tf.reduce_mean(per_pixel, axis=list(range(1, per_pixel.shape.rank)))
    per_pixel = per_pixel * mask[..., 0]
    return tf.math.divide_no_nan(red.per_sample_sum(per_pixel), red.per_sample_sum(mask))


@keras.saving.register_keras_serializable(package="kzoo")
class DiceLoss(keras.losses.Loss):
    """Soft multi-class Dice loss, ``1 - Dice``, computed per image.

    Each image's loss is one minus the (weighted) mean over classes of its soft
    Dice coefficients; Keras's standard ``"sum_over_batch_size"`` reduction
    then averages the images (the per-replica mean divided by the number of
    replicas under ``tf.distribute``).

    Args:
        smooth: added to numerator and denominator of each Dice.
        class_weights: optional list of C weights for the class average.
        ignore_class: label whose pixels are left out (e.g. 255).
        from_logits: whether ``y_pred`` holds logits (softmax is applied).
        reduction: Keras reduction.
        name: loss name.
        dtype: computation dtype.

    Call arguments:
        y_true: int label map [N, H, W] or one-hot [N, H, W, C].
        y_pred: probabilities (or logits) [N, H, W, C].

    Returns:
        The mean Dice loss over the batch.

    Example:
        >>> loss = DiceLoss(smooth=1.0)
        >>> value = loss([[[0, 1]]], [[[[0.9, 0.1], [0.2, 0.8]]]])

    Reference:
        Milletari et al., "V-Net: Fully Convolutional Neural Networks for
        Volumetric Medical Image Segmentation", 3DV 2016.
    """

    def __init__(
        self,
        smooth=1.0,
        class_weights=None,
        ignore_class=None,
        from_logits=False,
        reduction="sum_over_batch_size",
        name="dice_loss",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.smooth = smooth
        self.class_weights = None if class_weights is None else [float(w) for w in class_weights]
        self.ignore_class = ignore_class
        self.from_logits = from_logits

    def call(self, y_true, y_pred):
        y_true, y_pred = tf.convert_to_tensor(y_true), tf.convert_to_tensor(y_pred)
        return dice_loss(y_true, y_pred, self.smooth, self.class_weights, self.ignore_class, self.from_logits)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "smooth": self.smooth,
                "class_weights": self.class_weights,
                "ignore_class": self.ignore_class,
                "from_logits": self.from_logits,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="kzoo")
class CrossEntropyDiceLoss(DiceLoss):
    """Weighted sum of per-pixel cross-entropy and soft Dice loss, per image.

    Cross-entropy gives every pixel a gradient early in training; Dice keeps
    small classes from being drowned by the background. Both skip pixels of
    ``ignore_class``; ``class_weights`` weight the Dice class average only.

    Args:
        cross_entropy_weight: weight of the mean per-pixel cross-entropy.
        dice_weight: weight of the Dice loss.
        **kwargs: the arguments of ``DiceLoss`` (``smooth``,
            ``class_weights``, ``ignore_class``, ``from_logits``, ...).

    Call arguments:
        y_true: int label map [N, H, W] or one-hot [N, H, W, C].
        y_pred: probabilities (or logits) [N, H, W, C].

    Returns:
        The mean over the batch of ``ce_weight * CE + dice_weight * Dice loss``.

    Example:
        >>> loss = CrossEntropyDiceLoss(from_logits=True)
        >>> value = loss([[[0, 1]]], [[[[2.0, -1.0], [0.0, 1.0]]]])

    Reference:
        Isensee et al., "nnU-Net: a self-configuring method for deep
        learning-based biomedical image segmentation", Nature Methods 2021.
    """

    def __init__(self, cross_entropy_weight=1.0, dice_weight=1.0, name="cross_entropy_dice_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.cross_entropy_weight = cross_entropy_weight
        self.dice_weight = dice_weight

    def call(self, y_true, y_pred):
        y_true, y_pred = tf.convert_to_tensor(y_true), tf.convert_to_tensor(y_pred)
        cross_entropy = _pixel_cross_entropy(y_true, y_pred, self.ignore_class, self.from_logits)
        dice = super().call(y_true, y_pred)
        return self.cross_entropy_weight * cross_entropy + self.dice_weight * dice

    def get_config(self):
        config = super().get_config()
        config.update({"cross_entropy_weight": self.cross_entropy_weight, "dice_weight": self.dice_weight})
        return config

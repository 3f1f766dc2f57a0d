"""One cascade stage of DeepPose: refine every joint from a crop around its estimate."""

import keras
import tensorflow as tf
from keras import layers

from kzoo.layers import RoIAlign
from kzoo.layers.fused_batch_normalization import FusedBatchNormalization


@keras.saving.register_keras_serializable(package="kzoo")
class DeepPoseRefinement(keras.layers.Layer):
    """A DeepPose cascade stage: crop around each joint, regress its displacement.

    For every joint ``i`` of the previous estimate, a square box centred on
    it with side ``box_scale * diam`` is cropped from the image (``diam``:
    the distance between two opposite torso joints of the same estimate, so
    crops follow the figure's scale) and resampled to ``crop_size x
    crop_size`` by RoIAlign. One small network, shared by all joints of the
    stage, maps each crop to the displacements of all ``J`` joints in units
    of the crop; joint ``i`` keeps its own (the paper's ``psi_i``). The new
    estimate is the old one plus that displacement. The previous estimate is
    held fixed (no gradient flows back through it), so each stage learns
    only from its own loss, as the paper trains stage after stage.

    All joints of all images are cropped in one RoIAlign call and run as one
    batch of ``N * J`` crops: no per-image or per-joint loop, TFLite builtin
    ops only. The displacement layer starts at zero, so an untrained stage
    returns its input.

    Args:
        num_keypoints: number of joints ``J``.
        crop_size: side of the resampled crop, in pixels.
        box_scale: crop side as a multiple of the torso diameter (the
            paper's ``sigma``).
        torso_joints: the pair of joint indices whose distance is ``diam``
            (LSP order: left shoulder 9 and right hip 2).
        min_box_size: smallest crop side, as a fraction of the image's
            larger side, so a collapsed estimate still crops something.
        filters: channels of the stage network's conv blocks (3x3 conv,
            batch norm, ReLU, 2x2 max pooling each).
        hidden_units: width of its fully connected layer.
        jitter: standard deviation of random shifts of the previous
            estimate during training, in crop sides; the paper's
            augmentation with simulated errors of the previous stage.
        seed: seed of the jitter.
        **kwargs: base ``keras.layers.Layer`` arguments.

    Call arguments:
        inputs: list ``[images, keypoints]``: ``images`` [N, H, W, 3] float
            RGB in [0, 255], ``keypoints`` [N, J, 2] normalized (y, x).
        training: enables the jitter and batch-norm updates.

    Returns:
        Refined keypoints [N, J, 2], normalized (y, x).

    Example:
        >>> stage = DeepPoseRefinement(num_keypoints=14, crop_size=16)
        >>> images = np.random.uniform(0, 255, (2, 64, 64, 3)).astype("float32")
        >>> stage([images, np.full((2, 14, 2), 0.5, "float32")]).shape
        (2, 14, 2)

    Reference:
        Toshev and Szegedy, "DeepPose: Human Pose Estimation via Deep Neural
        Networks", CVPR 2014 (section 3.2).
    """

    def __init__(
        self,
        num_keypoints,
        crop_size=16,
        box_scale=1.0,
        torso_joints=(9, 2),
        min_box_size=0.1,
        filters=(16, 32, 64),
        hidden_units=128,
        jitter=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_keypoints = int(num_keypoints)
        self.crop_size = int(crop_size)
        self.box_scale = float(box_scale)
        self.torso_joints = tuple(int(j) for j in torso_joints)
        self.min_box_size = float(min_box_size)
        self.filters = tuple(int(f) for f in filters)
        self.hidden_units = int(hidden_units)
        self.jitter = float(jitter)
        self.seed = seed
        if len(self.torso_joints) != 2 or not all(0 <= j < self.num_keypoints for j in self.torso_joints):
            raise ValueError(f"torso_joints must be two joint indices below {self.num_keypoints}, got {torso_joints}")
        if self.crop_size < 2 ** len(self.filters):
            raise ValueError(f"crop_size {self.crop_size} is too small for {len(self.filters)} 2x2 poolings")
        self.crop = RoIAlign(self.crop_size, sampling_ratio=2, name="crop")
        self.blocks = []
        for i, width in enumerate(self.filters):
            self.blocks += [
                layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"conv{i + 1}"),
                FusedBatchNormalization(name=f"bn{i + 1}"),
                layers.ReLU(name=f"relu{i + 1}"),
                layers.MaxPooling2D(2, name=f"pool{i + 1}"),
            ]
        self.flatten = layers.Flatten(name="flatten")
        self.hidden = layers.Dense(self.hidden_units, activation="relu", name="fc")
        self.displacement = layers.Dense(2 * self.num_keypoints, kernel_initializer="zeros", name="displacement")
        self.seed_generator = keras.random.SeedGenerator(seed) if self.jitter > 0 else None

    def build(self, input_shape):
        images_shape, _ = input_shape
        shape = (None, self.crop_size, self.crop_size, images_shape[-1])
        for layer in self.blocks + [self.flatten, self.hidden, self.displacement]:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)

    def crop_boxes(self, keypoints, image_height, image_width):
        """Square crop boxes [N, J, 4] around each joint and their sides (normalized by H and W)."""
        scale = tf.stack([image_height, image_width])
        first, second = self.torso_joints
        # Measured in pixels so that a crop is square on a non-square image.
        diam = tf.norm((keypoints[:, first] - keypoints[:, second]) * scale, axis=-1)
        side = tf.maximum(self.box_scale * diam, self.min_box_size * tf.reduce_max(scale))
        half = 0.5 * side[:, None, None] / scale  # [N, 1, 2]
        return tf.concat([keypoints - half, keypoints + half], axis=-1), 2.0 * half

    def call(self, inputs, training=None):
        images, keypoints = inputs
        images = tf.cast(images, self.compute_dtype)
        previous = tf.stop_gradient(tf.cast(keypoints, tf.float32))
        height = tf.cast(tf.shape(images)[1], tf.float32)
        width = tf.cast(tf.shape(images)[2], tf.float32)
        if training and self.jitter > 0:
            _, sides = self.crop_boxes(previous, height, width)
            noise = keras.random.normal(tf.shape(previous), stddev=self.jitter, seed=self.seed_generator)
            previous = previous + noise * sides
        boxes, sides = self.crop_boxes(previous, height, width)
        crops = self.crop([images, boxes])  # [N, J, c, c, 3]
        x = tf.reshape(crops, [-1, self.crop_size, self.crop_size, crops.shape[-1]]) / 255.0
        for layer in self.blocks:
            x = layer(x, training=training)
        x = self.hidden(self.flatten(x))
        # [N * J, 2J] -> [N, J (crop), J (joint), 2]; crop i keeps joint i.
        moves = tf.reshape(self.displacement(x), [-1, self.num_keypoints, self.num_keypoints, 2])
        own = tf.reduce_sum(moves * tf.eye(self.num_keypoints, dtype=moves.dtype)[None, :, :, None], axis=2)
        return previous + tf.cast(own, tf.float32) * sides

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[1])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_keypoints": self.num_keypoints,
                "crop_size": self.crop_size,
                "box_scale": self.box_scale,
                "torso_joints": self.torso_joints,
                "min_box_size": self.min_box_size,
                "filters": self.filters,
                "hidden_units": self.hidden_units,
                "jitter": self.jitter,
                "seed": self.seed,
            }
        )
        return config

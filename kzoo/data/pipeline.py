"""Batching and augmentation of kzoo dataset elements for every model.

Batches are dense (docs/design.md, "The dataset element"): per-object
tensors are padded to a fixed ``max_boxes`` with the sentinels below, so
models never see ragged tensors. All functions are graph functions over one
element and run inside ``tf.data`` maps.

Padding sentinels: ``boxes`` 0, ``classes`` -1 (the "no object" id),
``masks`` 0, ``keypoints`` 0 (so padded joints are not visible),
``is_crowd`` False, ``area`` 0 (COCO json elements).
"""

import tensorflow as tf

PER_OBJECT_PADDING = {
    "boxes": 0.0, "classes": -1, "masks": 0, "keypoints": 0.0, "is_crowd": False, "area": 0.0,
}


def pad_to_max_boxes(element, max_boxes):
    """Pad (or truncate) every per-object tensor of ``element`` to ``max_boxes`` rows.

    Objects beyond ``max_boxes`` are dropped, so pick ``max_boxes`` at least
    ``kzoo.data.info(name).max_objects`` when every object must count.
    """
    padded = dict(element)
    for key, value in PER_OBJECT_PADDING.items():
        if key not in element:
            continue
        tensor = element[key][:max_boxes]
        rank = tensor.shape.rank
        paddings = [[0, max_boxes - tf.shape(tensor)[0]]] + [[0, 0]] * (rank - 1)
        if tensor.dtype == tf.bool:  # tf.pad has no bool kernel everywhere
            tensor = tf.cast(tf.pad(tf.cast(tensor, tf.uint8), paddings), tf.bool)
        else:
            tensor = tf.pad(tensor, paddings, constant_values=tf.cast(value, tensor.dtype))
        padded[key] = tf.ensure_shape(tensor, [max_boxes] + tensor.shape.as_list()[1:])
    return padded


def resize(element, image_size):
    """Resize image (bilinear, antialiased), masks and segmentation (nearest) to ``image_size``.

    Boxes and keypoints are normalized, so they stay as they are. Nearest
    neighbour keeps masks binary and labels whole, at the price of boxes that
    may no longer hug a resized mask to the pixel.
    """
    size = tuple(image_size)
    resized = dict(element)
    image = tf.image.resize(element["image"], size, method="bilinear", antialias=True)
    resized["image"] = tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)
    if "masks" in element:
        masks = tf.image.resize(element["masks"][..., None], size, method="nearest")
        resized["masks"] = masks[..., 0]
    if "segmentation" in element:
        segmentation = tf.image.resize(element["segmentation"][..., None], size, method="nearest")
        resized["segmentation"] = segmentation[..., 0]
    return resized


def _real_proposals(element):
    """bool [P]: the element's real proposals (positive area), not its zero padding rows."""
    boxes = element["proposals"]
    return (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])


def flip_left_right(element, keypoint_flip_indices=None):
    """Mirror an element: image, boxes, masks, segmentation, keypoints and proposals.

    Args:
        element: a kzoo element, padded or not (rows with class -1 are left
            as they are).
        keypoint_flip_indices: joint order after the flip, swapping left and
            right joints (``kzoo.data.info(name).keypoint_flip_indices``).
            Required when the element has keypoints: a mirrored left hand is
            a right hand.
    """
    flipped = dict(element)
    flipped["image"] = tf.reverse(element["image"], axis=[1])
    real = element["classes"] >= 0
    ymin, xmin, ymax, xmax = tf.unstack(element["boxes"], 4, axis=-1)
    boxes = tf.stack([ymin, 1.0 - xmax, ymax, 1.0 - xmin], axis=-1)
    flipped["boxes"] = tf.where(real[:, None], boxes, element["boxes"])
    if "proposals" in element:
        # External proposals (R-CNN, Fast R-CNN) move with the image; all-zero padding rows stay zero.
        ymin, xmin, ymax, xmax = tf.unstack(element["proposals"], 4, axis=-1)
        mirrored = tf.stack([ymin, 1.0 - xmax, ymax, 1.0 - xmin], axis=-1)
        flipped["proposals"] = tf.where(_real_proposals(element)[:, None], mirrored, 0.0)
    if "masks" in element:
        flipped["masks"] = tf.reverse(element["masks"], axis=[2])
    if "segmentation" in element:
        flipped["segmentation"] = tf.reverse(element["segmentation"], axis=[1])
    if "keypoints" in element:
        if keypoint_flip_indices is None:
            raise ValueError("Flipping keypoints needs keypoint_flip_indices (left/right swap).")
        y, x, visible = tf.unstack(element["keypoints"], 3, axis=-1)
        keypoints = tf.stack([y, 1.0 - x, visible], axis=-1)
        keypoints = tf.gather(keypoints, list(keypoint_flip_indices), axis=1)
        flipped["keypoints"] = tf.where(real[:, None, None], keypoints, element["keypoints"])
    return flipped


def random_flip_left_right(element, keypoint_flip_indices=None, seed=None):
    """``flip_left_right`` with probability 1/2."""
    flip = tf.random.uniform([], seed=seed) < 0.5
    return tf.cond(
        flip,
        lambda: flip_left_right(element, keypoint_flip_indices),
        lambda: dict(element),
    )


def random_zoom_in(element, min_scale=0.7, seed=None):
    """Crop a random window that holds every object, and resize it back to the image size.

    Scale augmentation that loses no object: the window keeps the image's
    aspect ratio, its side is a random fraction ``s`` of the image's in
    ``[max(min_scale, need), 1]`` where ``need`` is the side that the union
    of the real boxes requires, and it is placed at random where it holds
    that union. Images are resized bilinearly, masks and segmentation by
    nearest neighbour; boxes and keypoints are mapped into the window, and
    keypoints that leave it become invisible. The window is cut at whole
    pixels, so the boxes stay exact.

    Args:
        element: a kzoo element with ``image``, ``boxes`` and ``classes``,
            padded or not (rows with class -1 are left as they are).
        min_scale: smallest window side as a fraction of the image's, in
            (0, 1]; 1 leaves the element as it is.
        seed: optional op seed.
    """
    if not 0.0 < min_scale <= 1.0:
        raise ValueError(f"min_scale must be in (0, 1], got {min_scale}")
    shape = tf.shape(element["image"])
    height, width = tf.cast(shape[0], tf.float32), tf.cast(shape[1], tf.float32)
    real = element["classes"] >= 0
    boxes = element["boxes"]
    any_real = tf.reduce_any(real)
    low = tf.where(any_real, tf.reduce_min(tf.where(real[:, None], boxes[:, :2], 1.0), axis=0), 1.0)
    high = tf.where(any_real, tf.reduce_max(tf.where(real[:, None], boxes[:, 2:], 0.0), axis=0), 0.0)
    # In whole pixels: the boxes' pixels, the window's size, and the origins that keep those pixels inside.
    image_size = tf.stack([height, width])
    low_px = tf.math.floor(low * image_size + 1e-3)
    high_px = tf.math.ceil(high * image_size - 1e-3)
    need = tf.clip_by_value(tf.reduce_max((high_px - low_px) / image_size), 0.0, 1.0)
    seeds = (None, None) if seed is None else (seed, seed + 1)
    scale = tf.random.uniform([], tf.maximum(need, min_scale), 1.0, seed=seeds[0])
    size = tf.clip_by_value(tf.math.ceil(scale * image_size - 1e-3), 1.0, image_size)
    first = tf.maximum(0.0, high_px - size)
    last = tf.maximum(first, tf.minimum(low_px, image_size - size))
    origin_px = tf.minimum(first + tf.math.floor(tf.random.uniform([2], seed=seeds[1]) * (last - first + 1)), last)
    origin, extent = origin_px / image_size, size / image_size
    begin, window = tf.cast(origin_px, tf.int32), tf.cast(size, tf.int32)

    def crop(tensor):
        return tf.slice(tensor, tf.concat([begin, [0]], 0), tf.concat([window, [-1]], 0))

    def crop_and_resize_nearest(tensor):
        return tf.cast(tf.image.resize(crop(tensor), shape[:2], method="nearest"), tensor.dtype)

    zoomed = dict(element)
    image = tf.image.resize(crop(element["image"]), shape[:2])
    if element["image"].dtype.is_integer:
        image = tf.clip_by_value(tf.round(image), 0, element["image"].dtype.max)
    zoomed["image"] = tf.cast(image, element["image"].dtype)
    mapped = (boxes - tf.tile(origin, [2])) / tf.tile(extent, [2])
    zoomed["boxes"] = tf.where(real[:, None], tf.clip_by_value(mapped, 0.0, 1.0), boxes)
    if "proposals" in element:
        # Proposals are clipped to the window; one left without area becomes padding (a zero box).
        moved = tf.clip_by_value((element["proposals"] - tf.tile(origin, [2])) / tf.tile(extent, [2]), 0.0, 1.0)
        keep = _real_proposals(element) & (moved[:, 2] > moved[:, 0]) & (moved[:, 3] > moved[:, 1])
        zoomed["proposals"] = tf.where(keep[:, None], moved, 0.0)
    if "area" in element:  # every real object is inside the window, so its area scales with it
        zoomed["area"] = tf.where(real, element["area"] / (extent[0] * extent[1]), element["area"])
    if "segmentation" in element:
        zoomed["segmentation"] = crop_and_resize_nearest(element["segmentation"][..., None])[..., 0]
    if "masks" in element:
        # One spare channel: resizing refuses an image of zero channels (an element with no objects).
        masks = tf.transpose(element["masks"], [1, 2, 0])
        masks = tf.concat([masks, tf.zeros(tf.concat([shape[:2], [1]], 0), masks.dtype)], axis=-1)
        zoomed["masks"] = tf.transpose(crop_and_resize_nearest(masks)[..., :-1], [2, 0, 1])
    if "keypoints" in element:
        points = (element["keypoints"][..., :2] - origin) / extent
        inside = tf.reduce_all((points >= 0.0) & (points <= 1.0), axis=-1)
        visible = element["keypoints"][..., 2] * tf.cast(inside, tf.float32)
        keypoints = tf.concat([tf.clip_by_value(points, 0.0, 1.0), visible[..., None]], axis=-1)
        zoomed["keypoints"] = tf.where(real[:, None, None], keypoints, element["keypoints"])
    return zoomed


def random_color_jitter(element, factor=1.5, seed=None):
    """Scale the image's exposure and saturation by random factors in [1 / factor, factor] (YOLO's augmentation).

    The factors are drawn log-uniformly, so darkening and brightening are
    equally likely, and applied to the V and S channels in HSV space. Labels
    are untouched.

    Args:
        element: a kzoo element with a uint8 or float ``image`` in [0, 255].
        factor: the largest scale, >= 1; 1 leaves the image as it is.
        seed: optional op seed.
    """
    if factor < 1.0:
        raise ValueError(f"factor must be >= 1, got {factor}")
    seeds = (None, None) if seed is None else (seed, seed + 1)
    log_factor = tf.math.log(tf.constant(factor, tf.float32))
    exposure = tf.exp(tf.random.uniform([], -log_factor, log_factor, seed=seeds[0]))
    saturation = tf.exp(tf.random.uniform([], -log_factor, log_factor, seed=seeds[1]))
    image = element["image"]
    hsv = tf.image.rgb_to_hsv(tf.cast(image, tf.float32) / 255.0)
    scaled = tf.clip_by_value(hsv * tf.stack([1.0, saturation, exposure]), 0.0, 1.0)
    rgb = tf.image.hsv_to_rgb(scaled) * 255.0
    if image.dtype.is_integer:
        rgb = tf.clip_by_value(tf.round(rgb), 0, image.dtype.max)
    jittered = dict(element)
    jittered["image"] = tf.cast(rgb, image.dtype)
    return jittered


def batched(
    dataset,
    batch_size,
    max_boxes,
    image_size=None,
    flip=False,
    keypoint_flip_indices=None,
    drop_remainder=False,
):
    """Dense batches of kzoo elements, ready for a model's target encoder.

    Args:
        dataset: unbatched elements (``kzoo.data.load``), shuffled or not.
        batch_size: elements per batch.
        max_boxes: rows of every per-object tensor (see ``pad_to_max_boxes``).
        image_size: (height, width) to resize to; needed when image sizes
            vary (TFDS names). None keeps the dataset's size.
        flip: random horizontal flips (augmentation for training).
        keypoint_flip_indices: left/right joint swap, needed with ``flip``
            when elements have keypoints.
        drop_remainder: drop a last, smaller batch (fixed batch shapes).

    Returns:
        A ``tf.data.Dataset`` of dicts of batched tensors, prefetched.
    """
    autotune = tf.data.AUTOTUNE
    if image_size is not None:
        dataset = dataset.map(lambda e: resize(e, image_size), num_parallel_calls=autotune)
    if flip:
        dataset = dataset.map(
            lambda e: random_flip_left_right(e, keypoint_flip_indices), num_parallel_calls=autotune
        )
    dataset = dataset.map(lambda e: pad_to_max_boxes(e, max_boxes), num_parallel_calls=autotune)
    return dataset.batch(batch_size, drop_remainder=drop_remainder).prefetch(autotune)

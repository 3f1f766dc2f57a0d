"""Backbones from ``keras.applications``, cut into a dict of pyramid levels.

A feature map's level counts the stride-2 reductions before it, so "P3" has
stride 8. Sizes within a factor 1.5 of each other share a level: nets with
"valid" padding (Inception) shrink by a few pixels without striding. For
each level the deepest layer at that resolution is taken.
"""

import functools
import math

import keras

from kzoo.backbones.fused import fuse_batch_norms
from kzoo.layers.image_preprocessing import ImagePreprocessing

# name -> (keras.applications constructor, preprocessing mode of its ImageNet weights)
APPLICATIONS = {
    "vgg16": (keras.applications.VGG16, "caffe"),
    "resnet50": (keras.applications.ResNet50, "caffe"),
    "resnet101": (keras.applications.ResNet101, "caffe"),
    "mobilenet_v2": (keras.applications.MobileNetV2, "tf"),
    # MobileNetV2's width multipliers (the paper's 0.35 to 1.4): every layer's channels scaled.
    "mobilenet_v2_0.5": (functools.partial(keras.applications.MobileNetV2, alpha=0.5), "tf"),
    "mobilenet_v2_0.75": (functools.partial(keras.applications.MobileNetV2, alpha=0.75), "tf"),
    "inception_v3": (keras.applications.InceptionV3, "tf"),
    "inception_resnet_v2": (keras.applications.InceptionResNetV2, "tf"),
}
LEVELS = (2, 3, 4, 5)
# Size used to find the level layers when the requested input size is dynamic.
_PROBE_SIZE = 224


def _size_levels(sizes, input_size):
    levels, level, anchor = {}, 0, input_size
    for size in sorted(set(sizes), reverse=True):
        if anchor / size >= 1.5:
            # A stride-2 "valid" conv on a tiny map can shrink it threefold (6 -> 2).
            level += max(1, math.floor(math.log2(anchor / size) + 0.25))
            anchor = size
        levels[size] = level
    return levels


def _children(net):
    children = {id(layer): [] for layer in net.layers}
    for layer in net.layers:
        for node in layer._inbound_nodes:
            for tensor in node.input_tensors:
                parent = tensor._keras_history.operation
                if id(parent) in children:
                    children[id(parent)].append(layer)
    return children


def _descendants(layer, children):
    seen, stack = set(), [layer]
    while stack:
        for child in children[id(stack.pop())]:
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    return seen


def _level_layer_indices(net, input_size):
    """Maps each level to the index in ``net.layers`` of its output layer.

    A level's output is the deepest layer at that resolution through which
    every coarser layer is reached (a cut of the graph), so a branch inside an
    Inception block is never picked; zero-padding layers are skipped. Indices
    rather than names: auto-generated names differ between two builds.
    """
    spatial = []
    for index, layer in enumerate(net.layers):
        shape = getattr(getattr(layer, "output", None), "shape", None)
        if shape is not None and len(shape) == 4 and shape[1] is not None:
            spatial.append((index, layer, shape[1]))
    size_level = _size_levels([size for _, _, size in spatial], input_size)
    children = _children(net)
    indices = {}
    for index, layer, size in spatial:
        level = size_level[size]
        if level not in LEVELS or isinstance(layer, keras.layers.ZeroPadding2D):
            continue
        coarser = {id(other) for _, other, other_size in spatial if size_level[other_size] > level}
        if coarser <= _descendants(layer, children):
            indices[level] = index  # topological order: the deepest cut wins
    missing = [level for level in LEVELS if level not in indices]
    if missing:
        raise ValueError(f"input size {input_size} is too small for {net.name}: no feature map at levels {missing}")
    return indices


def build_application_features(name, input_shape, weights=None):
    """Build ``keras.applications`` net ``name`` as a dict-of-levels backbone.

    Args:
        name: a key of ``APPLICATIONS``.
        input_shape: (H, W, 3); H and W may be None.
        weights: None, ``"imagenet"`` (downloads through keras.applications
            when reachable) or a path to a weights file of the full net.
    """
    constructor, mode = APPLICATIONS[name]
    height = input_shape[0]
    if height is None:
        probe = constructor(include_top=False, weights=None, input_shape=(_PROBE_SIZE, _PROBE_SIZE, 3))
        level_indices = _level_layer_indices(probe, _PROBE_SIZE)
    # Keras's batch norm layers become kzoo's fused one: same outputs, faster training steps.
    net = fuse_batch_norms(constructor(include_top=False, weights=weights, input_shape=tuple(input_shape)))
    if height is not None:
        level_indices = _level_layer_indices(net, height)
    features = keras.Model(
        net.inputs, {f"P{level}": net.layers[i].output for level, i in sorted(level_indices.items())}, name=f"{name}_features"
    )
    images = keras.Input(input_shape, name="images")
    outputs = features(ImagePreprocessing(mode, name="preprocess")(images))
    return keras.Model(images, outputs, name=f"{name}_backbone")

"""The training graph of the single-stage detectors: their raw head outputs, from the model's own layers.

``kzoo.build`` returns a single-stage detector's inference model, images to
detections, with its anchors (default boxes, grid, windows) and its decoder
inside the graph. ``fit`` trains the graph of the raw head outputs that the
targets (``*_targets``, encoded per element in ``tf.data``) and the losses
(``compile_*``) are written for: the same layer objects up to those outputs,
so the two models share every weight.
"""

import keras

# The raw head outputs of each single-stage detector, by model name: layers of the inference model.
RAW_OUTPUTS = {
    "retinanet": ("box_deltas", "class_logits"),
    "ssd": ("box_deltas", "class_logits"),
    "ssdlite": ("box_deltas", "class_logits"),
    "yolo": ("grid",),
    "sliding_window_detector": ("class_logits",),
}


def raw_outputs_model(model, settings=None):
    """The model ``fit`` trains for a single-stage detector: its raw head outputs, sharing its layers.

    Args:
        model: a single-stage detector from its builder, or reloaded from ``.keras``.
        settings: must be None: these models have no training-graph settings
            (``ModelSpec.training_model`` takes the argument for the
            region-based detectors' sake).

    Returns:
        A functional ``keras.Model`` named ``"<name>_training"`` from the
        model's images to its raw outputs (``RAW_OUTPUTS``): a dict by name
        (RetinaNet, SSD: ``box_deltas`` and ``class_logits``), or the single
        tensor (YOLO's ``grid``, the sliding window's ``class_logits``), as
        the model's ``*_targets`` and ``compile_*`` expect.
    """
    if settings is not None:
        raise ValueError(
            f"model {model.name!r} trains on targets encoded in tf.data and takes no training settings, "
            f"got {settings!r}; training settings apply to region-based models"
        )
    if model.name not in RAW_OUTPUTS:
        raise ValueError(f"model {model.name!r} is not a kzoo single-stage detector; choose from {sorted(RAW_OUTPUTS)}")
    names = RAW_OUTPUTS[model.name]
    outputs = {name: model.get_layer(name).output for name in names}
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs, outputs if len(names) > 1 else outputs[names[0]], name=f"{model.name}_training")

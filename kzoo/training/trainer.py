"""``train``: build a registered model under a strategy and ``fit`` it with the standard callbacks."""

import contextlib
import warnings

import keras
import numpy as np
import tensorflow as tf

import kzoo.backbones
import kzoo.data
from kzoo.data.checkpoint_record import dataset_record, remember_record
from kzoo.export.inference import model_input_size, num_external_proposals
from kzoo.models.registry import get_spec
from kzoo.training.callbacks import HistoryFile, NaNGuard, standard_callbacks
from kzoo.training.pipeline import fit_dataset
from kzoo.training.multi_worker import is_chief
from kzoo.training.strategy import make_strategy


@contextlib.contextmanager
def precision_policy(mixed):
    """Keras's global dtype policy for building a model: mixed when asked (float16 on GPUs, bfloat16 on CPUs).

    The policy is restored afterwards; the model's layers keep the one they were built with.
    """
    previous = keras.mixed_precision.global_policy()
    if mixed:
        gpus = tf.config.list_physical_devices("GPU")
        keras.mixed_precision.set_global_policy("mixed_float16" if gpus else "mixed_bfloat16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def train(
    model_name,
    out_dir,
    compile_fn=None,
    model_kwargs=None,
    epochs=1,
    batch_size=32,
    steps_per_epoch=None,
    validation_steps=None,
    dataset=None,
    flip=False,
    zoom_in=None,
    color_jitter=None,
    cpu_replicas=None,
    verbose=1,
    training_settings=None,
    initial_weights=None,
    callbacks=(),
    mixed_precision=False,
    freeze_backbone=None,
):
    """Train model ``model_name`` with ``model.fit`` under ``make_strategy``.

    Args:
        model_name: a name from ``kzoo.list_models()``.
        out_dir: checkpoints (``last.keras``, ``best.keras``), resumable state,
            TensorBoard logs and ``history.json`` go here.
        compile_fn: ``compile_fn(model, strategy)`` compiles the model ``fit``
            trains (its training graph, for region-based detectors) (loss,
            optimizer, metrics) inside the strategy scope; the model's
            standard ``spec.compile`` when None.
        model_kwargs: builder keyword arguments; ``num_classes`` defaults to
            the dataset's.
        epochs, batch_size, steps_per_epoch, validation_steps: as ``model.fit``.
        dataset: a dataset name or the path of a dataset folder (``kzoo.data.user_data``);
            the model's default when None. It and its class names are stored in
            the checkpoints (``kzoo.data.checkpoint_record``).
        flip: random horizontal flips of the training elements (see
            ``fit_dataset``).
        zoom_in: None, or the smallest crop of the random zoom-in
            augmentation (see ``fit_dataset``), e.g. 0.7.
        color_jitter: None, or the largest exposure and saturation factor
            of the colour augmentation (see ``fit_dataset``), e.g. 1.5.
        cpu_replicas: split the CPU into this many replicas (no-GPU machines).
        training_settings: for models with a training graph (region-based
            detectors), the settings ``spec.training_model`` takes (e.g. a
            dict of ``kzoo.models.two_stage.TrainingSettings`` fields).
        initial_weights: a ``.keras`` checkpoint of the same architecture
            to start from (R-CNN's second stage starts from its first).
        callbacks: more Keras callbacks for ``fit`` (a ``TimeBudget``, say).
        mixed_precision: build the model under Keras's ``mixed_float16``
            policy on GPUs (with loss scaling) or ``mixed_bfloat16`` on CPUs;
            losses, decoding and exported outputs stay float32.
        freeze_backbone: None, or how much of a pretrained backbone to
            freeze for fine-tuning (``kzoo.backbones.freeze_backbone``'s
            ``up_to``: ``"batch_norm"``, or ``"P2"`` as Detectron does).

    Returns:
        (model, history dict). The model is the one ``kzoo.build`` returns
        (for region-based detectors, the inference graph; the training
        graph shares its weights), with its dataset record attached:
        ``kzoo.evaluation`` and ``kzoo.export`` use its dataset and class
        names by default.

    Raises:
        FloatingPointError: when the loss became NaN or infinite; the last
            good epoch's checkpoint stays in ``out_dir``.
    """
    spec = get_spec(model_name)
    strategy = make_strategy(cpu_replicas)
    dataset = dataset or spec.dataset
    kwargs = dict(model_kwargs or {})
    info = kzoo.data.info(dataset)
    kwargs.setdefault("num_classes", info.num_classes)
    if spec.task == "keypoint_detection" and info.keypoint_names:
        kwargs.setdefault("num_keypoints", len(info.keypoint_names))
    if training_settings is not None and spec.training_model is None:
        raise ValueError(f"model {model_name!r} has no training graph; training_settings apply to region-based models")
    with strategy.scope(), precision_policy(mixed_precision):
        model = spec.build(**kwargs)
        if freeze_backbone is not None:
            kzoo.backbones.freeze_backbone(model, freeze_backbone)
        if initial_weights is not None:
            model.load_weights(initial_weights)
        fit_model = model
        if spec.training_model is not None:
            fit_model = spec.training_model(model, training_settings)
        (compile_fn or spec.compile)(fit_model, strategy)
    record = dataset_record(dataset, info.class_names)
    remember_record(model, record)  # evaluation and export follow the model's data (kzoo.data.checkpoint_record)
    image_size = model_input_size(model)
    num_proposals = num_external_proposals(model)
    train_ds = fit_dataset(
        spec, "train", batch_size, image_size, shuffle=True, repeat=steps_per_epoch is not None, dataset=dataset,
        flip=flip, zoom_in=zoom_in, color_jitter=color_jitter, num_proposals=num_proposals,
    )
    val_ds = fit_dataset(spec, "validation", batch_size, image_size, dataset=dataset, num_proposals=num_proposals)
    if validation_steps is not None:
        val_ds = val_ds.take(validation_steps)
    callbacks = standard_callbacks(
        out_dir, saved_model=model if fit_model is not model else None,
        history_extra={"model": model_name, "replicas": strategy.num_replicas_in_sync},
        record=record, chief=is_chief(),
    ) + list(callbacks)
    with warnings.catch_warnings():
        # A finite pipeline of unknown length ends its first epoch by running out, as it should: Keras warns
        # once ("Your input ran out of data") and counts its batches from then on.
        warnings.filterwarnings("ignore", message="Your input ran out of data", category=UserWarning)
        history = fit_model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            callbacks=callbacks,
            shuffle=False,  # the pipeline shuffles
            verbose=verbose,
        )
    guard = next(c for c in callbacks if isinstance(c, NaNGuard))
    if guard.bad_batch is not None:
        raise FloatingPointError(
            f"loss became non-finite at batch {guard.bad_batch}; the last good checkpoint is in {out_dir}"
        )
    # Every epoch of the run, those of earlier, killed runs of it included (history.json).
    history_file = next((c for c in callbacks if isinstance(c, HistoryFile)), None)  # the chief's only
    logs = (history_file.read() if history_file is not None else None) or {
        key: [float(np.asarray(v)) for v in values] for key, values in history.history.items()
    }
    return model, logs


__all__ = ["train"]

"""A Keras callback that evaluates on a validation set every N epochs.

The numbers go into the epoch's ``logs``, so ``History`` (added after user
callbacks) records them and a ``TensorBoard`` callback listed after this one
writes them (``val_``-prefixed names land in its validation run).
"""

import time

import keras
import numpy as np

from kzoo.metrics.coco_eval import coco_evaluate


def split_batch(batch):
    """A batched dict of arrays -> a list of per-example dicts (NumPy)."""
    batch = {k: np.asarray(v) for k, v in batch.items()}
    sizes = {len(v) for v in batch.values() if v.ndim}
    if len(sizes) != 1:
        raise ValueError(f"batched arrays disagree on the batch size: {sorted(sizes)}")
    return [{k: v[i] for k, v in batch.items()} for i in range(sizes.pop())]


class EvaluationCallback(keras.callbacks.Callback):
    """Evaluates predictions on validation data every ``every_n_epochs`` epochs.

    Args:
        data: the validation set: an iterable of batched element dicts (a
            ``tf.data.Dataset`` of ``kzoo.data`` batches: ``image`` plus
            ground truth, boxes padded with class -1), or a list of unbatched
            elements, batched here by ``batch_size``.
        predict_fn: ``predict_fn(images) -> prediction dict`` for a batch of
            uint8 images [N, H, W, 3], with batched outputs (the names of
            docs/design.md, "Predictions"; e.g. decode + NMS of the model
            being trained).
        every_n_epochs: evaluate after epochs N, 2N, ... (1-based).
        iou_type: COCO IoU type for the default evaluation.
        backend: ``"fast"`` (default, for training) or ``"pycocotools"``.
        metrics_fn: ``metrics_fn(groundtruth, predictions) -> {name: float}``
            replacing COCO evaluation (e.g. segmentation or pose metrics);
            gets lists of per-image dicts.
        prefix: prefix of the log names (``val_AP``, ``val_AP50``, ...).
        batch_size: batch size for list data.
        verbose: print the numbers after each evaluation.
        **coco_kwargs: passed to ``coco_evaluate`` (``categories``,
            ``keypoint_sigmas``).

    Example:
        >>> callback = EvaluationCallback(val_ds, lambda images: detector(images), every_n_epochs=5)
        >>> history = model.fit(train_ds, epochs=20, callbacks=[callback, keras.callbacks.TensorBoard("logs")])
        >>> history.history["val_AP"]   # one value per evaluated epoch

    Reference:
        Lin et al., "Microsoft COCO: Common Objects in Context", ECCV 2014.
    """

    def __init__(self, data, predict_fn, every_n_epochs=1, iou_type="bbox", backend="fast", metrics_fn=None,
                 prefix="val_", batch_size=8, verbose=False, **coco_kwargs):
        super().__init__()
        if every_n_epochs < 1:
            raise ValueError(f"every_n_epochs must be >= 1, got {every_n_epochs}")
        self.data = data
        self.predict_fn = predict_fn
        self.every_n_epochs = every_n_epochs
        self.iou_type = iou_type
        self.backend = backend
        self.metrics_fn = metrics_fn
        self.prefix = prefix
        self.batch_size = batch_size
        self.verbose = verbose
        self.coco_kwargs = coco_kwargs
        self.results = {}

    def _batches(self):
        if isinstance(self.data, (list, tuple)):
            for start in range(0, len(self.data), self.batch_size):
                chunk = self.data[start : start + self.batch_size]
                yield np.stack([np.asarray(e["image"]) for e in chunk]), list(chunk)
        else:
            for batch in self.data:
                yield np.asarray(batch["image"]), split_batch(batch)

    def evaluate(self):
        """Runs the prediction and evaluation once; returns {name: float}."""
        groundtruth, predictions = [], []
        for images, elements in self._batches():
            outputs = self.predict_fn(images)
            predictions.extend(split_batch(outputs))
            groundtruth.extend(elements)
        if self.metrics_fn is not None:
            return {k: float(v) for k, v in self.metrics_fn(groundtruth, predictions).items()}
        return coco_evaluate(groundtruth, predictions, self.iou_type, self.backend, **self.coco_kwargs)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs:
            return
        start = time.perf_counter()
        numbers = self.evaluate()
        self.results[epoch] = numbers
        if logs is not None:
            logs.update({self.prefix + name: value for name, value in numbers.items()})
        if self.verbose:
            text = ", ".join(f"{self.prefix}{k}={v:.4f}" for k, v in numbers.items())
            print(f"\nepoch {epoch + 1} evaluation ({time.perf_counter() - start:.1f} s): {text}")

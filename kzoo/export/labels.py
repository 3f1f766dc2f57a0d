"""Class names travel with every export: a labels file in a SavedModel, metadata in a TFLite file."""

import json
import os

import flatbuffers
from tensorflow.lite.python import schema_py_generated as schema

from kzoo.data.checkpoint_record import record_of, resolve_dataset

LABELS_FILE = os.path.join("assets.extra", "labels.json")
TFLITE_METADATA_NAME = "kzoo_labels"


def recorded_class_names(model):
    """The class names the in-memory ``model`` learned (its dataset record), or None when it has no record."""
    record = record_of(model)
    return None if record is None else list(record["class_names"])


def model_dataset(model, requested=None):
    """The dataset to score, label or calibrate ``model`` with: ``requested`` (which must have the classes
    the model learned, when its dataset record is known), else the dataset it learned from (its record,
    attached by ``kzoo.training.train`` and ``kzoo.load_checkpoint``), else its registered default."""
    import kzoo.data
    from kzoo.models.registry import spec_of

    return resolve_dataset(requested, record_of(model), spec_of(model).dataset,
                           lambda name: kzoo.data.info(name).class_names)


def dataset_class_names(model, dataset=None):
    """Class names of ``dataset`` (default: the model's own, by its record or its registry entry), or None
    if unknown."""
    import kzoo.data

    if dataset is None and record_of(model) is not None:
        return recorded_class_names(model)
    name = model_dataset(model, dataset)
    try:
        return list(kzoo.data.info(name).class_names)
    except (KeyError, ValueError):
        return None


def representative_images(model, dataset=None, count=200):
    """uint8 images from the model's dataset (``dataset``, else its own), for int8 calibration."""
    import kzoo.data

    ds = kzoo.data.load(model_dataset(model, dataset), split="train").take(count)
    return [element["image"] for element in ds.as_numpy_iterator()]


def write_saved_model_labels(saved_model_dir, class_names):
    path = os.path.join(saved_model_dir, LABELS_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        json.dump({"class_names": list(class_names)}, handle)


def read_saved_model_labels(saved_model_dir):
    path = os.path.join(saved_model_dir, LABELS_FILE)
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        return json.load(handle)["class_names"]


def add_tflite_labels(flatbuffer, class_names):
    """Return ``flatbuffer`` with the class names stored as a named metadata buffer."""
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(flatbuffer, 0))
    buffer = schema.BufferT()
    buffer.data = list(json.dumps({"class_names": list(class_names)}).encode())
    model.buffers.append(buffer)
    metadata = schema.MetadataT()
    metadata.name = TFLITE_METADATA_NAME
    metadata.buffer = len(model.buffers) - 1
    model.metadata = (model.metadata or []) + [metadata]
    builder = flatbuffers.Builder(len(flatbuffer) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def read_tflite_labels(flatbuffer):
    """Class names stored by ``add_tflite_labels``, or None."""
    model = schema.Model.GetRootAsModel(flatbuffer, 0)
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        if entry.Name().decode() == TFLITE_METADATA_NAME:
            data = model.Buffers(entry.Buffer()).DataAsNumpy().tobytes()
            return json.loads(data.decode())["class_names"]
    return None

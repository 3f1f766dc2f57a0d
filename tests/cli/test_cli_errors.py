"""The command line's failures: one line, ``kzoo: error: <the original message>``, status 1, never a traceback."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import kzoo
from kzoo_cli import main
from kzoo_cli.errors import error_message, reduce_message
from kzoo_cli.predict_command import LITERT_NOISE, output_names, without_stderr_lines


def _raised(fn):
    """The exception ``fn()`` raises (it must raise)."""
    try:
        fn()
    except Exception as error:  # noqa: BLE001
        return error
    raise AssertionError("no error was raised")


def _failure(argv, capsys):
    """The exit status and stderr of a failing command."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return exit_info.value.code, err


# --- TensorFlow's wrapped errors, provoked for real --------------------------------------------------------------


def _py_function_in_tf_function():
    def refuse(x):
        raise ValueError("the py_function refuses")

    @tf.function
    def run(x):
        return tf.py_function(refuse, [x], tf.float32)

    run(tf.constant(1.0))


def _assertion_in_tf_function():
    @tf.function
    def run(x):
        with tf.control_dependencies([tf.debugging.assert_positive(x, message="x must be positive")]):
            return tf.identity(x)

    run(tf.constant(-1.0))


def _raise_while_tracing_a_tf_function():
    @tf.function
    def run(x):
        raise ValueError("refused while tracing")

    run(tf.constant(1.0))


def _raise_while_tracing_a_dataset_map():
    def element(x):
        raise ValueError("this model trains on instance keypoints: the dataset's elements have none")

    tf.data.Dataset.range(3).map(element)


def _py_function_in_a_dataset_map():
    def refuse(x):
        raise ValueError("element 1 has no boxes")

    list(tf.data.Dataset.range(3).map(lambda x: tf.py_function(refuse, [x], tf.int64)))


def _assertion_in_a_dataset_map():
    def check(x):
        with tf.control_dependencies([tf.debugging.assert_less(x, tf.constant(1, tf.int64), message="x too big")]):
            return tf.identity(x)

    list(tf.data.Dataset.range(3).map(check))


def _fit_with_a_tf_function_that_raises_in_user_code():
    @tf.function
    def targets(x):
        if x.shape[-1] == 2:
            raise ValueError("targets need 3 features")
        return x

    class Model(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(1)

        def call(self, x):
            return self.dense(targets(x))

    model = Model()
    model.compile(optimizer="sgd", loss="mse")
    data = tf.data.Dataset.from_tensor_slices((np.zeros((4, 2), np.float32), np.zeros((4, 1), np.float32)))
    model.fit(data.batch(2), verbose=0)


def _fit_with_a_failing_graph_assertion():
    model = keras.Sequential([
        keras.Input((2,)),
        keras.layers.Lambda(lambda x: tf.debugging.assert_all_finite(x / 0.0, "activations are not finite")),
    ])
    model.compile(optimizer="sgd", loss="mse")
    data = tf.data.Dataset.from_tensor_slices((np.zeros((4, 2), np.float32), np.zeros((4, 2), np.float32)))
    model.fit(data.batch(2), verbose=0)


def _corrupt_png():
    tf.io.decode_image(b"\x89PNG\r\n\x1a\n" + b"0" * 192)


WRAPPED = [
    (_py_function_in_tf_function, "Graph execution error", "the py_function refuses"),
    (_assertion_in_tf_function, "Graph execution error", "x must be positive"),
    (_raise_while_tracing_a_tf_function, "in user code", "refused while tracing"),
    (_raise_while_tracing_a_dataset_map, "in user code",
     "this model trains on instance keypoints: the dataset's elements have none"),
    (_py_function_in_a_dataset_map, "function_node", "element 1 has no boxes"),
    (_assertion_in_a_dataset_map, "function_node", "x too big"),
    (_fit_with_a_tf_function_that_raises_in_user_code, "in user code", "targets need 3 features"),
    (_fit_with_a_failing_graph_assertion, "Graph execution error", "activations are not finite"),
    (_corrupt_png, "function_node", "Invalid PNG"),
]


@pytest.mark.parametrize("provoke,wrapper,original", WRAPPED, ids=[case[0].__name__ for case in WRAPPED])
def test_the_original_message_is_taken_out_of_tensorflows_wrappers(provoke, wrapper, original):
    error = _raised(provoke)
    assert wrapper in str(error)  # TensorFlow did wrap it (else this test tests nothing)
    message = error_message(error)
    assert message.startswith(original), (message, str(error))
    assert "\n" not in message and "[Op:" not in message and "{{" not in message and "Error:" not in message


def test_plain_messages_are_kept_and_bare_ones_named():
    assert error_message(ValueError("no such checkpoint: x.keras")) == "no such checkpoint: x.keras"
    assert error_message(ValueError("first line\nsecond line")) == "first line"
    assert error_message(KeyError("boxes")) == "KeyError: 'boxes'"
    assert error_message(RuntimeError()) == "RuntimeError"
    # A message of kzoo's that quotes a TensorFlow error keeps its own words and loses TensorFlow's markers.
    quoted = ValueError(f"image file x.png cannot be decoded: {_raised(_corrupt_png)}")
    assert error_message(quoted).startswith("image file x.png cannot be decoded: Invalid PNG")
    assert "{{" not in error_message(quoted) and "[Op:" not in error_message(quoted)
    # Messages that merely contain a colon are not mistaken for an exception line.
    assert reduce_message("image too large: more than 5000 pixels") == "image too large: more than 5000 pixels"


def test_a_wrapped_training_error_is_one_line_with_the_original_message(tmp_path, capsys):
    """The user's trial: keypoint R-CNN on a COCO folder without keypoints said only 'kzoo: error: in user code:'."""
    from tests.data.test_user_data import write_coco_folder

    folder = write_coco_folder(tmp_path / "boxes_only", count=2)
    code, err = _failure(["train", "keypoint_rcnn", "--dataset", folder, "--epochs", "1", "--image-size", "64",
                          "--batch-size", "2", "--verbose", "0", "--out", str(tmp_path / "run")], capsys)
    assert code == 1
    assert err.strip() == "kzoo: error: this model trains on instance keypoints: the dataset's elements have none"


# --- argument errors ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("argv,message", [
    (["train", "faster_rcnn", "--epochs", "two"], "argument --epochs: expected a whole number, got 'two'"),
    (["train", "faster_rcnn", "--epochs", "0"], "argument --epochs: must be at least 1, got 0"),
    (["train", "faster_rcnn", "--image-size", "-64"], "argument --image-size: must be at least 1, got -64"),
    (["train", "faster_rcnn", "--batch-size", "0"], "argument --batch-size: must be at least 1, got 0"),
    (["train", "fcn8s", "--no-such-option"], "unrecognized arguments: --no-such-option"),
    (["frobnicate"], "argument command: invalid choice: 'frobnicate'"),
    (["predict"], "the following arguments are required: artifact, images"),
])
def test_bad_arguments_are_one_line_with_status_1(argv, message, capsys):
    code, err = _failure(argv, capsys)
    assert code == 1  # README: every failure exits with status 1
    assert err.strip().splitlines() == [err.strip()] and "usage:" not in err
    assert err.strip().startswith(f"kzoo: error: {message}"), err


def test_a_recipe_run_as_a_script_names_itself_in_its_refusal(capsys):
    import runpy
    import sys

    from kzoo_cli.main import RECIPES_DIR

    path = os.path.join(RECIPES_DIR, "faster_rcnn.py")
    saved = sys.argv
    sys.argv = [path, "--epochs", "two"]
    try:
        with pytest.raises(SystemExit) as exit_info:
            runpy.run_path(path, run_name="__main__")
    finally:
        sys.argv = saved
    assert exit_info.value.code == 1
    assert capsys.readouterr().err == "faster_rcnn.py: error: argument --epochs: expected a whole number, got 'two'\n"


def test_recipe_help_is_still_the_usage_named_after_kzoo_train(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "faster_rcnn", "--help"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("usage: kzoo train faster_rcnn ")


def test_a_misspelt_model_name_gets_the_closest_names(capsys):
    code, err = _failure(["train", "fastrcnn"], capsys)
    assert code == 1
    assert err.startswith("kzoo: error: no recipe 'fastrcnn'; did you mean fast_rcnn") and "faster_rcnn" in err
    assert "unet" not in err and len(err.strip().splitlines()) == 1
    code, err = _failure(["train", "zzzz"], capsys)
    assert code == 1 and err.strip() == "kzoo: error: no recipe 'zzzz'; `kzoo train` lists the 21 names"


# --- predict ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """A tiny classifier exported as a SavedModel that serves at most 5000 pixels, and as a TFLite file."""
    from kzoo.export import export_saved_model, export_tflite

    root = tmp_path_factory.mktemp("exports")
    model = kzoo.build("classifier", num_classes=3, backbone="tiny", input_shape=(32, 32, 3))
    saved_model = export_saved_model(model, str(root), "small", max_pixels=5000)
    tflite = str(root / "small.tflite")
    export_tflite(model, tflite)
    return saved_model, tflite


def _png(path, height, width):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tf.io.write_file(str(path), tf.io.encode_png(np.full((height, width, 3), 90, np.uint8)))
    return str(path)


def test_a_corrupt_image_is_named(exports, tmp_path, capsys):
    good = _png(tmp_path / "good.png", 20, 24)
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 192)
    code, err = _failure(["predict", exports[1], good, str(corrupt), "--out", str(tmp_path / "p")], capsys)
    assert code == 1
    assert err.startswith(f"kzoo: error: {corrupt} is not an image kzoo can read") and "Invalid PNG" in err
    assert len(err.strip().splitlines()) == 1


def test_a_missing_image_is_named_before_any_work(exports, tmp_path, capsys):
    code, err = _failure(["predict", exports[1], str(tmp_path / "nothing.png"), "--out", str(tmp_path / "p")], capsys)
    assert code == 1 and err.strip() == f"kzoo: error: no such image file: {tmp_path / 'nothing.png'}"
    assert not (tmp_path / "p").exists()


def test_an_image_over_the_exports_pixel_limit_says_so(exports, tmp_path, capsys):
    big = _png(tmp_path / "big.png", 96, 80)  # 7680 pixels; the export serves 5000
    code, err = _failure(["predict", exports[0], big, "--out", str(tmp_path / "p")], capsys)
    assert code == 1
    assert err.strip().startswith(f"kzoo: error: {big} (80x96 = 7680 pixels): image too large: more than 5000 pixels")
    assert len(err.strip().splitlines()) == 1


def test_images_with_the_same_name_get_distinct_pictures(exports, tmp_path, capsys):
    cat = _png(tmp_path / "a" / "cat" / "0.png", 20, 24)
    dog = _png(tmp_path / "b" / "dog" / "0.png", 30, 24)
    out = tmp_path / "p"
    main(["predict", exports[1], cat, dog, "--out", str(out)])
    assert sorted(os.listdir(out)) == ["cat_0.png", "dog_0.png"]
    assert capsys.readouterr().out.split() == ["wrote", str(out / "cat_0.png"), "wrote", str(out / "dog_0.png")]


def test_tflite_predictions_print_no_litert_info_line(exports, tmp_path):
    """LiteRT logs its XNNPACK line once per process, so each run is a process of its own."""
    image = _png(tmp_path / "x.png", 20, 24)
    kzoo_command = os.path.join(os.path.dirname(sys.executable), "kzoo")

    def stderr_of(*options):
        return subprocess.run([kzoo_command, *options, "predict", exports[1], image, "--out", str(tmp_path / "p")],
                              capture_output=True, text=True, check=True).stderr

    assert "XNNPACK" not in stderr_of(), "the LiteRT line is back"
    assert "XNNPACK" in stderr_of("--verbose")  # the control: LiteRT does print it, and --verbose lets it through


def test_output_names_are_distinct():
    assert output_names(["x/garment.png"]) == ["garment.png"]
    assert output_names(["a/cat/0.jpg", "b/dog/0.jpg"]) == ["cat_0.png", "dog_0.png"]
    assert output_names(["d/x.png", "d/y.png", "d/x.jpg"]) == ["x_1.png", "y.png", "x_2.png"]
    assert output_names(["d/x.png", "d/x.png", "d/x_1.png"]) == ["x_2.png", "x_3.png", "x_1.png"]
    names = output_names(["d/Cat.png", "d/cat.png", "e/cat.png", "f/dog.png"])
    assert len({name.lower() for name in names}) == 4, names


def test_the_stderr_filter_drops_only_the_litert_line(capfd):
    with without_stderr_lines(LITERT_NOISE):
        os.write(2, (LITERT_NOISE[0] + "\n").encode())
        os.write(2, b"ERROR: a real problem\n")
    assert capfd.readouterr().err == "ERROR: a real problem\n"

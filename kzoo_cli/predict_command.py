"""``kzoo predict``: run an export on image files and draw what it found, one picture per image."""

import contextlib
import os
import sys
import tempfile

from kzoo_cli.errors import error_message


def output_names(image_paths):
    """A distinct picture name (``NAME.png``) for each input image, in order: no input's picture overwrites another's.

    An image's stem when no other input has it; where stems repeat, folder
    and stem (``cat_0.png``, ``dog_0.png``) if that tells them apart;
    otherwise (``x.png`` and ``x.jpg``, the same file twice) each is
    numbered (``x_1.png``, ``x_2.png``). Names differ in more than case, for
    case-insensitive file systems.
    """
    stems = [os.path.splitext(os.path.basename(path))[0] or "image" for path in image_paths]
    folders = [os.path.basename(os.path.dirname(os.path.abspath(path))) for path in image_paths]
    names = []
    for stem, folder in zip(stems, folders):
        group = [i for i, other in enumerate(stems) if other.lower() == stem.lower()]
        distinct_folders = len({folders[i].lower() for i in group}) == len(group)
        names.append(f"{folder}_{stem}" if len(group) > 1 and distinct_folders and folder else stem)
    lowered = [name.lower() for name in names]
    taken, unique = set(), []
    for name in names:
        candidate, number = name, 0
        while (number == 0 and lowered.count(name.lower()) > 1) or candidate.lower() in taken or (
                number and candidate.lower() in lowered):
            number += 1
            candidate = f"{name}_{number}"
        taken.add(candidate.lower())
        unique.append(candidate + ".png")
    return unique


def read_image(path):
    """An image file as uint8 RGB [H, W, 3], or a ValueError that names the file."""
    import tensorflow as tf

    with open(path, "rb") as handle:
        data = handle.read()
    try:
        return tf.io.decode_image(data, channels=3, expand_animations=False).numpy()
    except Exception as error:  # noqa: BLE001  (tf.errors.InvalidArgumentError, reported in one line)
        raise ValueError(f"{path} is not an image kzoo can read (JPEG, PNG, BMP or GIF): "
                         f"{error_message(error)}") from error


# Lines the LiteRT runtime writes to the process's stderr (C++, unaffected by TF_CPP_MIN_LOG_LEVEL) on the first
# run of every interpreter: not worth a line of kzoo's output.
LITERT_NOISE = ("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",)


@contextlib.contextmanager
def without_stderr_lines(prefixes):
    """Run the block with file descriptor 2 captured, then pass on every captured line but those of ``prefixes``."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [line for line in capture.read().decode(errors="replace").splitlines(keepends=True)
                    if not line.startswith(prefixes)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def predict(artifact, image_paths, out_dir, score_threshold=0.3, verbose=False):
    """Run export ``artifact`` on each image file and write ``out_dir/<name>.png`` (``output_names``) with its
    detections or labels drawn; print each path written. Bad input is a one-line ``ValueError`` naming the file."""
    from kzoo.export.predictor import load_predictor
    from kzoo.viz import save_grid, show_prediction

    missing = [path for path in image_paths if not os.path.isfile(path)]
    if missing:
        more = f" (and {len(missing) - 1} more)" if missing[1:] else ""
        raise ValueError(f"no such image file: {missing[0]}{more}")
    targets = [os.path.join(out_dir, name) for name in output_names(image_paths)]
    predictor = load_predictor(artifact)
    os.makedirs(out_dir, exist_ok=True)
    for path, target in zip(image_paths, targets):
        image = read_image(path)
        try:
            with contextlib.nullcontext() if verbose else without_stderr_lines(LITERT_NOISE):
                outputs = predictor.predict(image[None])
        except Exception as error:  # noqa: BLE001  (the graph's own message, with the file it was about)
            height, width = image.shape[:2]
            message = error_message(error)
            if message.startswith("image too large"):
                message += "; export again with a larger --max-pixels to serve it"
            raise ValueError(f"{path} ({width}x{height} = {width * height} pixels): {message}") from error
        prediction = {key: value[0] for key, value in outputs.items()}
        save_grid(
            [lambda ax: show_prediction(ax, image, prediction, predictor.class_names,
                                        score_threshold=score_threshold)],
            target, columns=1, cell_inches=3.0,
        )
        print(f"wrote {target}")

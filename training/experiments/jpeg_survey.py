"""How an image folder's files were compressed: format, JPEG quality and chroma subsampling,
read from each file's header (nothing is decoded).

    python -m training.experiments.jpeg_survey --folder=../shared/data/cifar10/train \
        --output=results/training/cifar10_jpeg_survey.md

The quality is the libjpeg quality (1-100) whose standard quantization tables the file
carries, as Pillow and most encoders write them; "other tables" otherwise. Why it matters:
a 32x32 CIFAR image keeps less of itself at quality 75 with 4:2:0 chroma than as the PNG
the paper's numbers come from, and both training and validation images here are such JPEGs.
"""

from __future__ import annotations

import collections
import io
import os

from absl import app, flags

from keras_resnet.common.atomic_io import write_text
from keras_resnet.data.image_folder import IMAGE_EXTENSIONS
from training.experiments import figures

FLAGS = flags.FLAGS

SUBSAMPLING = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0", -1: "none (one channel)"}


def standard_tables() -> dict[int, dict[int, list[int]]]:
    """libjpeg's quantization tables for each quality 1-100, as Pillow writes them."""
    from PIL import Image

    tables = {}
    for quality in range(1, 101):
        buffer = io.BytesIO()
        Image.new("RGB", (8, 8)).save(buffer, "JPEG", quality=quality)
        buffer.seek(0)
        tables[quality] = {k: list(v) for k, v in Image.open(buffer).quantization.items()}
    return tables


def survey(folder: str, every: int = 1) -> dict[str, collections.Counter]:
    """Counts of format, JPEG quality, chroma subsampling and size over every `every`-th image
    file of `folder` (recursively, in sorted order)."""
    from PIL import Image, JpegImagePlugin

    paths = sorted(os.path.join(root, f) for root, _, files in os.walk(folder) for f in files
                   if f.lower().endswith(IMAGE_EXTENSIONS))
    if not paths:
        raise ValueError(f"no image files under {folder!r}.")
    tables = standard_tables()
    counts = {key: collections.Counter() for key in ("format", "quality", "chroma", "size")}
    for path in paths[::every]:
        with Image.open(path) as image:
            counts["format"][image.format] += 1
            counts["size"][f"{image.width}x{image.height}"] += 1
            if image.format != "JPEG":
                continue
            found = {k: list(v) for k, v in image.quantization.items()}
            quality = next((q for q, t in tables.items() if t == found), None)
            counts["quality"][str(quality) if quality else "other tables"] += 1
            counts["chroma"][SUBSAMPLING.get(JpegImagePlugin.get_sampling(image), "other")] += 1
    counts["files"] = collections.Counter({"read": len(paths[::every]), "in folder": len(paths)})
    return counts


def write(folder: str, output: str, every: int = 1) -> str:
    """Writes the survey of `folder` as a markdown table to `output`; returns it."""
    counts = survey(folder, every)
    files = counts.pop("files")
    command = (f"python -m training.experiments.jpeg_survey --folder={folder} "
               f"--output={output}" + (f" --every={every}" if every > 1 else ""))
    rows = [[what, value, n, f"{100 * n / files['read']:.1f}%"]
            for what, counter in counts.items() for value, n in counter.most_common(5)]
    text = (f"# Compression of {folder}\n\nWritten by `{command}`: {files['read']} of "
            f"{files['in folder']} image files read (headers only).\n\n"
            + figures.markdown_table(["", "value", "files", "share"], rows))
    write_text(output, text)
    return text


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    try:
        print(write(FLAGS.folder, FLAGS.output, FLAGS.every))
    except ValueError as err:
        raise app.UsageError(str(err)) from None
    return 0


def define_flags() -> None:
    flags.DEFINE_string("folder", None, "An image folder (class subfolders).", required=True)
    flags.DEFINE_string("output", None, "The markdown file to write.", required=True)
    flags.DEFINE_integer("every", 1, "Read every N-th file only.", lower_bound=1)


if __name__ == "__main__":
    define_flags()
    app.run(main)

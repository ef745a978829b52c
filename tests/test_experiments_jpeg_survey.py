"""training/experiments/jpeg_survey.py: the quality and chroma subsampling of a folder's JPEGs,
read back from files written at known settings."""

import sys

import numpy as np
import pytest
from PIL import Image

from training.experiments import jpeg_survey

pytestmark = pytest.mark.backend_independent


def test_the_survey_finds_the_quality_and_subsampling_each_file_was_written_with(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    pixels = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
    for i in range(3):
        Image.fromarray(pixels).save(tmp_path / "a" / f"{i}.jpg", quality=75, subsampling=2)
    Image.fromarray(pixels).save(tmp_path / "b" / "0.jpg", quality=90, subsampling=0)
    Image.fromarray(pixels[:16]).save(tmp_path / "b" / "1.png")
    (tmp_path / "b" / "notes.txt").write_text("not an image")
    counts = jpeg_survey.survey(str(tmp_path))
    assert counts["files"] == {"read": 5, "in folder": 5}
    assert counts["format"] == {"JPEG": 4, "PNG": 1}
    assert counts["quality"] == {"75": 3, "90": 1}
    assert counts["chroma"] == {"4:2:0": 3, "4:4:4": 1}
    assert counts["size"] == {"32x32": 4, "32x16": 1}
    output = tmp_path / "survey.md"
    text = jpeg_survey.write(str(tmp_path), str(output), every=2)
    assert output.read_text() == text
    assert "3 of 5 image files read" in text and "--every=2" in text


def test_custom_tables_and_an_empty_folder(tmp_path):
    tables = {0: list(range(1, 65)), 1: list(range(2, 66))}
    Image.new("RGB", (16, 16)).save(tmp_path / "x.jpg", qtables=tables)
    assert jpeg_survey.survey(str(tmp_path))["quality"] == {"other tables": 1}
    with pytest.raises(ValueError, match="no image files under"):
        jpeg_survey.survey(str(tmp_path / "missing"))


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))

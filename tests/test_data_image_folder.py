import sys

import pytest

from keras_resnet.data.image_folder import read_image_folder

pytestmark = pytest.mark.backend_independent  # file listing and splits are plain Python


def test_held_out_split_is_the_last_files_of_each_class(image_folder):
    splits = read_image_folder(str(image_folder), val_fraction=0.25)
    train, val = splits["train"], splits["val"]
    assert train.class_names == ("cat", "dog", "emu")
    assert len(train) == 27 and len(val) == 9
    assert [p.rsplit("/", 1)[1] for p in val.paths[:3]] == ["009.png", "010.png", "011.png"]
    assert list(val.labels) == [0] * 3 + [1] * 3 + [2] * 3
    assert not set(train.paths) & set(val.paths)


def test_split_subfolders(tmp_path, image_folder):
    root = tmp_path / "split"
    (root / "train").mkdir(parents=True)
    (root / "val").mkdir()
    for name in ("cat", "dog"):
        (image_folder / name).rename(root / "train" / name)
    (root / "val" / "dog").mkdir()
    (image_folder / "emu" / "000.png").rename(root / "val" / "dog" / "x.png")
    splits = read_image_folder(str(root))
    assert splits["train"].class_names == ("cat", "dog")
    assert list(splits["val"].labels) == [1]


def test_bad_folders(tmp_path, image_folder):
    with pytest.raises(ValueError, match="does not exist"):
        read_image_folder(str(tmp_path / "nope"))
    (tmp_path / "flat").mkdir()
    with pytest.raises(ValueError, match="no class subfolders"):
        read_image_folder(str(tmp_path / "flat"))
    (image_folder / "empty").mkdir()
    with pytest.raises(ValueError, match=r"\['empty'\] .* hold no images"):
        read_image_folder(str(image_folder))
    with pytest.raises(ValueError, match="val_fraction"):
        read_image_folder(str(tmp_path / "flat" / ".."), val_fraction=1.5)


def test_one_class_is_refused_in_either_layout(tmp_path, image_folder):
    import shutil

    one = tmp_path / "one"
    shutil.copytree(image_folder / "cat", one / "cat")
    with pytest.raises(ValueError, match=r"has one class \('cat'\); a classifier needs two"):
        read_image_folder(str(one))
    shutil.copytree(image_folder / "cat", tmp_path / "split" / "train" / "cat")
    shutil.copytree(image_folder / "cat", tmp_path / "split" / "val" / "cat")
    with pytest.raises(ValueError, match="has one class"):
        read_image_folder(str(tmp_path / "split"))


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))

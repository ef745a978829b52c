"""keras_resnet/common/folder_lock.py: one writer per folder, released however it ends."""

import json
import os
import sys

import pytest

from keras_resnet.common.folder_lock import LOCK_FILE, FolderBusyError, hold

pytestmark = pytest.mark.backend_independent


def test_a_held_folder_is_refused_naming_its_holder(tmp_path, hold_in_another_process):
    holder = hold_in_another_process(tmp_path / "run")
    with pytest.raises(FolderBusyError, match=rf"pid {holder.pid} on .*, training since"):
        with hold(str(tmp_path / "run"), "unpacking a run"):
            pytest.fail("the block ran while another process held the folder")


def test_a_killed_holder_leaves_no_stale_lock(tmp_path, hold_in_another_process):
    holder = hold_in_another_process(tmp_path / "run")
    holder.kill()  # SIGKILL: no chance to clean up
    holder.wait()
    with hold(str(tmp_path / "run"), "training"):
        record = json.loads((tmp_path / "run" / LOCK_FILE).read_text())
    assert record["pid"] == os.getpid() and record["what"] == "training"


def test_the_lock_is_released_when_the_block_ends_even_by_an_error(tmp_path):
    with pytest.raises(RuntimeError), hold(str(tmp_path), "training"):
        raise RuntimeError("the run failed")
    with hold(str(tmp_path), "training"):  # taken again at once
        with pytest.raises(FolderBusyError):  # and a second holder, even in-process, refused
            with hold(str(tmp_path), "packing a run"):
                pass


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))

"""How every command of the project starts: the CPU kernels, its install extra, its flags in
the short help, the required ones marked, then absl's `app.run`."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from absl import app, flags

from keras_resnet.common.config_flags import show_in_short_help
from keras_resnet.common.cpu_kernels import relaunch_with_onednn
from keras_resnet.common.extras import require


def run_app(main: Callable[[list[str]], int], *, module: str, extra: str, command: str,
            define: Callable[[], None], required: Sequence[str]) -> None:
    """Runs `main` as the command `command` (module `module`, needing install extra `extra`):
    `define` defines its flags on absl's FLAGS, which the short help then lists, and the
    flags in `required` must be given. A missing extra exits with pip's command for it."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    relaunch_with_onednn(module)
    try:
        require(extra, command)
    except ImportError as err:
        raise SystemExit(f"error: {err}") from None
    before = set(flags.FLAGS)
    define()
    show_in_short_help(sorted(set(flags.FLAGS) - before), flags.FLAGS)
    flags.mark_flags_as_required(list(required))
    app.run(main)

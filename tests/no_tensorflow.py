"""Running an entry point in a subprocess where every `import tensorflow` fails: how the tests
prove that the JAX trainer and the device-side classifier need no TensorFlow."""

import subprocess
import sys

#: Runs sys.argv[1] as __main__ with TensorFlow blocked; its last line says whether any
#: tensorflow module got imported anyway.
_BLOCKER = """
import runpy, sys
class NoTensorFlow:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "tensorflow":
            raise ImportError("tensorflow is blocked in this test")
sys.meta_path.insert(0, NoTensorFlow())
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
finally:
    print("TENSORFLOW IMPORTED:", any(m.split(".")[0] == "tensorflow" for m in sys.modules))
"""
#: The last output line of a run in which TensorFlow stayed out.
CLEAN = "TENSORFLOW IMPORTED: False"


def run_without_tensorflow(script: str, args: list[str], **kwargs) -> subprocess.CompletedProcess:
    """`python script *args` with TensorFlow unimportable (kwargs go to subprocess.run)."""
    return subprocess.run([sys.executable, "-c", _BLOCKER, script, *args], capture_output=True,
                          text=True, **kwargs)

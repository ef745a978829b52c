"""py_pytest: one py_test per test file, run through pytest by the file's own main guard."""

def py_pytest(name, src, size = "large", tags = []):
    native.py_test(
        name = name,
        tags = tags,
        srcs = [src, "tests/conftest.py", "tests/no_tensorflow.py", "tests/resume_checks.py"],
        main = src,
        size = size,
        data = ["README.md", "setup.cfg"],
        deps = ["//:keras_resnet", "//:training", "//:export_app", "//:bench"],
    )

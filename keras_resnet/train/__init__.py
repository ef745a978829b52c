"""The trainer's library: one typed config (`config`), its flags (`flags`), the data plan,
model, loop, evaluation, checkpoints and distribution. `run` is the entry point."""

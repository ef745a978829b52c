"""The trainer's library: data pipelines, schedules, strategies, checkpoints, the fit loop.

Flags live only in the entry point, `training/train.py`; everything here takes arguments.
"""

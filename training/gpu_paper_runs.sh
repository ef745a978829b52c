#!/bin/bash
# The paper's CIFAR-10 recipes on the lent GPU machine: Keras 3 on JAX, mixed_bfloat16, the
# numpy input path (Pillow decodes, augmentation runs on the device); TensorFlow is not there.
#
#   bash training/gpu_paper_runs.sh prepare             # here, once: .data/ and .whl/ (ignored)
#   bash training/gpu_paper_runs.sh run resnet20 ...    # there, through the device tool, with
#                                                       # carry [".whl", ".data"]
#
# Each MODEL trains with training/configs/cifar10_MODEL.flags (the paper's 64k steps at batch
# 128) into $OUT/cifar10_MODEL: checkpoints, history.csv, metrics.json, model.keras and
# model_best.keras, and the log beside it. A model_dir that is already there resumes.
# SECONDS_PER_MODEL (default 540) stops a run with `timeout`; EXTRA_FLAGS are appended to the
# flagfile (e.g. "--train_steps=64" for a smoke run on a CPU). Pack the weights afterwards here:
#   python training/package_weights.py --model_dir=OUT/cifar10_resnet20 --output=...
set -uo pipefail

usage() {
  echo "usage: bash training/gpu_paper_runs.sh prepare | run MODEL [MODEL ...]" >&2
  exit 2
}

prepare() {
  local source=../shared/data/cifar10/train
  if [ ! -d "$source" ]; then
    echo "no CIFAR-10 folder at $source: run this from the project root, with ../shared beside it" >&2
    exit 2
  fi
  # One stored (uncompressed) zip: 50k small files would cost a tar header each in the carry.
  mkdir -p .data
  python3 - "$source" .data/cifar10_train.zip <<'PY' || exit 1
import os, sys, zipfile
source, target = sys.argv[1:]
tmp = target + ".tmp"
with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:
    for folder, _, files in sorted(os.walk(source)):
        for name in sorted(files):
            path = os.path.join(folder, name)
            archive.write(path, os.path.join("train", os.path.relpath(path, source)))
os.replace(tmp, target)
PY
  bash ../shared/tools/device-wheels.sh || exit 1
  echo "ready: carry .whl and .data ($(du -sh .data/cifar10_train.zip | cut -f1))"
}

run() {
  [ $# -gt 0 ] || usage
  if [ ! -f .data/cifar10_train.zip ]; then
    echo "no .data/cifar10_train.zip: run 'bash training/gpu_paper_runs.sh prepare' here and carry .data" >&2
    exit 2
  fi
  for model in "$@"; do
    if [ ! -f "training/configs/cifar10_$model.flags" ]; then
      echo "no flagfile training/configs/cifar10_$model.flags" >&2
      exit 2
    fi
  done
  if ! python3 -c "import keras" 2>/dev/null; then
    if ! ls .whl/*.whl >/dev/null 2>&1; then
      echo "keras is not installed and there is no .whl/: run 'prepare' here and carry .whl" >&2
      exit 2
    fi
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
  fi
  export KERAS_BACKEND=jax
  export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}  # keras_resnet from this checkout, not installed
  local data=${DATA_DIR:-/tmp/keras_resnet_data}
  if [ ! -d "$data/train" ]; then  # unpacked once; a half-unpacked folder is never used
    rm -rf "$data.tmp" "$data"
    python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" \
      .data/cifar10_train.zip "$data.tmp" && mv "$data.tmp" "$data" || exit 1
  fi
  local out=${OUT:-runs/gpu} status=0
  mkdir -p "$out"
  for model in "$@"; do
    local start=$SECONDS rc=0
    # shellcheck disable=SC2086  # EXTRA_FLAGS is a list of flags
    timeout "${SECONDS_PER_MODEL:-540}" python3 training/train.py \
      --flagfile="training/configs/cifar10_$model.flags" \
      --dataset="folder:$data/train" --dtype=mixed_bfloat16 --steps_per_execution=32 \
      --model_dir="$out/cifar10_$model" --verbose=2 ${EXTRA_FLAGS:-} \
      >"$out/cifar10_$model.log" 2>&1 || rc=$?
    tail -n 3 "$out/cifar10_$model.log"
    echo "$model: exit $rc, wall $((SECONDS - start)) s"
    [ "$rc" -eq 0 ] || status=$rc
  done
  return "$status"
}

case "${1:-}" in
  prepare) prepare ;;
  run) shift; run "$@" ;;
  *) usage ;;
esac

#!/usr/bin/env bash
# Executes a notebook end to end with nbconvert (a cell that raises fails
# the run) in WORK_DIR, writing the executed copy there; the committed
# notebook stays without outputs.
#   tests/python/run_notebook.sh PYTHON NOTEBOOK WORK_DIR
set -euo pipefail
python="$1"
notebook="$2"
work="$3"
rm -rf "$work"
mkdir -p "$work"
cd "$work"
MPLBACKEND=Agg "$python" -m nbconvert --to notebook --execute \
  --ExecutePreprocessor.timeout=1800 --ExecutePreprocessor.kernel_name=python3 \
  --output-dir "$work" --output executed.ipynb "$notebook"
echo "executed: $work/executed.ipynb"

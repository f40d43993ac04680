#!/usr/bin/env bash
# `pip install .` as a user runs it, offline (--no-index: the backend needs
# nothing from an index), into a target directory; then the installed
# package is imported from there, away from the source tree, and used.
#   tests/python/pip_install.sh SOURCE_DIR WORK_DIR [PYTHON]
set -euo pipefail
src="$1"
work="$2"
python="${3:-/usr/bin/python3}"
rm -rf "$work/target"
mkdir -p "$work"
BECKON_PIP_BUILD_DIR="$work/build" \
  "$python" -m pip install --no-deps --no-index --disable-pip-version-check \
  --target "$work/target" "$src"
cd "$work"
PYTHONPATH="$work/target" "$python" - "$work/target" <<'PY'
import os, sys
import beckon
target = sys.argv[1]
assert os.path.dirname(beckon.__file__) == os.path.join(target, "beckon"), beckon.__file__
assert os.path.exists(os.path.join(target, "beckon", "_beckon.pyi"))
assert os.path.exists(os.path.join(target, "beckon", "py.typed"))
# The generated messages' library travels in the package, and is the copy
# the module loaded (its RUNPATH is $ORIGIN alone).
proto = os.path.join(target, "beckon", "libbeckon_proto.so.0")
assert os.path.exists(proto), os.listdir(os.path.join(target, "beckon"))
with open("/proc/self/maps") as maps:
    loaded = {line.split()[-1] for line in maps if "libbeckon_proto" in line}
assert loaded == {os.path.realpath(proto)}, loaded
events = beckon.simulate(days=2, seed=5, visitors_per_day=1500)
split = events.ts_ms.min() + 86_400_000
policy = beckon.train(events[events.ts_ms < split])
metrics = beckon.replay(policy, events[events.ts_ms >= split]).metrics
assert metrics["sessions"] > 0 and metrics["offers_after_decline"] == 0
print(f"installed beckon {beckon.__version__} from {target}: "
      f"offer_rate {metrics['offer_rate']:.3f}, precision {metrics['precision']:.3f}")
PY

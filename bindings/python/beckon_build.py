"""The build backend of `pip install .` (PEP 517), in-tree and dependency-free.

It configures and builds the extension with CMake (the same build as
`-DBECKON_BUILD_PYTHON=ON`), then packs build/python/beckon into a wheel. It
needs nothing from a package index: pyproject.toml lists no build
requirements, so `pip install .` works offline, with or without build
isolation.

Environment:
  BECKON_PIP_BUILD_DIR  the CMake build directory (default: build-pip/ in the
                        source tree; kept between builds, so rebuilds are
                        incremental).
  CMAKE_ARGS            extra arguments for the CMake configure step.
  CMAKE_BUILD_PARALLEL_LEVEL  jobs (default: the number of CPUs).
"""

import base64
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
_NAME = "beckon"
_SUMMARY = ("Decide when an online shop should offer help: the beckon "
            "engine, trainer and replay from Python")
_REQUIRES = ("numpy", "pandas")


def _version():
    text = open(os.path.join(_ROOT, "include", "beckon", "version.h")).read()
    return re.search(r'#define BECKON_VERSION_STRING "([^"]+)"', text).group(1)


def _tag():
    impl = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    plat = re.sub(r"[-.]", "_", sysconfig.get_platform())
    return f"{impl}-{impl}-{plat}"


def _dist_info():
    return f"{_NAME}-{_version()}.dist-info"


def _metadata():
    lines = ["Metadata-Version: 2.1", f"Name: {_NAME}",
             f"Version: {_version()}", f"Summary: {_SUMMARY}",
             "License: see the project's repository",
             "Requires-Python: >=3.9"]
    lines += [f"Requires-Dist: {r}" for r in _REQUIRES]
    return "\n".join(lines) + "\n"


def _wheel_file():
    return ("Wheel-Version: 1.0\nGenerator: beckon_build\n"
            f"Root-Is-Purelib: false\nTag: {_tag()}\n")


def _build_extension():
    build_dir = os.environ.get("BECKON_PIP_BUILD_DIR") or os.path.join(
        _ROOT, "build-pip")
    configure = [
        "cmake", "-S", _ROOT, "-B", build_dir,
        "-DCMAKE_BUILD_TYPE=Release",
        "-DBECKON_BUILD_PYTHON=ON", "-DBECKON_BUILD_TESTS=OFF",
        "-DBECKON_BUILD_EXAMPLES=OFF", "-DBECKON_BUILD_TOOLS=OFF",
        "-DBECKON_BUILD_C=OFF", "-DBECKON_INSTALL=OFF",
        f"-DPython3_EXECUTABLE={sys.executable}",
    ]
    if not os.path.exists(os.path.join(build_dir, "CMakeCache.txt")):
        if shutil.which("ninja"):
            configure += ["-G", "Ninja"]
        if shutil.which("ccache"):
            configure += ["-DCMAKE_CXX_COMPILER_LAUNCHER=ccache",
                          "-DCMAKE_C_COMPILER_LAUNCHER=ccache"]
    configure += shlex.split(os.environ.get("CMAKE_ARGS", ""))
    subprocess.run(configure, check=True)
    jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL") or str(os.cpu_count() or 1)
    subprocess.run(["cmake", "--build", build_dir, "--target", "beckon_python",
                    "--parallel", jobs], check=True)
    return os.path.join(build_dir, "python", _NAME)


def _record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest())
    return f"{arcname},sha256={digest.rstrip(b'=').decode()},{len(data)}"


# --- PEP 517 hooks ---------------------------------------------------------------

def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    info = os.path.join(metadata_directory, _dist_info())
    os.makedirs(info, exist_ok=True)
    with open(os.path.join(info, "METADATA"), "w") as f:
        f.write(_metadata())
    with open(os.path.join(info, "WHEEL"), "w") as f:
        f.write(_wheel_file())
    return _dist_info()


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    package = _build_extension()
    name = f"{_NAME}-{_version()}-{_tag()}.whl"
    path = os.path.join(wheel_directory, name)
    records = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as whl:
        def add(arcname, data):
            whl.writestr(arcname, data)
            records.append(_record_line(arcname, data))
        for entry in sorted(os.listdir(package)):
            full = os.path.join(package, entry)
            if os.path.isfile(full) and not entry.endswith(".pyc"):
                with open(full, "rb") as f:
                    add(f"{_NAME}/{entry}", f.read())
        info = _dist_info()
        add(f"{info}/METADATA", _metadata().encode())
        add(f"{info}/WHEEL", _wheel_file().encode())
        records.append(f"{info}/RECORD,,")
        whl.writestr(f"{info}/RECORD", "\n".join(records) + "\n")
    return name


def build_sdist(sdist_directory, config_settings=None):
    """The tracked sources (git ls-files; without git, the tree minus build
    directories)."""
    base = f"{_NAME}-{_version()}"
    name = f"{base}.tar.gz"
    try:
        files = subprocess.run(["git", "ls-files"], cwd=_ROOT, check=True,
                               capture_output=True, text=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        files = []
        for d, dirs, fs in os.walk(_ROOT):
            dirs[:] = [x for x in dirs if not x.startswith(("build", "."))
                       and x != "node_modules"]
            files += [os.path.relpath(os.path.join(d, f), _ROOT) for f in fs]
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as tar:
        for f in sorted(files):
            tar.add(os.path.join(_ROOT, f), arcname=f"{base}/{f}")
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        data = _metadata().encode()
        info.size = len(data)
        import io
        tar.addfile(info, io.BytesIO(data))
    return name

"""The Python module and the C ABI (libbeckon_c.so) in one process, as when
a Python service also loads a C extension or host plugin built on the C
library. Both use the generated protobuf messages, which live once, in
libbeckon_proto.so beside each of them; before that split, loading the
second aborted the process ("File already exists in database:
beckon/policy.proto").

$BECKON_C_LIBRARY is the path of libbeckon_c.so (set by the build's ctest);
without it the test skips, saying so."""

import ctypes
import os
import subprocess
import sys

import pytest

import beckon

T0 = 1_700_000_000_000


@pytest.fixture(scope="module")
def libc_path():
    path = os.environ.get("BECKON_C_LIBRARY", "")
    if not path:
        pytest.skip("BECKON_C_LIBRARY is not set (the path of libbeckon_c.so; "
                    "the build sets it where the C ABI is built)")
    assert os.path.exists(path), path
    return path


class DecisionInfo(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("action", ctypes.c_int32),
                ("reason", ctypes.c_int32), ("would_offer", ctypes.c_uint8),
                ("has_recheck_at", ctypes.c_uint8),
                ("probability", ctypes.c_double),
                ("threshold", ctypes.c_double),
                ("recheck_at_ms", ctypes.c_int64),
                ("reason_count", ctypes.c_uint32),
                ("contribution_count", ctypes.c_uint32)]


def load(path):
    lib = ctypes.CDLL(path)
    p = ctypes.c_void_p
    err = ctypes.POINTER(ctypes.c_char_p)
    lib.beckon_policy_from_bytes.argtypes = [ctypes.c_char_p, ctypes.c_size_t,
                                             ctypes.POINTER(p), err]
    lib.beckon_engine_create.argtypes = [p, p, ctypes.POINTER(p), err]
    lib.beckon_engine_observe_page_view.argtypes = [
        p, ctypes.c_int64, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
        err]
    lib.beckon_engine_observe_search.argtypes = [
        p, ctypes.c_int64, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int64,
        err]
    lib.beckon_engine_decide_info.argtypes = [
        p, ctypes.c_char_p, ctypes.c_int64, p, ctypes.POINTER(DecisionInfo),
        err]
    lib.beckon_action_name.restype = ctypes.c_char_p
    lib.beckon_reason_name.restype = ctypes.c_char_p
    lib.beckon_policy_destroy.argtypes = [p]
    lib.beckon_engine_destroy.argtypes = [p]
    return lib


def ok(rc, errp):
    assert rc == 0, errp[0]


def test_module_and_c_abi_decide_alike_in_one_process(libc_path):
    # The module is loaded (import beckon); now the C library beside it.
    lib = load(libc_path)
    text = beckon.Policy.default().to_text().replace(
        "holdout_fraction: 0.05", "holdout_fraction: 0")
    policy = beckon.Policy.from_text(text)
    data = policy.to_bytes()

    errp = (ctypes.c_char_p * 1)()
    c_policy = ctypes.c_void_p()
    ok(lib.beckon_policy_from_bytes(data, len(data), ctypes.byref(c_policy),
                                    errp), errp)
    c_engine = ctypes.c_void_p()
    ok(lib.beckon_engine_create(c_policy, None, ctypes.byref(c_engine), errp),
       errp)

    py_engine = beckon.Engine(policy)
    steps = [("page_view", 0, "/contact", "https://www.google.com/search?q=x"),
             ("search", 5_000, "/search?q=refund", 0),
             ("page_view", 15_000, "/returns/policy", None),
             ("page_view", 30_000, "/contact", None)]
    for kind, dt, page, extra in steps:
        if kind == "page_view":
            py_engine.observe(T0 + dt, "v1", kind, page, extra or "")
            ok(lib.beckon_engine_observe_page_view(
                c_engine, T0 + dt, b"v1", page.encode(),
                (extra or "").encode(), errp), errp)
        else:
            py_engine.observe(T0 + dt, "v1", kind, page, extra)
            ok(lib.beckon_engine_observe_search(
                c_engine, T0 + dt, b"v1", page.encode(), extra, errp), errp)

    offers = 0
    for t in range(T0 + 31_000, T0 + 300_000, 10_000):
        d = py_engine.decide(t, "v1")
        info = DecisionInfo(struct_size=ctypes.sizeof(DecisionInfo))
        ok(lib.beckon_engine_decide_info(c_engine, b"v1", t, None,
                                         ctypes.byref(info), errp), errp)
        assert lib.beckon_action_name(info.action).decode() == d.action, t
        assert lib.beckon_reason_name(info.reason).decode() == d.reason, t
        assert info.probability == pytest.approx(d.probability, abs=1e-12)
        offers += d.action == "offer"
    assert offers == 1
    lib.beckon_engine_destroy(c_engine)
    lib.beckon_policy_destroy(c_policy)


def test_c_abi_first_then_module_in_a_fresh_process(libc_path):
    # The other order, where the C library's copy of libbeckon_proto is the
    # one loaded first: a child process, so this process's order is not
    # what is tested.
    code = ("import ctypes, sys; ctypes.CDLL(sys.argv[1]); import beckon; "
            "p = beckon.Policy.from_bytes(beckon.Policy.default().to_bytes()); "
            "print(p.name)")
    out = subprocess.run([sys.executable, "-c", code, libc_path],
                         capture_output=True, text=True, env=os.environ)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == beckon.Policy.default().name

// beckon._beckon: thin pybind11 shims over the C++ API, under the Python
// package `beckon` (bindings/python/beckon), which adds keyword arguments,
// pandas and pickling.
//
// Rules of this file: results are returned, never out-parameters; every
// absl::Status error becomes one of the beckon.Error classes below with the
// C++ message; the GIL is released around anything that loops over events;
// long calls poll for Ctrl-C (PyErr_CheckSignals) and stop with
// KeyboardInterrupt. Strings cross as UTF-8.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "beckon/beckon.hpp"
#include "beckon/convert.h"
#include "beckon/curve.h"
#include "beckon/event_log.h"
#include "beckon/label.h"
#include "beckon/policy.pb.h"
#include "beckon/replay.h"
#include "beckon/simulate.h"
#include "beckon/train.h"
#include "beckon/uplift.h"
#include "lib/engine_internal.h"
#include "lib/offline/train_spec.h"
#include "lib/page_matcher.h"
#include "lib/policy_internal.h"
#include "lib/string_views.h"

namespace py = pybind11;

namespace beckon {
namespace {

using internal::AbslView;
using internal::StdView;

// --- Errors -------------------------------------------------------------------

// A failed absl::Status on its way to Python.
struct StatusError {
  absl::Status status;
};

struct ErrorClasses {
  PyObject* base = nullptr;
  PyObject* invalid_argument = nullptr;
  PyObject* not_found = nullptr;
  PyObject* permission_denied = nullptr;
  PyObject* failed_precondition = nullptr;
  PyObject* resource_exhausted = nullptr;
  PyObject* cancelled = nullptr;
  PyObject* internal = nullptr;
  PyObject* unavailable = nullptr;
  PyObject* aborted = nullptr;
};
ErrorClasses errors;

PyObject* ErrorClassFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kDataLoss:  // Corrupt input bytes (a snapshot).
      return errors.invalid_argument;
    case absl::StatusCode::kNotFound:
      return errors.not_found;
    case absl::StatusCode::kPermissionDenied:
      return errors.permission_denied;
    case absl::StatusCode::kFailedPrecondition:
      return errors.failed_precondition;
    case absl::StatusCode::kResourceExhausted:
      return errors.resource_exhausted;
    case absl::StatusCode::kCancelled:
      return errors.cancelled;
    case absl::StatusCode::kInternal:
      return errors.internal;
    case absl::StatusCode::kUnavailable:
      return errors.unavailable;
    case absl::StatusCode::kAborted:
      return errors.aborted;
    default:
      return errors.base;
  }
}

[[noreturn]] void Throw(absl::Status status) {
  throw StatusError{std::move(status)};
}
[[noreturn]] void ThrowInvalid(std::string message) {
  Throw(absl::InvalidArgumentError(message));
}
void Check(const absl::Status& status) {
  if (!status.ok()) Throw(status);
}
template <typename T>
T Unwrap(absl::StatusOr<T> result) {
  if (!result.ok()) Throw(result.status());
  return *std::move(result);
}

// The C++ object behind `self`, checked: a Python object of the class whose
// __init__ failed (it stays reachable from a traceback) or was never called
// (T.__new__(T)) has no C++ object yet, and pybind11 would hand out
// uninitialized memory. Such calls raise instead of crashing.
template <typename T>
T& Checked(py::handle self, const char* what) {
  const py::detail::type_info* type = py::detail::get_type_info(typeid(T));
  if (type == nullptr || !PyObject_TypeCheck(self.ptr(), type->type)) {
    throw py::type_error(absl::StrCat("expected a beckon ", what, ", got ",
                                      Py_TYPE(self.ptr())->tp_name));
  }
  auto* inst = reinterpret_cast<py::detail::instance*>(self.ptr());
  py::detail::value_and_holder vh = inst->get_value_and_holder(type, false);
  if (!vh || !vh.holder_constructed()) {
    Throw(absl::FailedPreconditionError(absl::StrCat(
        "this beckon ", what,
        " was never initialized (its __init__ failed or was not called)")));
  }
  return *vh.value_ptr<T>();
}
// The engine behind a beckon.Engine, and whether its store is remote. A
// call on a Redis store waits on the network, so single observe and decide
// calls release the GIL for it; an in-memory call is shorter than handing
// the GIL over and keeps it.
struct PyEngine {
  std::unique_ptr<Engine> engine;
  bool remote = false;
};

const Policy& AsPolicy(py::handle h) { return Checked<Policy>(h, "Policy"); }
PyEngine& AsPyEngine(py::handle h) { return Checked<PyEngine>(h, "Engine"); }
Engine& AsEngine(py::handle h) { return *AsPyEngine(h).engine; }
// A decision and what its reasons are made from, held so that they can be
// read after the engine is gone.
struct PyDecision {
  Decision decision;
  std::shared_ptr<const void> explainer;
};
const Decision& AsDecision(py::handle h) {
  return Checked<PyDecision>(h, "Decision").decision;
}

// Makes an exception class `beckon.<name>` with the given bases and a
// `code` attribute, and adds it to the module.
PyObject* MakeError(py::module_& m, const char* name, const char* doc,
                    py::tuple bases, const char* code) {
  std::string qualified = absl::StrCat("beckon.", name);
  PyObject* cls = PyErr_NewExceptionWithDoc(qualified.c_str(), doc,
                                            bases.ptr(), nullptr);
  if (cls == nullptr) throw py::error_already_set();
  py::handle h(cls);
  h.attr("code") = code;
  m.add_object(name, h);  // The module keeps a reference.
  return cls;
}

// Polls for Ctrl-C from threads that run without the GIL. The first signal
// seen keeps Python's exception (KeyboardInterrupt) to re-raise after the
// call returns; the C++ side sees `true` and stops with Cancelled.
class SignalPoll {
 public:
  std::function<bool()> Callback() {
    return [this]() {
      if (raised_) return true;
      // Taking the GIL can wait for another thread's switch interval, so
      // look at most every 100 ms.
      const auto now = std::chrono::steady_clock::now();
      if (now - last_ < std::chrono::milliseconds(100)) return false;
      last_ = now;
      py::gil_scoped_acquire gil;
      if (PyErr_CheckSignals() != 0) {
        error_ = std::make_unique<py::error_already_set>();
        raised_ = true;
      }
      return raised_;
    };
  }
  // Re-raises the signal's exception, if one came (GIL held).
  void RethrowIfRaised() {
    if (error_) {
      std::unique_ptr<py::error_already_set> e = std::move(error_);
      raised_ = false;
      throw *e;
    }
  }

 private:
  bool raised_ = false;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
  std::unique_ptr<py::error_already_set> error_;
};

// --- Columns of strings ---------------------------------------------------------

inline constexpr size_t kNoRow = ~size_t{0};

// The UTF-8 of a str item (or of str() of a number, a whole float without
// its ".0"; None and NaN are "", bytes are taken as they are). A converted item is kept in `temps`.
std::string_view StrView(PyObject* item, const char* name, size_t row,
                       py::list& temps) {
  Py_ssize_t size = 0;
  const char* data = nullptr;
  if (PyUnicode_Check(item)) {
    data = PyUnicode_AsUTF8AndSize(item, &size);
    if (data == nullptr) throw py::error_already_set();
    return std::string_view(data, static_cast<size_t>(size));
  }
  if (item == Py_None) return {};
  if (PyFloat_Check(item) && std::isnan(PyFloat_AS_DOUBLE(item))) return {};
  if (PyFloat_Check(item)) {
    // A whole float (a count in a float column: 3.0) reads as "3".
    const double d = PyFloat_AS_DOUBLE(item);
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) {
      py::str text(absl::StrCat(static_cast<int64_t>(d)));
      temps.append(text);
      data = PyUnicode_AsUTF8AndSize(text.ptr(), &size);
      if (data == nullptr) throw py::error_already_set();
      return std::string_view(data, static_cast<size_t>(size));
    }
  }
  if (PyBytes_Check(item)) {
    char* bytes = nullptr;
    PyBytes_AsStringAndSize(item, &bytes, &size);
    return std::string_view(bytes, static_cast<size_t>(size));
  }
  if (PyBool_Check(item) ||
      !(PyLong_Check(item) || PyFloat_Check(item) ||
        PyObject_HasAttrString(item, "__index__") ||
        PyObject_HasAttrString(item, "__float__"))) {
    ThrowInvalid(absl::StrCat(row == kNoRow ? "" : absl::StrCat("row ", row, ": "), name,
                              " must be a string or a number, got ",
                              Py_TYPE(item)->tp_name));
  }
  py::str text = py::str(py::handle(item));
  temps.append(text);
  data = PyUnicode_AsUTF8AndSize(text.ptr(), &size);
  if (data == nullptr) throw py::error_already_set();
  return std::string_view(data, static_cast<size_t>(size));
}

// A column of strings borrowed from Python objects: views into their UTF-8,
// valid while this column lives (it owns a private list of the items, so the
// caller's list may change meanwhile). None and float NaN read as "";
// numbers as their str(); bytes as they are.
class StrColumn {
 public:
  StrColumn(py::handle values, const char* name) {
    owner_ = py::reinterpret_steal<py::list>(PySequence_List(values.ptr()));
    if (!owner_) {
      PyErr_Clear();
      ThrowInvalid(absl::StrCat(name, " must be a sequence of strings"));
    }
    const size_t n = owner_.size();
    views_.resize(n);
    for (size_t i = 0; i < n; ++i) {
      PyObject* item = PyList_GET_ITEM(owner_.ptr(), static_cast<Py_ssize_t>(i));
      views_[i] = StrView(item, name, i, temps_);
    }
  }
  size_t size() const { return views_.size(); }
  std::string_view operator[](size_t i) const { return views_[i]; }

 private:
  py::list owner_;
  py::list temps_;
  std::vector<std::string_view> views_;
};

// A timestamp (ms) from a Python int, numpy integer or whole float; NaN,
// fractions, bools, other types and values beyond int64 are
// InvalidArgument errors naming `name`.
int64_t ToMillis(py::handle value, const char* name) {
  PyObject* v = value.ptr();
  if (PyBool_Check(v)) {
    ThrowInvalid(absl::StrCat(name, " must be an integer, got a bool"));
  }
  if (PyFloat_Check(v)) {
    const double d = PyFloat_AS_DOUBLE(v);
    if (!std::isfinite(d) || d != std::floor(d) || d < -9.2e18 || d > 9.2e18) {
      ThrowInvalid(absl::StrCat(name, " must be whole milliseconds, got ",
                                std::string(py::repr(value))));
    }
    return static_cast<int64_t>(d);
  }
  PyObject* index = PyNumber_Index(v);
  if (index == nullptr) {
    PyErr_Clear();
    ThrowInvalid(absl::StrCat(name, " must be an integer, got ",
                              Py_TYPE(v)->tp_name));
  }
  int overflow = 0;
  const long long n = PyLong_AsLongLongAndOverflow(index, &overflow);
  Py_DECREF(index);
  if (overflow != 0) {
    ThrowInvalid(absl::StrCat(name, " is out of range: ",
                              std::string(py::str(value))));
  }
  return static_cast<int64_t>(n);
}

using Int64Array = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;
using DoubleArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

void CheckLength(size_t expected, size_t got, const char* name) {
  if (got != expected) {
    ThrowInvalid(absl::StrCat(name, " has ", got, " rows, ts_ms has ",
                              expected));
  }
}

// The five columns of an event log, borrowed.
struct EventColumns {
  Int64Array ts;
  StrColumn visitor, event, page, detail;

  EventColumns(Int64Array ts_ms, py::handle v, py::handle e, py::handle p,
               py::handle d)
      : ts(std::move(ts_ms)),
        visitor(v, "visitor"),
        event(e, "event"),
        page(p, "page"),
        detail(d, "detail") {
    if (ts.ndim() != 1) ThrowInvalid("ts_ms must be one-dimensional");
    const size_t n = static_cast<size_t>(ts.shape(0));
    CheckLength(n, visitor.size(), "visitor");
    CheckLength(n, event.size(), "event");
    CheckLength(n, page.size(), "page");
    CheckLength(n, detail.size(), "detail");
  }
  size_t size() const { return static_cast<size_t>(ts.shape(0)); }

  // Parses row `i` into `out` (any thread; no GIL needed).
  absl::Status Parse(size_t i, LogEvent& out) const {
    absl::Status st = ParseLogRow(ts.data()[i], visitor[i], event[i], page[i],
                                  detail[i], out);
    if (!st.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("row ", i, ": ", AbslView(StdView(st.message()))));
    }
    out.line = i + 1;
    return st;
  }
};

// Events given as a path (read in C++) or as a tuple of five columns.
// `events` is (source, allow_small_epoch) as beckon._events_arg makes it,
// or the source alone (the guard on): a path, or a tuple of five columns.
// The wrong-unit guard (CheckEpochMillis) applies to both.
std::vector<LogEvent> LoadEvents(py::handle events) {
  bool allow_small_epoch = false;
  if (py::isinstance<py::tuple>(events) && py::len(events) == 2) {
    py::tuple pair = events.cast<py::tuple>();
    allow_small_epoch = pair[1].cast<bool>();
    events = pair[0];
  }
  std::vector<LogEvent> out;
  if (py::isinstance<py::str>(events)) {
    std::string path = events.cast<std::string>();
    EventLogReader::Options o;
    o.allow_small_epoch = allow_small_epoch;
    absl::StatusOr<std::vector<LogEvent>> read;
    {
      py::gil_scoped_release nogil;
      read = ReadEventLog(path, o);
    }
    return Unwrap(std::move(read));
  }
  py::tuple cols = events.cast<py::tuple>();
  if (cols.size() != 5) ThrowInvalid("events must have five columns");
  EventColumns c(cols[0].cast<Int64Array>(), cols[1], cols[2], cols[3],
                 cols[4]);
  absl::Status bad;
  {
    py::gil_scoped_release nogil;
    out.resize(c.size());
    for (size_t i = 0; i < c.size() && bad.ok(); ++i) {
      bad = CheckEpochMillis(c.ts.data()[i], "ts_ms", "allow_small_epoch=True",
                             allow_small_epoch);
      if (!bad.ok()) {
        bad = absl::InvalidArgumentError(
            absl::StrCat("row ", i, ": ", AbslView(StdView(bad.message()))));
        break;
      }
      bad = c.Parse(i, out[i]);
    }
  }
  Check(bad);
  return out;
}

// Columns of a log as Python objects: (ts int64 array, visitor, event, page,
// detail lists of str).
py::tuple EventsToColumns(const std::vector<LogEvent>& events) {
  const size_t n = events.size();
  py::array_t<int64_t> ts(static_cast<py::ssize_t>(n));
  py::list visitor(n), event(n), page(n), detail(n);
  int64_t* t = ts.mutable_data();
  // Event names repeat: share one str per name.
  std::vector<py::str> names;
  for (int k = 0; k < kEventTypeCount; ++k) {
    names.emplace_back(std::string(EventTypeName(static_cast<EventType>(k))));
  }
  for (size_t i = 0; i < n; ++i) {
    const LogEvent& e = events[i];
    t[i] = e.ts_ms;
    const auto idx = static_cast<Py_ssize_t>(i);
    PyList_SET_ITEM(visitor.ptr(), idx, py::str(e.visitor).release().ptr());
    PyList_SET_ITEM(event.ptr(), idx,
                    names[static_cast<int>(e.type)].inc_ref().ptr());
    PyList_SET_ITEM(page.ptr(), idx, py::str(e.page).release().ptr());
    PyList_SET_ITEM(detail.ptr(), idx, py::str(e.detail).release().ptr());
  }
  return py::make_tuple(ts, visitor, event, page, detail);
}

// --- Policy -------------------------------------------------------------------

std::string PolicyJson(py::handle self) {
  return Unwrap(AsPolicy(self).ToJson());
}

std::string PolicySummary(py::handle self) {
  const proto::Policy& m = internal::PolicyInternal::Message(AsPolicy(self));
  return absl::StrFormat(
      "<beckon.Policy '%s': %d groups, %d URL rules, %d path rules, "
      "decision threshold %.4g>",
      m.name(), m.groups_size(), m.url_rules_size(), m.path_rules_size(),
      m.model().decision_threshold());
}

std::vector<std::string> GroupOf(py::handle self, py::handle pages) {
  const Policy& policy = AsPolicy(self);
  StrColumn col(pages, "pages");
  internal::PageMatcher matcher(internal::PolicyInternal::Message(policy));
  std::vector<std::string> out(col.size());
  for (size_t i = 0; i < col.size(); ++i) {
    const uint16_t g = matcher.Classify(col[i]).group;
    out[i] =
        g == internal::kUnlistedGroup
            ? "(unlisted)"
            : internal::PolicyInternal::Message(policy).groups(g).pattern();
  }
  return out;
}

// --- Engine -------------------------------------------------------------------

// `store`: "" for the in-memory store, else a Redis URL
// (RedisOptions::FromUrl).
std::unique_ptr<PyEngine> MakeEngine(py::handle policy, uint64_t max_sessions,
                                     uint64_t max_memory_records,
                                     uint32_t shards,
                                     std::pair<uint64_t, uint64_t> key,
                                     const std::string& store,
                                     const std::string& key_file,
                                     uint32_t max_url_bytes,
                                     uint32_t max_referrer_bytes,
                                     const std::string& decision_log,
                                     const std::string& event_log) {
  Engine::Options options;
  options.decision_log_path = decision_log;
  options.event_log_path = event_log;
  options.max_url_bytes = max_url_bytes;
  options.max_referrer_bytes = max_referrer_bytes;
  options.max_sessions = max_sessions;
  options.max_memory_records = max_memory_records;
  options.shards = shards;
  options.visitor_key = {key.first, key.second};
  options.visitor_key_file = key_file;
  if (!store.empty()) {
    options.store = StoreKind::kRedis;
    options.redis = Unwrap(RedisOptions::FromUrl(store));
  }
  const Policy& p = AsPolicy(policy);
  absl::StatusOr<std::unique_ptr<Engine>> created;
  {
    py::gil_scoped_release nogil;  // A Redis store connects here.
    created = Engine::Create(p, options);
  }
  auto out = std::make_unique<PyEngine>();
  out->engine = Unwrap(std::move(created));
  out->remote = options.store != StoreKind::kMemory;
  return out;
}

void Observe(py::handle self, py::handle ts_ms, py::handle visitor,
             py::handle event, py::handle page, py::handle detail) {
  PyEngine& pe = AsPyEngine(self);
  py::list temps;  // Keeps the strings the event's views point into alive.
  LogEvent e;
  Check(ParseLogRow(ToMillis(ts_ms, "ts_ms"), StrView(visitor.ptr(), "visitor", kNoRow, temps),
                    StrView(event.ptr(), "event", kNoRow, temps),
                    StrView(page.ptr(), "page", kNoRow, temps),
                    StrView(detail.ptr(), "detail", kNoRow, temps), e));
  if (!pe.remote) {
    Check(pe.engine->Observe(e.ToEvent()));
    return;
  }
  absl::Status st;
  {
    py::gil_scoped_release nogil;
    st = pe.engine->Observe(e.ToEvent());
  }
  Check(st);
}

PyDecision Decide(py::handle self, py::handle ts_ms, py::handle visitor) {
  PyEngine& pe = AsPyEngine(self);
  py::list temps;
  const std::string_view id = StrView(visitor.ptr(), "visitor", kNoRow, temps);
  const int64_t now = ToMillis(ts_ms, "ts_ms");
  absl::StatusOr<Decision> d;
  if (!pe.remote) {
    d = pe.engine->Decide(id, now);
  } else {
    py::gil_scoped_release nogil;
    d = pe.engine->Decide(id, now);
  }
  Decision made = Unwrap(std::move(d));
  std::shared_ptr<const void> explainer =
      internal::EngineInternal::ExplainerOf(*pe.engine, made);
  return PyDecision{std::move(made), std::move(explainer)};
}

py::array_t<bool> ObserveBatch(py::handle self, Int64Array ts, py::handle visitor,
                               py::handle event, py::handle page,
                               py::handle detail, bool skip) {
  Engine& engine = AsEngine(self);
  EventColumns c(std::move(ts), visitor, event, page, detail);
  const size_t n = c.size();
  py::array_t<bool> accepted(static_cast<py::ssize_t>(n));
  bool* out = accepted.mutable_data();
  std::fill(out, out + n, false);  // Set true row by row as observed.
  absl::Status error;
  SignalPoll poll;
  std::function<bool()> interrupted = poll.Callback();
  {
    py::gil_scoped_release nogil;
    LogEvent e;
    // Format first: a malformed row changes nothing.
    for (size_t i = 0; i < n && error.ok(); ++i) error = c.Parse(i, e);
    if (error.ok()) {
      for (size_t i = 0; i < n; ++i) {
        if ((i & 0x3FFF) == 0x3FFF && interrupted()) break;
        (void)c.Parse(i, e);
        absl::Status st = engine.Observe(e.ToEvent());
        out[i] = st.ok();
        if (!st.ok() && !skip) {
          error = absl::Status(
              st.code(), absl::StrCat("row ", i, ": ",
                                      AbslView(StdView(st.message())),
                                      " (rows before it were observed)"));
          break;
        }
      }
    } else {
      error = absl::Status(error.code(),
                           absl::StrCat(AbslView(StdView(error.message())),
                                        " (nothing was observed)"));
    }
  }
  poll.RethrowIfRaised();
  Check(error);
  return accepted;
}

py::tuple DecideBatch(py::handle self, Int64Array ts, py::handle visitor,
                      bool skip) {
  Engine& engine = AsEngine(self);
  if (ts.ndim() != 1) ThrowInvalid("ts_ms must be one-dimensional");
  const size_t n = static_cast<size_t>(ts.shape(0));
  StrColumn visitors(visitor, "visitor");
  CheckLength(n, visitors.size(), "visitor");
  const auto sn = static_cast<py::ssize_t>(n);
  py::array_t<int8_t> action(sn), reason(sn);
  py::array_t<double> probability(sn), threshold(sn);
  py::array_t<bool> would_offer(sn);
  py::array_t<int64_t> recheck(sn);
  int8_t* a = action.mutable_data();
  int8_t* r = reason.mutable_data();
  double* p = probability.mutable_data();
  double* t = threshold.mutable_data();
  bool* w = would_offer.mutable_data();
  int64_t* rc = recheck.mutable_data();
  const int64_t* times = ts.data();
  // Every row reads as missing until it is decided.
  std::fill(a, a + n, int8_t{-1});
  std::fill(r, r + n, int8_t{-1});
  std::fill(p, p + n, std::nan(""));
  std::fill(t, t + n, std::nan(""));
  std::fill(w, w + n, false);
  std::fill(rc, rc + n, int64_t{-1});
  absl::Status error;
  SignalPoll poll;
  std::function<bool()> interrupted = poll.Callback();
  {
    py::gil_scoped_release nogil;
    for (size_t i = 0; i < n; ++i) {
      if ((i & 0x3FFF) == 0x3FFF && interrupted()) break;
      absl::StatusOr<Decision> d = engine.Decide(visitors[i], times[i]);
      if (!d.ok()) {
        if (skip) continue;
        error = absl::Status(
            d.status().code(),
            absl::StrCat("row ", i, ": ", AbslView(StdView(d.status().message())),
                         " (rows before it were decided)"));
        break;
      }
      a[i] = static_cast<int8_t>(d->action);
      r[i] = static_cast<int8_t>(d->reason);
      p[i] = d->probability;
      t[i] = d->threshold;
      w[i] = d->would_offer;
      rc[i] = d->recheck_at_ms.value_or(-1);
    }
  }
  poll.RethrowIfRaised();
  Check(error);
  return py::make_tuple(action, reason, probability, threshold, would_offer,
                        recheck);
}

// Events in order, each optionally preceded by a decision for its visitor
// at its time: what a host does that decides on every request and then
// records it. One call for the whole batch, without the GIL.
py::tuple PlayBatch(py::handle self, Int64Array ts, py::handle visitor,
                    py::handle event, py::handle page, py::handle detail,
                    py::array_t<bool, py::array::c_style | py::array::forcecast>
                        decide,
                    bool skip) {
  Engine& engine = AsEngine(self);
  EventColumns c(std::move(ts), visitor, event, page, detail);
  const size_t n = c.size();
  if (decide.ndim() != 1) ThrowInvalid("decide must be one-dimensional");
  CheckLength(n, static_cast<size_t>(decide.shape(0)), "decide");
  const auto sn = static_cast<py::ssize_t>(n);
  py::array_t<bool> accepted(sn), would_offer(sn);
  py::array_t<int8_t> action(sn), reason(sn);
  py::array_t<double> probability(sn), threshold(sn);
  py::array_t<int64_t> recheck(sn);
  bool* ok = accepted.mutable_data();
  bool* w = would_offer.mutable_data();
  int8_t* a = action.mutable_data();
  int8_t* r = reason.mutable_data();
  double* p = probability.mutable_data();
  double* t = threshold.mutable_data();
  int64_t* rc = recheck.mutable_data();
  const bool* want = decide.data();
  std::fill(ok, ok + n, false);
  std::fill(w, w + n, false);
  std::fill(a, a + n, int8_t{-1});
  std::fill(r, r + n, int8_t{-1});
  std::fill(p, p + n, std::nan(""));
  std::fill(t, t + n, std::nan(""));
  std::fill(rc, rc + n, int64_t{-1});
  absl::Status error;
  SignalPoll poll;
  std::function<bool()> interrupted = poll.Callback();
  {
    py::gil_scoped_release nogil;
    LogEvent e;
    // Format first: a malformed row changes nothing.
    for (size_t i = 0; i < n && error.ok(); ++i) error = c.Parse(i, e);
    if (!error.ok()) {
      error = absl::Status(error.code(),
                           absl::StrCat(AbslView(StdView(error.message())),
                                        " (nothing was played)"));
    }
    for (size_t i = 0; i < n && error.ok(); ++i) {
      if ((i & 0x3FFF) == 0x3FFF && interrupted()) break;
      (void)c.Parse(i, e);
      if (want[i] && !e.visitor.empty()) {
        absl::StatusOr<Decision> d = engine.Decide(e.visitor, e.ts_ms);
        if (d.ok()) {
          a[i] = static_cast<int8_t>(d->action);
          r[i] = static_cast<int8_t>(d->reason);
          p[i] = d->probability;
          t[i] = d->threshold;
          w[i] = d->would_offer;
          rc[i] = d->recheck_at_ms.value_or(-1);
        } else if (!skip) {
          error = absl::Status(
              d.status().code(),
              absl::StrCat("row ", i, ": deciding: ",
                           AbslView(StdView(d.status().message())),
                           " (rows before it were played)"));
          break;
        }
      }
      absl::Status st = engine.Observe(e.ToEvent());
      ok[i] = st.ok();
      if (!st.ok() && !skip) {
        error = absl::Status(
            st.code(), absl::StrCat("row ", i, ": ",
                                    AbslView(StdView(st.message())),
                                    " (rows before it were played)"));
        break;
      }
    }
  }
  poll.RethrowIfRaised();
  Check(error);
  return py::make_tuple(accepted, action, reason, probability, threshold,
                        would_offer, recheck);
}

py::dict StatsDict(const EngineStats& s) {
  py::dict d;
  d["live_sessions"] = s.live_sessions;
  d["memory_records"] = s.memory_records;
  d["sessions_started"] = s.sessions_started;
  d["sessions_expired"] = s.sessions_expired;
  d["sessions_evicted"] = s.sessions_evicted;
  d["memory_evicted"] = s.memory_evicted;
  d["declines_evicted"] = s.declines_evicted;
  d["events_observed"] = s.events_observed;
  d["events_rejected"] = s.events_rejected;
  d["store_errors"] = s.store_errors;
  d["store_conflicts"] = s.store_conflicts;
  d["store_round_trips"] = s.store_round_trips;
  py::dict by_action, by_reason;
  for (int i = 0; i < kActionCount; ++i) {
    by_action[py::str(std::string(ActionName(static_cast<Action>(i))))] =
        s.decisions_by_action[i];
  }
  for (int i = 0; i < kReasonCount; ++i) {
    by_reason[py::str(std::string(ReasonName(static_cast<Reason>(i))))] =
        s.decisions_by_reason[i];
  }
  d["decisions_by_action"] = by_action;
  d["decisions_by_reason"] = by_reason;
  return d;
}

std::string DecisionRepr(py::handle self) {
  const Decision& d = AsDecision(self);
  std::string recheck =
      d.recheck_at_ms ? absl::StrCat(*d.recheck_at_ms) : std::string("None");
  return absl::StrFormat(
      "<beckon.Decision %s (%s) probability=%.4f threshold=%.4f "
      "recheck_at_ms=%s>",
      AbslView(ActionName(d.action)), AbslView(ReasonName(d.reason)),
      d.probability, d.threshold, recheck);
}

// --- Simulation, training, replay -------------------------------------------

template <typename T>
bool TakeOption(py::dict& opts, const char* key, T& field) {
  if (!opts.contains(key)) return false;
  py::object v = opts[key];
  try {
    field = v.cast<T>();
  } catch (const py::cast_error&) {
    ThrowInvalid(absl::StrCat("option ", key, ": expected a ",
                              std::is_same_v<T, std::string> ? "string"
                              : std::is_floating_point_v<T> ? "number"
                                                            : "whole number",
                              ", got ", std::string(py::repr(v))));
  }
  if constexpr (std::is_floating_point_v<T>) {
    if (!std::isfinite(field)) {
      ThrowInvalid(absl::StrCat("option ", key, " must be finite, got ",
                                std::string(py::repr(v))));
    }
  }
  PyDict_DelItemString(opts.ptr(), key);
  return true;
}

void RejectUnknown(const py::dict& opts, const char* what) {
  for (auto item : opts) {
    ThrowInvalid(absl::StrCat("unknown ", what, " option '",
                              std::string(py::str(item.first)), "'"));
  }
}

py::tuple SimulateToColumns(py::dict given) {
  py::dict opts = given.attr("copy")();
  std::string shop = "default";
  TakeOption(opts, "shop", shop);
  SimulatorOptions o = Unwrap(SimulatorOptions::ForShop(shop));
  TakeOption(opts, "seed", o.seed);
  TakeOption(opts, "days", o.days);
  TakeOption(opts, "start_ms", o.start_ms);
  TakeOption(opts, "visitors_per_day", o.visitors_per_day);
  TakeOption(opts, "returning_share", o.returning_share);
  TakeOption(opts, "search_engine_entry_share", o.search_engine_entry_share);
  TakeOption(opts, "stuck_on_page_share", o.stuck_on_page_share);
  TakeOption(opts, "stuck_after_path_share", o.stuck_after_path_share);
  TakeOption(opts, "stuck_after_search_share", o.stuck_after_search_share);
  TakeOption(opts, "quick_ask_share", o.quick_ask_share);
  TakeOption(opts, "give_up_share", o.give_up_share);
  TakeOption(opts, "casual_contact_share", o.casual_contact_share);
  TakeOption(opts, "mean_pages", o.mean_pages);
  TakeOption(opts, "legacy_offer_share", o.legacy_offer_share);
  TakeOption(opts, "legacy_offer_after_s", o.legacy_offer_after_s);
  TakeOption(opts, "decline_share", o.decline_share);
  TakeOption(opts, "ignore_share", o.ignore_share);
  TakeOption(opts, "agents_every_s", o.agents_every_s);
  TakeOption(opts, "agents_staffed", o.agents_staffed);
  TakeOption(opts, "staffed_from_hour", o.staffed_from_hour);
  TakeOption(opts, "staffed_to_hour", o.staffed_to_hour);
  // The widget as a beckon policy (docs/uplift.md): the Python layer passes
  // the Policy object.
  if (opts.contains("widget_policy")) {
    py::object w = opts["widget_policy"];
    PyDict_DelItemString(opts.ptr(), "widget_policy");
    if (!w.is_none()) {
      o.widget_policy = std::make_shared<const Policy>(AsPolicy(w));
    }
  }
  TakeOption(opts, "treatment_effects", o.treatment_effects);
  std::string decision_log;
  TakeOption(opts, "decision_log", decision_log);
  RejectUnknown(opts, "simulate");
  if (!decision_log.empty()) {
    if (o.widget_policy == nullptr) {
      ThrowInvalid(
          "decision_log needs widget_policy (the legacy rule makes no "
          "decisions to log)");
    }
    o.widget_engine.decision_log_path = decision_log;
    o.widget_engine.visitor_key_file = decision_log + ".key";
  }
  Check(o.Validate());
  if (!decision_log.empty()) {
    // A new log: the old one's lines would name another simulation.
    if (std::FILE* f = std::fopen(decision_log.c_str(), "w"); f != nullptr) {
      std::fclose(f);
    } else {
      ThrowInvalid(absl::StrCat("decision_log: cannot write ", decision_log,
                                ": ", std::strerror(errno)));
    }
  }
  std::vector<LogEvent> events;
  std::vector<SessionTruth> truth;
  SimulationStats stats;
  absl::Status st;
  {
    py::gil_scoped_release nogil;
    st = Simulate(
        o,
        [&events](const LogEvent& e) {
          events.push_back(e);
          return absl::OkStatus();
        },
        &stats,
        [&truth](const SessionTruth& t) {
          truth.push_back(t);
          return absl::OkStatus();
        });
  }
  Check(st);
  py::dict s;
  s["events"] = stats.events;
  s["agents_rows"] = stats.agents_rows;
  s["sessions"] = stats.sessions;
  s["returning_sessions"] = stats.returning_sessions;
  s["stuck_on_page"] = stats.stuck_on_page;
  s["stuck_after_path"] = stats.stuck_after_path;
  s["stuck_after_search"] = stats.stuck_after_search;
  s["stuck_asked"] = stats.stuck_asked;
  s["stuck_quick_asked"] = stats.stuck_quick_asked;
  s["stuck_gave_up"] = stats.stuck_gave_up;
  s["stuck_helped_by_offer"] = stats.stuck_helped_by_offer;
  s["casual_contacts"] = stats.casual_contacts;
  s["offers_shown"] = stats.offers_shown;
  s["offers_accepted"] = stats.offers_accepted;
  s["offers_declined"] = stats.offers_declined;
  s["offers_ignored"] = stats.offers_ignored;
  s["purchases"] = stats.purchases;
  py::object truth_rows = py::none();
  if (o.widget_policy != nullptr) {
    s["eligible_sessions"] = stats.eligible_sessions;
    s["holdout_sessions"] = stats.holdout_sessions;
  }
  if (o.treatment_effects) {
    for (int k = 0; k < 4; ++k) {
      s[py::str(std::string(VisitorTypeName(static_cast<VisitorType>(k))) +
                "s")] = stats.types[k];
    }
    py::list rows;
    for (const SessionTruth& t : truth) {
      rows.append(py::make_tuple(t.visitor, t.session_start_ms, t.moment_ms,
                                 t.group, t.holdout ? "holdout" : "offered",
                                 VisitorTypeName(t.type), t.purchase_if_offered,
                                 t.purchase_if_not, t.purchased, t.revenue,
                                 t.offered));
    }
    truth_rows = rows;
  }
  return py::make_tuple(EventsToColumns(events), s, truth_rows);
}

// Forwards progress from C++ (any thread, GIL released) to a Python
// callable, taking the GIL; the callable's first exception is kept and
// raised once the C++ call has returned, and silences it meanwhile.
class ProgressForward {
 public:
  explicit ProgressForward(py::object callback)
      : callback_(std::move(callback)) {}
  bool on() const { return !callback_.is_none(); }
  template <typename... Args>
  void operator()(Args&&... args) {
    if (error_) return;
    py::gil_scoped_acquire gil;
    try {
      callback_(std::forward<Args>(args)...);
    } catch (py::error_already_set& e) {
      error_ = std::make_unique<py::error_already_set>(std::move(e));
    }
  }
  void RethrowIfRaised() {
    if (error_) {
      std::unique_ptr<py::error_already_set> e = std::move(error_);
      throw *e;
    }
  }

 private:
  py::object callback_;
  std::unique_ptr<py::error_already_set> error_;
};

py::tuple TrainPolicy(py::handle events, py::handle base, py::dict given) {
  py::dict opts = given.attr("copy")();
  ProgressForward progress(opts.attr("pop")("progress", py::none()));
  TrainOptions o;
  o.base = AsPolicy(base);
  // The trainer's options, by TrainSpec's rules (lib/beckon/train_spec.proto).
  proto::TrainSpec spec = internal::SpecOf(o);
  for (const internal::TrainOptionInfo& info : internal::TrainOptionInfos()) {
    const char* key = info.name.c_str();
    if (!opts.contains(key)) continue;
    py::object v = opts[key];
    const internal::SpecKind kind = internal::SpecKindOf(info.name);
    absl::Status st;
    if (kind == internal::SpecKind::kText) {
      if (!py::isinstance<py::str>(v)) {
        ThrowInvalid(absl::StrCat("option ", key, ": expected a string, got ",
                                  std::string(py::repr(v))));
      }
      st = internal::SetSpecField(spec, info.name, v.cast<std::string>());
    } else if (PyBool_Check(v.ptr()) ||
               !(py::isinstance<py::int_>(v) || py::isinstance<py::float_>(v) ||
                 PyIndex_Check(v.ptr()))) {
      ThrowInvalid(absl::StrCat(
          "option ", key, ": expected a ",
          kind == internal::SpecKind::kNumber ? "number" : "whole number",
          ", got ", std::string(py::repr(v))));
    } else if (kind == internal::SpecKind::kWholeNumber &&
               !py::isinstance<py::float_>(v)) {
      // Whole numbers as text: exact however large (out of range is named).
      st = internal::SetSpecField(spec, info.name,
                                  std::string(py::str(py::int_(v))));
    } else {
      st = internal::SetSpecNumber(spec, info.name, v.cast<double>());
    }
    if (!st.ok()) ThrowInvalid(absl::StrCat(st.message()));
    PyDict_DelItemString(opts.ptr(), key);
  }
  Check(internal::ApplySpec(spec, o));
  RejectUnknown(opts, "train");
  std::vector<LogEvent> log = LoadEvents(events);
  SignalPoll poll;
  o.interrupted = poll.Callback();
  if (progress.on()) {
    o.progress = [&progress](const std::string& m) { progress(m); };
  }
  absl::StatusOr<TrainResult> r;
  {
    py::gil_scoped_release nogil;
    r = Train(log, o);
  }
  poll.RethrowIfRaised();
  progress.RethrowIfRaised();
  TrainResult result = Unwrap(std::move(r));
  py::dict report;
  report["train_auc"] = result.train_auc;
  report["validation_auc"] = result.validation_auc;
  report["train_samples"] = result.train_samples;
  report["train_sessions"] = result.train_sessions;
  report["validation_sessions"] = result.validation_sessions;
  report["train_help_sessions"] = result.train_help_sessions;
  report["validation_help_sessions"] = result.validation_help_sessions;
  report["warnings"] = result.warnings;
  report["labels"] = o.labels;
  report["train_offer_outcomes"] = result.train_offer_outcomes;
  report["train_accepted_offers"] = result.train_accepted_offers;
  report["validation_offer_outcomes"] = result.validation_offer_outcomes;
  report["validation_accepted_offers"] = result.validation_accepted_offers;
  report["validation"] = result.validation.ToJson();
  report["hits_without_splits"] = result.hits_without_splits;
  report["hits_with_splits"] = result.hits_with_splits;
  py::list timings;
  for (const TimingCandidate& c : result.timing_candidates) {
    py::dict t;
    t["name"] = c.name;
    t["early_offers"] = c.allow_before_dwell_threshold;
    t["chosen"] = c.chosen;
    t["hits"] = c.validation.hits;
    t["offer_rate"] = c.validation.offer_rate;
    t["precision"] = c.validation.precision;
    t["recall"] = c.validation.recall;
    t["median_lead_s"] = c.validation.median_lead_s;
    t["validation_auc"] = c.validation_auc;
    t["error"] = c.error;
    t["flat_bar"] = c.flat_bar;
    if (c.other_bar_hits >= 0) {
      t["other_bar_hits"] = c.other_bar_hits;
    } else {
      t["other_bar_hits"] = py::none();
    }
    timings.append(t);
  }
  report["timing_candidates"] = timings;
  py::list changes;
  for (const GroupChange& c : result.group_changes) {
    py::dict g;
    g["kind"] = c.kind;
    g["pattern"] = c.pattern;
    g["from"] = c.from;
    g["views"] = c.views;
    g["from_views"] = c.from_views;
    g["help_rate"] = c.help_rate;
    g["from_help_rate"] = c.from_help_rate;
    g["contact_dwell_s"] = c.contact_dwell_s;
    g["from_contact_dwell_s"] = c.from_contact_dwell_s;
    g["normal_dwell_s"] = c.normal_dwell_s;
    g["from_normal_dwell_s"] = c.from_normal_dwell_s;
    g["reason"] = c.reason;
    changes.append(g);
  }
  report["group_changes"] = changes;
  return py::make_tuple(result.policy, report);
}

// The trace, collected without the GIL, turned into columns after.
struct TraceColumns {
  std::vector<int64_t> ts;
  std::vector<std::string> visitor;
  std::vector<uint8_t> recheck;
  std::vector<int8_t> action, reason;
  std::vector<double> probability, threshold;
  std::vector<int64_t> recheck_at;
  std::vector<std::vector<std::string>> reasons;

  void Add(const TraceRecord& t) {
    ts.push_back(t.ts_ms);
    visitor.emplace_back(t.visitor);
    recheck.push_back(t.recheck);
    const Decision& d = *t.decision;
    action.push_back(static_cast<int8_t>(d.action));
    reason.push_back(static_cast<int8_t>(d.reason));
    probability.push_back(d.probability);
    threshold.push_back(d.threshold);
    recheck_at.push_back(d.recheck_at_ms.value_or(-1));
    reasons.push_back(d.reasons());
  }

  template <typename T>
  static py::array_t<T> Array(const std::vector<T>& v) {
    py::array_t<T> a(static_cast<py::ssize_t>(v.size()));
    std::copy(v.begin(), v.end(), a.mutable_data());
    return a;
  }

  py::tuple ToPython() const {
    py::array_t<bool> rc(static_cast<py::ssize_t>(recheck.size()));
    std::copy(recheck.begin(), recheck.end(), rc.mutable_data());
    return py::make_tuple(Array(ts), py::cast(visitor), rc, Array(action),
                          Array(reason), Array(probability), Array(threshold),
                          Array(recheck_at), py::cast(reasons));
  }
};

// The production decision log (a path, or "" for none) and visitor key
// into `o`, the decisions kept in `production`.
void TakeProductionLog(const std::string& decisions,
                       std::pair<uint64_t, uint64_t> visitor_key,
                       const std::string& visitor_key_file, ReplayOptions& o,
                       std::vector<LoggedDecisionRecord>& production) {
  o.engine.visitor_key = {visitor_key.first, visitor_key.second};
  o.engine.visitor_key_file = visitor_key_file;
  if (decisions.empty()) return;
  production = Unwrap(ReadDecisionLog(decisions));
  o.production_decisions = &production;
}

py::tuple ReplayPolicy(py::handle policy_object, py::handle events, bool trace,
                       const std::string& load_state,
                       const std::string& save_state,
                       const std::string& decisions,
                       std::pair<uint64_t, uint64_t> visitor_key,
                       const std::string& visitor_key_file,
                       py::object progress_callback) {
  const Policy& policy = AsPolicy(policy_object);
  ProgressForward progress(std::move(progress_callback));
  std::vector<LogEvent> log = LoadEvents(events);
  ReplayOptions o;
  o.load_state_path = load_state;
  o.save_state_path = save_state;
  std::vector<LoggedDecisionRecord> production;
  TakeProductionLog(decisions, visitor_key, visitor_key_file, o, production);
  TraceColumns cols;
  if (trace) o.trace = [&cols](const TraceRecord& t) { cols.Add(t); };
  SignalPoll poll;
  o.interrupted = poll.Callback();
  if (progress.on()) {
    o.progress = [&progress](uint64_t done, uint64_t total) {
      progress(done, total);
    };
  }
  absl::StatusOr<ReplayMetrics> m;
  {
    py::gil_scoped_release nogil;
    m = Replay(policy, log, o);
  }
  poll.RethrowIfRaised();
  progress.RethrowIfRaised();
  ReplayMetrics metrics = Unwrap(std::move(m));
  return py::make_tuple(metrics.ToJson(),
                        trace ? py::object(cols.ToPython()) : py::none());
}

// beckon.train_uplift: the policy and the report as a dict.
py::tuple TrainUpliftPolicy(py::handle policy_object, py::handle events,
                            std::string decisions,
                            std::pair<uint64_t, uint64_t> visitor_key,
                            std::string visitor_key_file, double rate,
                            double l2, std::string name, bool by_value) {
  const Policy& ran = AsPolicy(policy_object);
  std::vector<LogEvent> log = LoadEvents(events);
  UpliftOptions o;
  o.target_offer_rate = rate;
  o.l2 = l2;
  o.name = name;
  o.by_value = by_value;
  std::vector<LoggedDecisionRecord> production;
  TakeProductionLog(decisions, visitor_key, visitor_key_file, o.replay,
                    production);
  SignalPoll poll;
  o.replay.interrupted = poll.Callback();
  absl::StatusOr<UpliftResult> r;
  {
    py::gil_scoped_release nogil;
    r = TrainUplift(ran, log, o);
  }
  poll.RethrowIfRaised();
  UpliftResult result = Unwrap(std::move(r));
  py::dict report;
  report["offered_arm"] = result.offered_arm;
  report["holdout_arm"] = result.holdout_arm;
  report["purchased_offered"] = result.purchased_offered;
  report["purchased_holdout"] = result.purchased_holdout;
  report["bias"] = result.bias;
  py::dict weights;
  for (const auto& [feature, weight] : result.weights)
    weights[py::str(feature)] = weight;
  report["weights"] = weights;
  report["min_uplift"] = result.min_uplift;
  report["by_value"] = by_value;
  report["mean_order_value"] = result.mean_order_value;
  report["offer_rate"] = result.offer_rate;
  report["base_offer_rate"] = result.base_offer_rate;
  report["qini_area"] = result.qini.area;
  report["qini_random_sd"] = result.qini.random_sd;
  report["qini_visitors"] = result.qini.visitors;
  report["qini_curve"] = result.qini.curve;
  report["decision_log"] = !decisions.empty();
  py::list warnings;
  for (const std::string& w : result.warnings) warnings.append(w);
  report["warnings"] = warnings;
  return py::make_tuple(result.policy, report);
}

// beckon.evaluate: the estimate as a dict, and its rows.
py::tuple EvaluatePolicy(py::handle target_object, py::handle logged_object,
                         py::handle events, std::string decisions,
                         std::pair<uint64_t, uint64_t> visitor_key,
                         std::string visitor_key_file) {
  const Policy& target = AsPolicy(target_object);
  const Policy& logged = AsPolicy(logged_object);
  std::vector<LogEvent> log = LoadEvents(events);
  OffPolicyOptions o;
  std::vector<LoggedDecisionRecord> production;
  TakeProductionLog(decisions, visitor_key, visitor_key_file, o.replay,
                    production);
  SignalPoll poll;
  o.replay.interrupted = poll.Callback();
  absl::StatusOr<OffPolicyEstimate> r;
  {
    py::gil_scoped_release nogil;
    r = EvaluateOffPolicy(logged, target, log, o);
  }
  poll.RethrowIfRaised();
  OffPolicyEstimate e = Unwrap(std::move(r));
  auto value = [](const OffPolicyValue& v) {
    py::dict d;
    d["value"] = v.value;
    d["standard_error"] = v.standard_error;
    d["ci_low"] = v.ci_low;
    d["ci_high"] = v.ci_high;
    return d;
  };
  py::dict out;
  out["visitors"] = e.visitors;
  out["unsupported"] = e.unsupported;
  out["matched"] = e.matched;
  out["target_offer_share"] = e.target_offer_share;
  out["min_propensity"] = e.min_propensity;
  out["effective_sample_size"] = e.effective_sample_size;
  out["supported"] = e.supported;
  out["why"] = e.why;
  out["logged_value"] = e.logged_value;
  out["ips"] = value(e.ips);
  out["snips"] = value(e.snips);
  out["doubly_robust"] = value(e.doubly_robust);
  py::list rows;
  for (const OffPolicyVisitor& v : e.rows) {
    rows.append(py::make_tuple(v.visitor, v.session_start_ms, v.moment_ms,
                               v.logged_offer, v.propensity, v.target_offer,
                               v.supported, v.purchased));
  }
  return py::make_tuple(out, rows);
}

py::list Sweep(py::handle policy_object, py::handle events,
               DoubleArray thresholds) {
  const Policy& policy = AsPolicy(policy_object);
  std::vector<LogEvent> log = LoadEvents(events);
  std::vector<double> t(thresholds.data(),
                        thresholds.data() + thresholds.size());
  for (double x : t) {
    if (!(x > 0 && x < 1)) {
      ThrowInvalid(absl::StrCat("thresholds must be in (0, 1), got ", x));
    }
  }
  SignalPoll poll;
  ReplayOptions o;
  o.interrupted = poll.Callback();
  std::vector<ReplayMetrics> results;
  absl::Status error;
  {
    py::gil_scoped_release nogil;
    for (double x : t) {
      absl::StatusOr<Policy> p = WithDecisionThreshold(policy, x);
      if (!p.ok()) { error = p.status(); break; }
      absl::StatusOr<ReplayMetrics> m = Replay(*p, log, o);
      if (!m.ok()) { error = m.status(); break; }
      results.push_back(*std::move(m));
    }
  }
  poll.RethrowIfRaised();
  Check(error);
  py::list rows;
  for (size_t i = 0; i < results.size(); ++i) {
    const ReplayMetrics& m = results[i];
    rows.append(py::make_tuple(t[i], m.offer_rate, m.precision, m.recall,
                               m.median_lead_s, m.offers, m.offered_sessions,
                               m.hits, m.sessions));
  }
  return rows;
}

py::tuple CalibratePolicy(py::handle policy_object, py::handle events,
                          double rate, bool fixed_dwell) {
  const Policy& policy = AsPolicy(policy_object);
  std::vector<LogEvent> log = LoadEvents(events);
  SignalPoll poll;
  ReplayOptions o;
  o.interrupted = poll.Callback();
  absl::StatusOr<Calibration> c;
  {
    py::gil_scoped_release nogil;
    c = fixed_dwell ? CalibrateFixedDwell(policy, log, rate, o)
                    : CalibrateDecisionThreshold(policy, log, rate, o);
  }
  poll.RethrowIfRaised();
  Calibration cal = Unwrap(std::move(c));
  return py::make_tuple(cal.policy, cal.setting, cal.metrics.ToJson());
}

// The offer-rate curve as JSON (beckon/curve.h); the Python layer frames it.
std::string OfferRateCurveJson(py::handle policy_object, py::handle events,
                               std::vector<double> rates) {
  const Policy& policy = AsPolicy(policy_object);
  std::vector<LogEvent> log = LoadEvents(events);
  SignalPoll poll;
  ReplayOptions o;
  o.interrupted = poll.Callback();
  absl::StatusOr<OfferRateCurve> c;
  {
    py::gil_scoped_release nogil;
    c = ComputeOfferRateCurve(policy, log, rates, o);
  }
  poll.RethrowIfRaised();
  return Unwrap(std::move(c)).ToJson();
}

// --- Model fitting --------------------------------------------------------------

py::tuple FitLogisticArrays(DoubleArray x, DoubleArray y, DoubleArray w,
                            double l2, int max_iterations, double tolerance) {
  if (x.ndim() != 2) ThrowInvalid("X must be 2-dimensional");
  const size_t rows = static_cast<size_t>(x.shape(0));
  const size_t dims = static_cast<size_t>(x.shape(1));
  if (y.ndim() != 1 || static_cast<size_t>(y.shape(0)) != rows) {
    ThrowInvalid(absl::StrCat("y must have one label per row of X (", rows,
                              ")"));
  }
  std::vector<double> xs(x.data(), x.data() + x.size());
  std::vector<double> ys(y.data(), y.data() + y.size());
  std::vector<double> ws(w.data(), w.data() + w.size());
  LogisticOptions o;
  o.l2 = l2;
  o.max_iterations = max_iterations;
  o.tolerance = tolerance;
  SignalPoll poll;
  o.interrupted = poll.Callback();
  absl::StatusOr<LogisticModel> m;
  {
    py::gil_scoped_release nogil;
    m = FitLogistic(xs, dims, ys, ws, o);
  }
  poll.RethrowIfRaised();
  LogisticModel model = Unwrap(std::move(m));
  py::array_t<double> weights(static_cast<py::ssize_t>(model.weights.size()));
  std::copy(model.weights.begin(), model.weights.end(),
            weights.mutable_data());
  return py::make_tuple(model.bias, weights, model.iterations);
}

double RocAucArrays(DoubleArray scores, DoubleArray labels) {
  if (scores.size() != labels.size()) {
    ThrowInvalid("scores and labels must have the same length");
  }
  std::vector<double> s(scores.data(), scores.data() + scores.size());
  std::vector<double> l(labels.data(), labels.data() + labels.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (!std::isfinite(s[i])) {
      ThrowInvalid(absl::StrCat("scores[", i, "] is not finite"));
    }
    if (l[i] != 0 && l[i] != 1) {
      ThrowInvalid(absl::StrCat("labels[", i, "] must be 0 or 1, got ", l[i]));
    }
  }
  py::gil_scoped_release nogil;
  return RocAuc(s, l);
}

}  // namespace
}  // namespace beckon

PYBIND11_MODULE(_beckon, m) {
  using namespace beckon;
  m.doc() = "beckon's C++ engine, trainer and replay (thin shims; use the "
            "`beckon` package)";

  // Errors: one family, mapped from absl::StatusCode.
  errors.base = MakeError(
      m, "Error", "Base of every error beckon raises (message from C++).",
      py::make_tuple(py::handle(PyExc_Exception)), "unknown");
  py::handle base(errors.base);
  errors.invalid_argument = MakeError(
      m, "InvalidArgumentError",
      "Bad input: a malformed event, policy or option, out-of-order time.",
      py::make_tuple(base, py::handle(PyExc_ValueError)), "invalid_argument");
  errors.not_found = MakeError(
      m, "NotFoundError", "A file that does not exist.",
      py::make_tuple(base, py::handle(PyExc_FileNotFoundError)), "not_found");
  errors.permission_denied = MakeError(
      m, "PermissionDeniedError", "A file that cannot be read or written.",
      py::make_tuple(base, py::handle(PyExc_PermissionError)),
      "permission_denied");
  errors.failed_precondition = MakeError(
      m, "FailedPreconditionError",
      "The call does not fit the object's state (e.g. an Engine whose "
      "__init__ failed).",
      py::make_tuple(base), "failed_precondition");
  errors.resource_exhausted = MakeError(
      m, "ResourceExhaustedError", "A size or memory limit was reached.",
      py::make_tuple(base, py::handle(PyExc_MemoryError)),
      "resource_exhausted");
  errors.cancelled = MakeError(m, "CancelledError", "The call was cancelled.",
                               py::make_tuple(base), "cancelled");
  errors.internal = MakeError(m, "InternalError",
                              "A fault inside beckon (please report it).",
                              py::make_tuple(base), "internal");
  errors.unavailable = MakeError(
      m, "UnavailableError",
      "The visitor store (Redis) cannot be reached or answered too late; "
      "the event was not recorded (report it again).",
      py::make_tuple(base, py::handle(PyExc_ConnectionError)), "unavailable");
  errors.aborted = MakeError(
      m, "AbortedError",
      "Other processes kept changing the visitor in Redis for "
      "max_conflict_retries tries; the event was not recorded.",
      py::make_tuple(base), "aborted");
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const StatusError& e) {
      std::string message(StdView(e.status.message()));
      PyErr_SetString(ErrorClassFor(e.status.code()), message.c_str());
    }
  });

  m.def("version", [] { return std::string(BECKON_VERSION_STRING); },
        "The library's version.");
  py::list types, actions, reasons;
  for (int i = 0; i < kEventTypeCount; ++i) {
    types.append(std::string(EventTypeName(static_cast<EventType>(i))));
  }
  for (int i = 0; i < kActionCount; ++i) {
    actions.append(std::string(ActionName(static_cast<Action>(i))));
  }
  for (int i = 0; i < kReasonCount; ++i) {
    reasons.append(std::string(ReasonName(static_cast<Reason>(i))));
  }
  m.attr("EVENT_TYPES") = types;
  m.attr("ACTIONS") = actions;
  m.attr("REASONS") = reasons;
  Engine::Options defaults;
  m.attr("DEFAULT_VISITOR_KEY") =
      py::make_tuple(defaults.visitor_key[0], defaults.visitor_key[1]);

  py::class_<Policy>(m, "Policy", "A validated, immutable policy.")
      .def_static("default", &Policy::Default)
      .def_static("from_bytes",
                  [](py::bytes b) {
                    return Unwrap(Policy::FromBytes(std::string_view(b)));
                  })
      .def_static("from_text",
                  [](const std::string& text) {
                    return Unwrap(Policy::FromText(text));
                  })
      .def_static("from_json",
                  [](const std::string& json) {
                    return Unwrap(Policy::FromJson(json));
                  })
      .def_static("load",
                  [](const std::string& path) {
                    absl::StatusOr<Policy> p;
                    {
                      py::gil_scoped_release nogil;
                      p = Policy::FromFile(path);
                    }
                    return Unwrap(std::move(p));
                  })
      .def("to_bytes",
           [](py::handle p) { return py::bytes(AsPolicy(p).ToBytes()); })
      .def("to_text", [](py::handle p) { return AsPolicy(p).ToText(); })
      .def("to_json", &PolicyJson)
      .def("save",
           [](py::handle p, const std::string& path) {
             Check(AsPolicy(p).ToFile(path));
           })
      .def_property_readonly("name",
                             [](py::handle p) { return AsPolicy(p).name(); })
      .def_property_readonly(
          "decision_threshold",
          [](py::handle p) {
            return internal::PolicyInternal::Message(AsPolicy(p))
                .model()
                .decision_threshold();
          })
      .def("group_of", &GroupOf)
      .def("summary", &PolicySummary)
      .def("__repr__", &PolicySummary);

  py::class_<PyDecision>(m, "Decision",
                         "What the engine answered: action ('offer', 'wait' or "
                         "'suppress'), reason, probability, threshold, "
                         "would_offer, recheck_at_ms, reasons, contributions.")
      .def_property_readonly(
          "action",
          [](py::handle d) {
            return std::string(ActionName(AsDecision(d).action));
          },
          "'offer', 'wait' or 'suppress'.")
      .def_property_readonly(
          "reason",
          [](py::handle d) {
            return std::string(ReasonName(AsDecision(d).reason));
          },
          "The reason code: 'score', a gate, 'dwell', ...")
      .def_property_readonly(
          "probability", [](py::handle d) { return AsDecision(d).probability; },
          "The model's probability that the visitor needs help.")
      .def_property_readonly(
          "threshold", [](py::handle d) { return AsDecision(d).threshold; },
          "The threshold the probability was held against.")
      .def_property_readonly(
          "would_offer", [](py::handle d) { return AsDecision(d).would_offer; },
          "Suppressed by the holdout only: an offer would be made.")
      .def_property_readonly(
          "offer_probability",
          [](py::handle d) { return AsDecision(d).offer_probability; },
          "The chance, over the holdout's and exploration's draws, "
          "that this decision went past the score and the holdout "
          "(docs/uplift.md).")
      .def_property_readonly(
          "recheck_at_ms",
          [](py::handle d) { return AsDecision(d).recheck_at_ms; },
          "When deciding again could change the answer, or None.")
      .def_property_readonly(
          "policy_name",
          [](py::handle d) { return std::string(AsDecision(d).policy_name()); },
          "The name of the policy the decision was made under.")
      .def_property_readonly(
          "policy_version",
          [](py::handle d) {
            return std::string(AsDecision(d).policy_version());
          },
          "The version (16 hex digits) of that policy.")
      .def_property_readonly(
          "reasons", [](py::handle d) { return AsDecision(d).reasons(); },
          "Readable reasons (made when asked for).")
      .def_property_readonly(
          "contributions",
          [](py::handle self) {
            py::dict out;
            for (const Contribution& c : AsDecision(self).contributions()) {
              out[py::str(c.feature)] = py::make_tuple(c.value, c.contribution);
            }
            return out;
          },
          "Per feature: (value, contribution in log-odds), in feature order.")
      .def("__repr__", &DecisionRepr);

  py::class_<PyEngine>(m, "Engine", "The decision engine (thin; see beckon.Engine).")
      .def(py::init(&MakeEngine), py::arg("policy"), py::arg("max_sessions"),
           py::arg("max_memory_records"), py::arg("shards"),
           py::arg("visitor_key"), py::arg("store") = "",
           py::arg("visitor_key_file") = "",
           py::arg("max_url_bytes") = Engine::Options().max_url_bytes,
           py::arg("max_referrer_bytes") =
               Engine::Options().max_referrer_bytes,
           py::arg("decision_log") = "", py::arg("event_log") = "")
      .def("visitor_hash",
           [](const PyEngine& e, const std::string& visitor) {
             return e.engine->VisitorHash(visitor);
           },
           py::arg("visitor"),
           "The visitor's id hashed with this engine's visitor key: how the "
           "decision log's visitor_hash names the visitor.")
      .def("_visitor_key", [](const PyEngine& e) {
        const std::array<uint64_t, 2> k = e.engine->visitor_key();
        return py::make_tuple(k[0], k[1]);
      })
      .def("observe", &Observe, py::arg("ts_ms"), py::arg("visitor"),
           py::arg("event"), py::arg("page") = "", py::arg("detail") = "",
           "Records one event, given as a row of the event log: ts_ms (ms "
           "since the epoch), visitor, event ('page_view', 'search', 'cart', "
           "'help_contact', 'offer_shown', 'offer_accepted', "
           "'offer_declined', 'offer_ignored', 'purchase', 'agents'), page, "
           "and detail (a page_view's referrer, a search's result count, a "
           "cart or purchase value, an offer's channel, the free agents; a "
           "number or a string). A rejected event raises "
           "InvalidArgumentError and changes nothing.")
      .def("decide", &Decide, py::arg("ts_ms"), py::arg("visitor"),
           "Decides for `visitor` at `ts_ms`. An 'offer' is recorded as made. "
           "A store that cannot be reached gives 'suppress' with the reason "
           "'store_unavailable'.")
      .def(
          "expire",
          [](py::handle self, py::handle ts_ms) {
            Engine& e = AsEngine(self);
            const int64_t now = ToMillis(ts_ms, "ts_ms");
            py::gil_scoped_release nogil;
            Check(e.Expire(now));
          },
          py::arg("ts_ms"),
          "Drops sessions idle past the timeout and lapsed memory records.")
      .def(
          "snapshot",
          [](py::handle self) {
            const Engine& e = AsEngine(self);
            absl::StatusOr<std::string> s;
            {
              py::gil_scoped_release nogil;
              s = e.SnapshotOrError();  // Redis down raises, not b"".
            }
            return py::bytes(Unwrap(std::move(s)));
          },
          "Every live session and memory record, as bytes (keyed ids only).")
      .def(
          "restore",
          [](py::handle self, py::bytes snapshot) {
            Engine& e = AsEngine(self);
            std::string s = snapshot;
            py::gil_scoped_release nogil;
            Check(e.Restore(s));
          },
          py::arg("snapshot"),
          "Replaces the visitor state with a snapshot's; a bad snapshot "
          "raises and changes nothing.")
      .def(
          "save_state",
          [](py::handle self, const std::string& path) {
            const Engine& e = AsEngine(self);
            py::gil_scoped_release nogil;
            Check(e.SnapshotToFile(path));
          },
          py::arg("path"), "Writes snapshot() to a file (atomically).")
      .def(
          "load_state",
          [](py::handle self, const std::string& path) {
            Engine& e = AsEngine(self);
            py::gil_scoped_release nogil;
            Check(e.RestoreFromFile(path));
          },
          py::arg("path"), "restore() from a file written by save_state().")
      .def("_stats",
           [](py::handle e) {
             PyEngine& pe = AsPyEngine(e);
             if (!pe.remote) return StatsDict(pe.engine->Stats());
             EngineStats st;
             {
               py::gil_scoped_release nogil;  // Redis: a scan of the keys.
               st = pe.engine->Stats();
             }
             return StatsDict(st);
           })
      .def("_set_policy",
           [](py::handle e, py::handle policy) {
             PyEngine& pe = AsPyEngine(e);
             const Policy& p = AsPolicy(policy);
             absl::Status st;
             {
               py::gil_scoped_release nogil;
               st = pe.engine->SetPolicy(p);
             }
             Check(st);
           },
           py::arg("policy"),
           "Replaces the live engine's policy, keeping every visitor's "
           "state, the counters and the rate window (docs/python.md).")
      .def("_metrics_text",
           [](py::handle e) {
             PyEngine& pe = AsPyEngine(e);
             std::string text;
             {
               py::gil_scoped_release nogil;  // Redis: a scan of the keys.
               text = pe.engine->MetricsText();
             }
             return text;
           })
      .def("_policy", [](py::handle e) { return AsEngine(e).policy(); })
      .def("_observe_batch", &ObserveBatch)
      .def("_decide_batch", &DecideBatch)
      .def("_play_batch", &PlayBatch);

  m.def(
      "read_events",
      [](const std::string& path, bool lenient, size_t max_row_bytes,
         bool allow_small_epoch) {
        EventLogReader::Options o;
        o.lenient = lenient;
        o.allow_small_epoch = allow_small_epoch;
        o.max_row_bytes = max_row_bytes;
        absl::StatusOr<std::vector<LogEvent>> read;
        EventLogReport report;
        {
          py::gil_scoped_release nogil;
          read = ReadEventLog(path, o, report);
        }
        std::vector<LogEvent> rows = Unwrap(std::move(read));
        return py::make_tuple(EventsToColumns(rows), report.skipped,
                              report.errors);
      },
      py::arg("path"), py::arg("lenient"),
      py::arg("max_row_bytes") = EventLogReader::Options().max_row_bytes,
      py::arg("allow_small_epoch") = false);
  m.def("write_events", [](const std::string& path, Int64Array ts,
                           py::handle v, py::handle e, py::handle p,
                           py::handle d) {
    EventColumns c(std::move(ts), v, e, p, d);
    absl::Status st;
    {
      py::gil_scoped_release nogil;
      std::vector<LogEvent> rows(c.size());
      for (size_t i = 0; i < c.size() && st.ok(); ++i) st = c.Parse(i, rows[i]);
      if (st.ok()) {
        absl::StatusOr<std::unique_ptr<EventLogWriter>> w =
            EventLogWriter::Open(path);
        if (!w.ok()) {
          st = w.status();
        } else {
          for (const LogEvent& row : rows) {
            st = (*w)->Write(row);
            if (!st.ok()) break;
          }
          absl::Status closed = (*w)->Close();
          if (st.ok()) st = closed;
        }
      }
    }
    Check(st);
  });
  m.def("label", [](const std::string& events, const std::string& contacts,
                    double session_timeout_s, double tolerance_s,
                    bool fail_on_unmatched, bool allow_small_epoch,
                    bool lenient, bool events_lenient) {
    LabelOptions o;
    o.session_timeout_ms = static_cast<int64_t>(session_timeout_s * 1000);
    o.tolerance_ms = static_cast<int64_t>(tolerance_s * 1000);
    o.fail_on_unmatched = fail_on_unmatched;
    o.allow_small_epoch = allow_small_epoch;
    o.lenient = lenient;
    o.events_lenient = events_lenient;
    std::vector<LogEvent> rows;
    LabelStats st;
    absl::Status status;
    {
      py::gil_scoped_release nogil;
      status = LabelEventLog(events, contacts, o, [&](const LogEvent& e) {
        rows.push_back(e);
        return absl::OkStatus();
      }, st);
    }
    Check(status);
    py::dict d;
    d["contacts_read"] = st.contacts_read;
    d["attached"] = st.attached;
    d["unmatched"] = st.unmatched;
    d["duplicates"] = st.duplicates;
    d["malformed"] = st.malformed;
    d["events_read"] = st.events_read;
    d["events_skipped"] = st.events_skipped;
    d["rows_written"] = st.rows_written;
    d["existing_help_contacts"] = st.existing_help_contacts;
    d["sessions_labelled"] = st.sessions_labelled;
    py::list unmatched;
    for (const UnmatchedContact& u : st.unmatched_contacts) {
      unmatched.append(py::make_tuple(u.line, u.visitor, u.ts_ms, u.reason));
    }
    d["unmatched_contacts"] = unmatched;
    d["errors"] = st.errors;
    return py::make_tuple(EventsToColumns(rows), d);
  });
  m.def("convert", [](const std::string& kind, const std::string& path,
                      bool lenient, bool keep_crawlers, double click_gap_s) {
    std::vector<LogEvent> rows;
    const LogSink sink = [&](const LogEvent& e) {
      rows.push_back(e);
      return absl::OkStatus();
    };
    py::dict d;
    auto run = [&](auto convert) {
      decltype(convert()) st;
      {
        py::gil_scoped_release nogil;
        st = convert();
      }
      return Unwrap(std::move(st));
    };
    if (kind == "nasa") {
      NasaLogOptions o;
      o.lenient = lenient;
      NasaLogStats st = run([&] { return ConvertNasaLog(path, o, sink); });
      d["rows_read"] = st.rows_read;
      d["page_views"] = st.page_views;
      d["skipped_method"] = st.skipped_method;
      d["skipped_status"] = st.skipped_status;
      d["skipped_not_page"] = st.skipped_not_page;
      d["malformed"] = st.malformed;
      d["search_requests"] = st.search_requests;
      d["hashed_hosts"] = st.hashed_hosts;
      d["out_of_order"] = st.out_of_order;
      d["errors"] = st.errors;
    } else if (kind == "eshop") {
      EshopOptions o;
      o.lenient = lenient;
      o.click_gap_ms = static_cast<int64_t>(std::llround(click_gap_s * 1000));
      EshopStats st =
          run([&] { return ConvertEshopClickstream(path, o, sink); });
      d["rows_read"] = st.rows_read;
      d["page_views"] = st.page_views;
      d["malformed"] = st.malformed;
      d["sessions"] = st.sessions;
      d["days"] = st.days;
      d["errors"] = st.errors;
    } else if (kind == "access") {
      AccessLogOptions o;
      o.lenient = lenient;
      o.skip_crawlers = !keep_crawlers;
      AccessLogStats st = run([&] { return ConvertAccessLog(path, o, sink); });
      d["rows_read"] = st.rows_read;
      d["page_views"] = st.page_views;
      d["skipped_method"] = st.skipped_method;
      d["skipped_status"] = st.skipped_status;
      d["skipped_not_page"] = st.skipped_not_page;
      d["skipped_crawlers"] = st.skipped_crawlers;
      d["malformed"] = st.malformed;
      d["hashed_hosts"] = st.hashed_hosts;
      d["out_of_order"] = st.out_of_order;
      d["errors"] = st.errors;
    } else {
      throw py::value_error("unreachable: kind is checked in Python");
    }
    return py::make_tuple(EventsToColumns(rows), d);
  });
  m.def("simulate", &SimulateToColumns);
  // The log divided at `split_ms`, or, when `last_days` > 0, at the
  // midnight UTC that leaves the last `last_days` days of session starts
  // after it: the events are read once either way.
  m.def("time_split", [](py::handle events, int64_t split_ms, int64_t last_days,
                         int64_t timeout_ms) {
    std::vector<LogEvent> log = LoadEvents(events);
    TimeSplit split;
    {
      py::gil_scoped_release nogil;
      if (last_days > 0) {
        constexpr int64_t kDayMs = 86'400'000;
        const int64_t last = LatestSessionStart(log, timeout_ms);
        split_ms = (last / kDayMs - (last_days - 1)) * kDayMs;
      }
      split = SplitBySessionStart(log, split_ms, timeout_ms);
    }
    auto indices = [](const std::vector<size_t>& v) {
      py::array_t<int64_t> a(static_cast<py::ssize_t>(v.size()));
      int64_t* out = a.mutable_data();
      for (size_t i = 0; i < v.size(); ++i) out[i] = static_cast<int64_t>(v[i]);
      return a;
    };
    return py::make_tuple(indices(split.earlier), indices(split.later));
  });
  m.def("train_options", [] {
    py::list out;
    for (const internal::TrainOptionInfo& i : internal::TrainOptionInfos()) {
      py::dict d;
      d["name"] = i.name;
      d["default"] = i.default_text;
      d["range"] = i.range;
      d["help"] = i.help;
      d["kind"] = internal::SpecKindOf(i.name) == internal::SpecKind::kText
                      ? "text"
                  : internal::SpecKindOf(i.name) == internal::SpecKind::kNumber
                      ? "number"
                      : "whole number";
      out.append(d);
    }
    return out;
  });
  m.def("train", &TrainPolicy);
  m.def("train_uplift", &TrainUpliftPolicy);
  m.def("evaluate", &EvaluatePolicy);
  m.def("replay", &ReplayPolicy, py::arg("policy"), py::arg("events"),
        py::arg("trace"), py::arg("load_state"), py::arg("save_state"),
        py::arg("decisions") = "",
        py::arg("visitor_key") = std::pair<uint64_t, uint64_t>(0, 0),
        py::arg("visitor_key_file") = "", py::arg("progress") = py::none());
  m.def("sweep", &Sweep);
  m.def("calibrate", &CalibratePolicy);
  m.def("offer_rate_curve", &OfferRateCurveJson);
  m.def("fixed_dwell_policy", [](py::handle base, double seconds) {
    return Unwrap(FixedDwellPolicy(AsPolicy(base), seconds));
  });
  m.def("with_threshold", [](py::handle p, double threshold) {
    return Unwrap(WithDecisionThreshold(AsPolicy(p), threshold));
  });
  m.def("fit_logistic", &FitLogisticArrays);
  m.def("roc_auc", &RocAucArrays);
}

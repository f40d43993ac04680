// Logistic regression by Newton's method, and ROC AUC.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "absl/strings/str_cat.h"
#include "beckon/train.h"

namespace beckon {
namespace {

// log(1 + exp(z)), without overflow.
double Softplus(double z) {
  return z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z));
}

double Sigmoid(double z) {
  if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1.0 + e);
}

// Solves a x = b for symmetric positive definite a (n x n, row-major) by
// Cholesky; false if a is not positive definite.
bool SolveSpd(std::vector<double> a, std::vector<double>& b, size_t n) {
  for (size_t j = 0; j < n; ++j) {
    double d = a[j * n + j];
    for (size_t k = 0; k < j; ++k) d -= a[j * n + k] * a[j * n + k];
    if (!(d > 1e-300)) return false;
    d = std::sqrt(d);
    a[j * n + j] = d;
    for (size_t i = j + 1; i < n; ++i) {
      double s = a[i * n + j];
      for (size_t k = 0; k < j; ++k) s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / d;
    }
  }
  for (size_t i = 0; i < n; ++i) {  // L y = b
    double s = b[i];
    for (size_t k = 0; k < i; ++k) s -= a[i * n + k] * b[k];
    b[i] = s / a[i * n + i];
  }
  for (size_t i = n; i-- > 0;) {  // L^T x = y
    double s = b[i];
    for (size_t k = i + 1; k < n; ++k) s -= a[k * n + i] * b[k];
    b[i] = s / a[i * n + i];
  }
  return true;
}

}  // namespace

double LogisticModel::Predict(const double* row) const {
  double z = bias;
  for (size_t j = 0; j < weights.size(); ++j) z += weights[j] * row[j];
  return Sigmoid(z);
}

absl::StatusOr<LogisticModel> FitLogistic(const std::vector<double>& x,
                                          size_t dims,
                                          const std::vector<double>& y,
                                          const std::vector<double>& sw,
                                          const LogisticOptions& options) {
  if (dims == 0 || dims > 1000) {
    return absl::InvalidArgumentError(
        absl::StrCat("logistic: dims must be in [1, 1000], got ", dims));
  }
  const size_t n = y.size();
  if (n == 0) return absl::InvalidArgumentError("logistic: no rows");
  if (x.size() != n * dims) {
    return absl::InvalidArgumentError(
        absl::StrCat("logistic: x has ", x.size(), " values, expected rows (",
                     n, ") * dims (", dims, ") = ", n * dims));
  }
  if (!sw.empty() && sw.size() != n) {
    return absl::InvalidArgumentError(
        absl::StrCat("logistic: sample_weight has ", sw.size(),
                     " values, expected ", n));
  }
  if (!(std::isfinite(options.l2) && options.l2 >= 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("logistic: l2 must be finite and >= 0, got ",
                     options.l2));
  }
  for (size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("logistic: x[", i / dims, "][", i % dims,
                       "] is not finite"));
    }
  }
  for (size_t i = 0; i < n; ++i) {
    if (y[i] != 0 && y[i] != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "logistic: y[", i, "] must be 0 or 1, got ", y[i]));
    }
    if (!sw.empty() && !(std::isfinite(sw[i]) && sw[i] >= 0)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "logistic: sample_weight[", i, "] must be finite and >= 0"));
    }
  }
  const size_t p = dims + 1;  // Weights, then the bias.
  std::vector<double> beta(p, 0.0);
  // Start the bias at the weighted base rate's log-odds.
  double pos = 0, total = 0;
  for (size_t i = 0; i < n; ++i) {
    const double w = sw.empty() ? 1.0 : sw[i];
    pos += w * y[i];
    total += w;
  }
  if (total <= 0) {
    return absl::InvalidArgumentError("logistic: all sample weights are 0");
  }
  const double rate = std::clamp(pos / total, 1e-9, 1 - 1e-9);
  beta[dims] = std::log(rate / (1 - rate));

  auto loss_of = [&](const std::vector<double>& b) {
    double loss = 0;
    for (size_t i = 0; i < n; ++i) {
      const double* row = &x[i * dims];
      double z = b[dims];
      for (size_t j = 0; j < dims; ++j) z += b[j] * row[j];
      const double w = sw.empty() ? 1.0 : sw[i];
      loss += w * (Softplus(z) - y[i] * z);
    }
    for (size_t j = 0; j < dims; ++j) loss += 0.5 * options.l2 * b[j] * b[j];
    return loss;
  };

  LogisticModel model;
  double loss = loss_of(beta);
  std::vector<double> grad(p), hess(p * p);
  for (int it = 0; it < options.max_iterations; ++it) {
    if (options.interrupted && options.interrupted()) {
      return absl::CancelledError("logistic regression interrupted");
    }
    std::fill(grad.begin(), grad.end(), 0.0);
    std::fill(hess.begin(), hess.end(), 0.0);
    for (size_t i = 0; i < n; ++i) {
      const double* row = &x[i * dims];
      double z = beta[dims];
      for (size_t j = 0; j < dims; ++j) z += beta[j] * row[j];
      const double w = sw.empty() ? 1.0 : sw[i];
      const double pr = Sigmoid(z);
      const double r = w * (pr - y[i]);
      const double h = w * pr * (1 - pr);
      for (size_t j = 0; j < p; ++j) {
        const double xj = j < dims ? row[j] : 1.0;
        grad[j] += r * xj;
        const double hx = h * xj;
        for (size_t k = 0; k <= j; ++k) {
          hess[j * p + k] += hx * (k < dims ? row[k] : 1.0);
        }
      }
    }
    for (size_t j = 0; j < dims; ++j) {
      grad[j] += options.l2 * beta[j];
      hess[j * p + j] += options.l2;
    }
    for (size_t j = 0; j < p; ++j) {
      hess[j * p + j] += 1e-10;  // Keeps separable data solvable.
      for (size_t k = 0; k < j; ++k) hess[k * p + j] = hess[j * p + k];
    }
    std::vector<double> step = grad;
    if (!SolveSpd(hess, step, p)) {
      return absl::InternalError(
          "logistic: the Hessian is not positive definite");
    }
    // Damped Newton step: halve until the loss does not increase.
    double scale = 1.0;
    std::vector<double> next(p);
    double next_loss = loss;
    for (int k = 0; k < 40; ++k) {
      for (size_t j = 0; j < p; ++j) next[j] = beta[j] - scale * step[j];
      next_loss = loss_of(next);
      if (next_loss <= loss) break;
      scale *= 0.5;
    }
    double change = 0;
    for (size_t j = 0; j < p; ++j) {
      change = std::max(change, std::fabs(next[j] - beta[j]));
    }
    model.iterations = it + 1;
    if (next_loss > loss) break;  // No descent left: converged.
    beta = next;
    loss = next_loss;
    if (change < options.tolerance) break;
  }
  model.bias = beta[dims];
  model.weights.assign(beta.begin(), beta.begin() + dims);
  return model;
}

double RocAuc(const std::vector<double>& scores,
              const std::vector<double>& labels) {
  const size_t n = std::min(scores.size(), labels.size());
  std::vector<size_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(),
            [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  double pos = 0, neg = 0, rank_sum = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && scores[idx[j]] == scores[idx[i]]) ++j;
    const double mid_rank = (static_cast<double>(i + j) + 1) / 2.0;
    for (size_t k = i; k < j; ++k) {
      if (labels[idx[k]] > 0.5) {
        rank_sum += mid_rank;
        pos += 1;
      } else {
        neg += 1;
      }
    }
    i = j;
  }
  if (pos == 0 || neg == 0) return 0.5;
  return (rank_sum - pos * (pos + 1) / 2.0) / (pos * neg);
}

}  // namespace beckon

#include "lib/offline/lift.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace beckon::internal {

LiftEstimate Difference(const MeanVar& offered, const MeanVar& holdout,
                        double z) {
  LiftEstimate e;
  e.offered = offered.mean;
  e.holdout = holdout.mean;
  e.lift = offered.mean - holdout.mean;
  if (offered.n < 2 || holdout.n < 2) return e;
  e.estimable = true;
  e.standard_error =
      std::sqrt(offered.Variance() / static_cast<double>(offered.n) +
                holdout.Variance() / static_cast<double>(holdout.n));
  e.ci_low = e.lift - z * e.standard_error;
  e.ci_high = e.lift + z * e.standard_error;
  return e;
}

namespace {

// Q(k) for k = 0..N of `order` (indices into `v`), into `q`.
void QiniCurve(const std::vector<QiniVisitor>& v,
               const std::vector<uint32_t>& order, std::vector<double>& q) {
  q.assign(order.size() + 1, 0.0);
  double n_t = 0, n_c = 0, y_t = 0, y_c = 0;
  for (size_t k = 0; k < order.size(); ++k) {
    const QiniVisitor& x = v[order[k]];
    if (x.holdout) {
      n_c += 1;
      y_c += x.purchased;
    } else {
      n_t += 1;
      y_t += x.purchased;
    }
    q[k + 1] = n_c > 0 ? y_t - y_c * n_t / n_c : y_t;
  }
}

double QiniArea(const std::vector<double>& q) {
  const size_t n = q.size() - 1;
  if (n == 0) return 0;
  const double nn = static_cast<double>(n);
  double sum = 0;
  for (size_t k = 1; k <= n; ++k) {
    sum += q[k] - static_cast<double>(k) / nn * q[n];
  }
  return sum / nn / nn;
}

}  // namespace

Qini QiniOf(std::vector<QiniVisitor> visitors, std::string ranked_by) {
  Qini out;
  out.ranked_by = std::move(ranked_by);
  const size_t n = visitors.size();
  out.visitors = n;
  std::vector<uint32_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = static_cast<uint32_t>(i);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return visitors[a].score > visitors[b].score;
  });
  std::vector<double> q;
  QiniCurve(visitors, order, q);
  out.area = QiniArea(q);
  for (int i = 0; i <= 20; ++i) {
    const size_t k = n * static_cast<size_t>(i) / 20;
    out.curve.push_back(n ? q[k] / static_cast<double>(n) : 0.0);
  }
  if (n >= 2) {
    std::mt19937_64 rng(0x71696e69);  // "qini"
    MeanVar random;
    for (int r = 0; r < 200; ++r) {
      for (size_t i = n - 1; i > 0; --i) {
        const size_t j = static_cast<size_t>(rng() % (i + 1));
        std::swap(order[i], order[j]);
      }
      QiniCurve(visitors, order, q);
      random.Add(QiniArea(q));
    }
    out.random_sd = std::sqrt(random.Variance());
  }
  return out;
}

namespace {

OffPolicyValue ValueOf(const MeanVar& m) {
  OffPolicyValue v;
  v.value = m.mean;
  v.standard_error =
      m.n ? std::sqrt(m.Variance() / static_cast<double>(m.n)) : 0.0;
  v.ci_low = v.value - kZ95 * v.standard_error;
  v.ci_high = v.value + kZ95 * v.standard_error;
  return v;
}

}  // namespace

OffPolicyValues EstimateOffPolicy(const std::vector<OffPolicyRow>& rows) {
  OffPolicyValues out;
  MeanVar ips, dr;
  double sum_w = 0, sum_w2 = 0, sum_wy = 0;
  for (const OffPolicyRow& r : rows) {
    const bool match = r.logged_offer == r.target_offer;
    const double w = match ? 1 / r.propensity : 0;
    if (match) ++out.matched;
    sum_w += w;
    sum_w2 += w * w;
    sum_wy += w * r.y;
    ips.Add(w * r.y);
    const double q = r.target_offer ? r.q_offer : r.q_not;
    dr.Add(q + w * (r.y - q));
  }
  out.ips = ValueOf(ips);
  out.doubly_robust = ValueOf(dr);
  out.effective_sample_size = sum_w2 > 0 ? sum_w * sum_w / sum_w2 : 0;
  if (sum_w > 0) {
    const double value = sum_wy / sum_w;
    const double mean_w = sum_w / static_cast<double>(rows.size());
    MeanVar phi;
    for (const OffPolicyRow& r : rows) {
      const double w = r.logged_offer == r.target_offer ? 1 / r.propensity : 0;
      phi.Add(w * (r.y - value) / mean_w);
    }
    out.snips = ValueOf(phi);
    out.snips.value = value;
    out.snips.ci_low = value - kZ95 * out.snips.standard_error;
    out.snips.ci_high = value + kZ95 * out.snips.standard_error;
  }
  return out;
}

}  // namespace beckon::internal

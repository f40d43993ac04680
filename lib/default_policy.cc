// The built-in default policy: hand-set values that work before any training.
// docs/concepts.md explains each choice.
#include <cstdio>
#include <cstdlib>

#include "beckon/policy.h"
#include "beckon/policy.pb.h"
#include "google/protobuf/text_format.h"

namespace beckon {
namespace {

constexpr char kDefaultPolicyText[] = R"pb(
  format_version: 1
  name: "beckon-default"
  provenance { created_by: "beckon default 0.1.0" notes: "hand-set; no training" }

  # Pages are grouped first by these rules (first match wins), else by the
  # path's automatic template.
  url_rules { kind: GLOB match: "/" group: "/" }
  url_rules { kind: PREFIX match: "/help" group: "/help/*" }
  url_rules { kind: PREFIX match: "/faq" group: "/help/*" }
  url_rules { kind: PREFIX match: "/support" group: "/help/*" }
  url_rules { kind: PREFIX match: "/contact" group: "/contact" }
  url_rules { kind: PREFIX match: "/shipping" group: "/help/shipping" }
  url_rules { kind: PREFIX match: "/delivery" group: "/help/shipping" }
  url_rules { kind: PREFIX match: "/returns" group: "/help/returns" }
  url_rules { kind: PREFIX match: "/search" group: "/search" }
  url_rules { kind: PREFIX match: "/checkout" group: "/checkout/*" }
  url_rules { kind: PREFIX match: "/cart" group: "/cart" }
  url_rules { kind: PREFIX match: "/basket" group: "/cart" }
  url_rules { kind: PREFIX match: "/account" group: "/account/*" }
  url_rules { kind: PREFIX match: "/login" group: "/account/*" }
  url_rules { kind: PREFIX match: "/register" group: "/account/*" }
  url_rules { kind: PREFIX match: "/p/" group: "/p/*" }
  url_rules { kind: PREFIX match: "/product" group: "/p/*" }
  url_rules { kind: PREFIX match: "/c/" group: "/c/*" }
  url_rules { kind: PREFIX match: "/category" group: "/c/*" }

  # Dwell thresholds: roughly how long shoppers stay on such a page before
  # they ask for help; help rates: a plausible share of views that lead to a
  # help request. Training replaces both with the shop's own figures.
  groups { pattern: "/" role: ROLE_LANDING dwell_threshold_s: 40 help_rate: 0.02 }
  groups { pattern: "/c/*" role: ROLE_CATEGORY dwell_threshold_s: 60 help_rate: 0.02 }
  groups { pattern: "/p/*" role: ROLE_PRODUCT dwell_threshold_s: 90 help_rate: 0.04 }
  groups { pattern: "/search" role: ROLE_SEARCH dwell_threshold_s: 30 help_rate: 0.05 }
  groups { pattern: "/help/*" role: ROLE_HELP dwell_threshold_s: 45 help_rate: 0.15 }
  groups { pattern: "/help/shipping" role: ROLE_HELP dwell_threshold_s: 40 help_rate: 0.12 }
  groups { pattern: "/help/returns" role: ROLE_HELP dwell_threshold_s: 40 help_rate: 0.12 }
  groups { pattern: "/contact" role: ROLE_HELP dwell_threshold_s: 20 help_rate: 0.30 }
  groups { pattern: "/cart" role: ROLE_CART dwell_threshold_s: 45 help_rate: 0.05 }
  groups { pattern: "/checkout/*" role: ROLE_CHECKOUT dwell_threshold_s: 35 help_rate: 0.08 }
  groups { pattern: "/account/*" role: ROLE_ACCOUNT dwell_threshold_s: 60 help_rate: 0.06 }
  unlisted { role: ROLE_OTHER dwell_threshold_s: 60 help_rate: 0.03 }

  # The help-seeking route: in from a search engine, a site search, then help.
  path_rules {
    name: "search engine, site search, help"
    from_search_engine: true
    steps { role: ROLE_SEARCH }
    steps { role: ROLE_HELP }
    strength: 1.0
  }
  path_rules {
    name: "search, then help"
    steps { role: ROLE_SEARCH }
    steps { role: ROLE_HELP }
    strength: 0.6
  }
  path_rules {
    name: "checkout, back to help"
    steps { role: ROLE_CHECKOUT }
    steps { role: ROLE_HELP }
    strength: 0.8
  }

  model {
    bias: -4.2
    weights { feature: "dwell_ratio" weight: 0.9 }
    weights { feature: "help_hits" weight: 0.45 }
    weights { feature: "searches" weight: 0.1 }
    weights { feature: "zero_result_searches" weight: 0.7 }
    weights { feature: "loops" weight: 0.35 }
    weights { feature: "back_and_forth" weight: 0.4 }
    weights { feature: "path" weight: 1.0 }
    weights { feature: "checkout_stall_min" weight: 0.25 }
    weights { feature: "pages_viewed" weight: 0.1 }
    weights { feature: "cart_value" weight: 0.08 }
    weights { feature: "group_help_rate" weight: 4.0 }
    decision_threshold: 0.5
  }

  gates {
    decline_cooldown_s: 2592000  # 30 days
    ignored_cap: 2
    ignored_cooldown_s: 604800   # 7 days
    max_offers_per_session: 1
    min_gap_s: 300
    holdout_fraction: 0.05
    holdout_salt: "beckon-holdout-1"
    expected_accept_rate: 0.3
    rate_window_s: 300
    plenty_agents: 4
    threshold_at_one_agent: 0.75
  }

  session {
    timeout_s: 1800
    search_engine_hosts: [ "google.", "bing.com", "duckduckgo.com",
                           "search.yahoo.", "yandex.", "baidu.com",
                           "ecosia.org", "qwant.com" ]
  }
)pb";

}  // namespace

Policy Policy::Default() {
  static const Policy* const kDefault = [] {
    absl::StatusOr<Policy> p = Policy::FromText(kDefaultPolicyText);
    if (!p.ok()) {  // A build defect, caught by policy_test; never input.
      std::fprintf(stderr, "beckon: built-in default policy is invalid: %s\n",
                   p.status().ToString().c_str());
      std::abort();
    }
    return new Policy(*std::move(p));
  }();
  return *kDefault;
}

}  // namespace beckon

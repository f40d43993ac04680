// Events: what a host tells the engine a visitor (or the site) did.
//
// Build events with the factory functions, which mirror the rows of the event
// log (docs/concepts.md, and the event log format beside it):
//
//   engine.Observe(beckon::Event::PageView(ts_ms, "v1", "/help/sizes", ""));
//   engine.Observe(beckon::Event::Search(ts_ms, "v1", "/search?q=x", 0));
//   engine.Observe(beckon::Event::Agents(ts_ms, 3));
//
// An Event only points at the caller's strings (std::string_view); they must
// stay alive until the call that takes the event returns. The engine copies
// nothing it does not need and never keeps the raw visitor id.
#ifndef BECKON_EVENT_H_
#define BECKON_EVENT_H_

#include <cstdint>
#include <optional>
#include <string_view>

namespace beckon {

// The event kinds of the event log, version 1.
enum class EventType : uint8_t {
  kPageView = 0,       // page = the page; referrer = the referrer URL or "".
  kSearch = 1,         // page = the search page; count = results (0: none).
  kCart = 2,           // page = the page; value = cart value after the change.
  kHelpContact = 3,    // The visitor asked for help unprompted.
  kOfferShown = 4,     // An offer was shown (by beckon's decision or another).
  kOfferAccepted = 5,  // The visitor accepted: they are in a conversation.
  kOfferDeclined = 6,  // The visitor refused ("no thanks").
  kOfferIgnored = 7,   // Closed or timed out unanswered: not a refusal.
  kPurchase = 8,       // value = order value.
  kAgents = 9,         // Site-wide: count = agents free now. No visitor.
};

// The number of event kinds.
inline constexpr int kEventTypeCount = 10;

// Help channels (help_contact and offer_* events).
enum class Channel : uint8_t {
  kUnspecified = 0,
  kChat = 1,
  kCall = 2,
  kEmail = 3,
  kForm = 4,
};

// Returns the event log name of `type` ("page_view", "offer_declined", ...).
std::string_view EventTypeName(EventType type);

// Returns the event type named `name` in the event log, or nullopt.
std::optional<EventType> ParseEventType(std::string_view name);

// Returns the event log name of `channel` ("" for kUnspecified).
std::string_view ChannelName(Channel channel);

// Returns the channel named `name` ("" is kUnspecified), or nullopt.
std::optional<Channel> ParseChannel(std::string_view name);

// One event. Which fields matter depends on `type` (see EventType); unused
// fields are ignored. Prefer the factory functions.
struct Event {
  EventType type = EventType::kPageView;
  int64_t ts_ms = 0;             // Milliseconds since the Unix epoch.
  std::string_view visitor;      // 1..128 bytes; empty only for kAgents.
  std::string_view page;         // URL or path; may be empty.
  std::string_view referrer;     // kPageView only.
  int64_t count = 0;             // kSearch: results; kAgents: free agents.
  double value = 0;              // kCart, kPurchase: money, finite, >= 0.
  Channel channel = Channel::kUnspecified;

  static Event PageView(int64_t ts_ms, std::string_view visitor,
                        std::string_view page, std::string_view referrer = {});
  static Event Search(int64_t ts_ms, std::string_view visitor,
                      std::string_view page, int64_t results);
  static Event Cart(int64_t ts_ms, std::string_view visitor,
                    std::string_view page, double cart_value);
  static Event HelpContact(int64_t ts_ms, std::string_view visitor,
                           std::string_view page, Channel channel);
  static Event OfferShown(int64_t ts_ms, std::string_view visitor,
                          std::string_view page, Channel channel);
  static Event OfferAccepted(int64_t ts_ms, std::string_view visitor,
                             std::string_view page, Channel channel);
  static Event OfferDeclined(int64_t ts_ms, std::string_view visitor,
                             std::string_view page, Channel channel);
  static Event OfferIgnored(int64_t ts_ms, std::string_view visitor,
                            std::string_view page, Channel channel);
  static Event Purchase(int64_t ts_ms, std::string_view visitor,
                        std::string_view page, double order_value);
  static Event Agents(int64_t ts_ms, int64_t free_agents);
};

// Longest visitor id accepted, in bytes.
inline constexpr size_t kMaxVisitorIdBytes = 128;

}  // namespace beckon

#endif  // BECKON_EVENT_H_

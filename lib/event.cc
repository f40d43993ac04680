#include "beckon/event.h"

#include <array>

namespace beckon {
namespace {

constexpr std::array<std::string_view, kEventTypeCount> kEventNames = {
    "page_view",   "search",         "cart",           "help_contact",
    "offer_shown", "offer_accepted", "offer_declined", "offer_ignored",
    "purchase",    "agents"};

constexpr std::array<std::string_view, 5> kChannelNames = {"", "chat", "call",
                                                           "email", "form"};

Event Make(EventType type, int64_t ts_ms, std::string_view visitor,
           std::string_view page) {
  Event e;
  e.type = type;
  e.ts_ms = ts_ms;
  e.visitor = visitor;
  e.page = page;
  return e;
}

Event MakeWithChannel(EventType type, int64_t ts_ms, std::string_view visitor,
                      std::string_view page, Channel channel) {
  Event e = Make(type, ts_ms, visitor, page);
  e.channel = channel;
  return e;
}

}  // namespace

std::string_view EventTypeName(EventType type) {
  const auto i = static_cast<size_t>(type);
  return i < kEventNames.size() ? kEventNames[i] : std::string_view("unknown");
}

std::optional<EventType> ParseEventType(std::string_view name) {
  for (size_t i = 0; i < kEventNames.size(); ++i) {
    if (kEventNames[i] == name) return static_cast<EventType>(i);
  }
  return std::nullopt;
}

std::string_view ChannelName(Channel channel) {
  const auto i = static_cast<size_t>(channel);
  return i < kChannelNames.size() ? kChannelNames[i] : std::string_view("?");
}

std::optional<Channel> ParseChannel(std::string_view name) {
  for (size_t i = 0; i < kChannelNames.size(); ++i) {
    if (kChannelNames[i] == name) return static_cast<Channel>(i);
  }
  return std::nullopt;
}

Event Event::PageView(int64_t ts_ms, std::string_view visitor,
                      std::string_view page, std::string_view referrer) {
  Event e = Make(EventType::kPageView, ts_ms, visitor, page);
  e.referrer = referrer;
  return e;
}

Event Event::Search(int64_t ts_ms, std::string_view visitor,
                    std::string_view page, int64_t results) {
  Event e = Make(EventType::kSearch, ts_ms, visitor, page);
  e.count = results;
  return e;
}

Event Event::Cart(int64_t ts_ms, std::string_view visitor,
                  std::string_view page, double cart_value) {
  Event e = Make(EventType::kCart, ts_ms, visitor, page);
  e.value = cart_value;
  return e;
}

Event Event::HelpContact(int64_t ts_ms, std::string_view visitor,
                         std::string_view page, Channel channel) {
  return MakeWithChannel(EventType::kHelpContact, ts_ms, visitor, page,
                         channel);
}

Event Event::OfferShown(int64_t ts_ms, std::string_view visitor,
                        std::string_view page, Channel channel) {
  return MakeWithChannel(EventType::kOfferShown, ts_ms, visitor, page, channel);
}

Event Event::OfferAccepted(int64_t ts_ms, std::string_view visitor,
                           std::string_view page, Channel channel) {
  return MakeWithChannel(EventType::kOfferAccepted, ts_ms, visitor, page,
                         channel);
}

Event Event::OfferDeclined(int64_t ts_ms, std::string_view visitor,
                           std::string_view page, Channel channel) {
  return MakeWithChannel(EventType::kOfferDeclined, ts_ms, visitor, page,
                         channel);
}

Event Event::OfferIgnored(int64_t ts_ms, std::string_view visitor,
                          std::string_view page, Channel channel) {
  return MakeWithChannel(EventType::kOfferIgnored, ts_ms, visitor, page,
                         channel);
}

Event Event::Purchase(int64_t ts_ms, std::string_view visitor,
                      std::string_view page, double order_value) {
  Event e = Make(EventType::kPurchase, ts_ms, visitor, page);
  e.value = order_value;
  return e;
}

Event Event::Agents(int64_t ts_ms, int64_t free_agents) {
  Event e = Make(EventType::kAgents, ts_ms, {}, {});
  e.count = free_agents;
  return e;
}

}  // namespace beckon

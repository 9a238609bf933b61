// What the configuration says about new VMs' lifetime and how fast a user may create them: [Lifetime] max_ttl_sec and
// default_ttl_sec, [Quota] create_per_minute and create_burst. Plain data plus the token bucket that enforces the
// create rate; the clock is always passed in (the Executor's nowUsec), so the arithmetic is tested without waiting.
// Administrators (whom polkit grants manage-all-vms without asking) are held to none of it. Loop thread only.
#pragma once

#include <cstdint>
#include <map>

namespace hangar {

struct LifetimeSettings
{
    std::uint64_t maxTtlSec = 0;     // an owner may set an expiry at most this far ahead; 0 = no maximum
    std::uint64_t defaultTtlSec = 0; // a guest's new VM without ttl_sec expires after this; 0 = none

    bool operator==(const LifetimeSettings&) const = default;
};

struct CreateRateSettings
{
    std::uint32_t perMinute = 0; // sustained VM creations (CreateVM, Clone) per user and minute; 0 = no limit
    std::uint32_t burst = 0;     // how many at once after a quiet spell; 0 = perMinute

    bool operator==(const CreateRateSettings&) const = default;
};

// A bucket of `capacity` tokens, refilled at `perSecond`; starts full.
class TokenBucket
{
public:
    TokenBucket(double capacity, double perSecond, std::int64_t nowUsec);

    // Takes one token and returns 0, or, when none is left, takes nothing and returns the seconds until one is.
    double take(std::int64_t nowUsec);

private:
    void refill(std::int64_t nowUsec);

    double m_capacity;
    double m_perSecond;
    double m_tokens;
    std::int64_t m_lastUsec;
};

// One bucket per user.
class CreateRateLimiter
{
public:
    void setSettings(const CreateRateSettings& settings);
    bool enabled() const { return m_settings.perMinute > 0; }
    // Error(RateLimited) saying how many whole seconds to wait, when uid has no token left; else takes one.
    void take(std::uint32_t uid, std::int64_t nowUsec);

private:
    CreateRateSettings m_settings;
    std::map<std::uint32_t, TokenBucket> m_buckets;
};

} // namespace hangar

#include "core/LifetimePolicy.h"

#include "core/Error.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace hangar {

TokenBucket::TokenBucket(double capacity, double perSecond, std::int64_t nowUsec)
    : m_capacity(capacity), m_perSecond(perSecond), m_tokens(capacity), m_lastUsec(nowUsec)
{}

void TokenBucket::refill(std::int64_t nowUsec)
{
    // A clock that went back refills nothing rather than draining the bucket.
    if (nowUsec > m_lastUsec)
        m_tokens = std::min(m_capacity, m_tokens + static_cast<double>(nowUsec - m_lastUsec) / 1e6 * m_perSecond);
    m_lastUsec = std::max(m_lastUsec, nowUsec);
}

double TokenBucket::take(std::int64_t nowUsec)
{
    refill(nowUsec);
    if (m_tokens >= 1.0) {
        m_tokens -= 1.0;
        return 0;
    }
    return (1.0 - m_tokens) / m_perSecond;
}

void CreateRateLimiter::setSettings(const CreateRateSettings& settings)
{
    if (settings == m_settings)
        return;
    m_settings = settings;
    m_buckets.clear(); // the new rate starts everyone with a full bucket
}

void CreateRateLimiter::take(std::uint32_t uid, std::int64_t nowUsec)
{
    if (!enabled())
        return;
    const std::uint32_t burst = m_settings.burst > 0 ? m_settings.burst : m_settings.perMinute;
    auto it = m_buckets.try_emplace(uid, burst, m_settings.perMinute / 60.0, nowUsec).first;
    const double wait = it->second.take(nowUsec);
    if (wait <= 0)
        return;
    const auto seconds = static_cast<std::uint64_t>(std::ceil(wait));
    throw Error(ErrorCode::RateLimited,
                fmt::format("too many VMs created: at most {} per minute (bursts of {}); try again in {} s",
                            m_settings.perMinute, burst, std::max<std::uint64_t>(seconds, 1)));
}

} // namespace hangar

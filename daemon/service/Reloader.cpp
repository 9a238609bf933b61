#include "service/Reloader.h"

#include <spdlog/spdlog.h>

namespace hangar::service {

ConfigReloader::ConfigReloader(Config running, std::function<Config()> load)
    : m_running(std::move(running)), m_load(std::move(load))
{}

ReloadResult ConfigReloader::reload()
{
    ReloadResult result;
    Config next;
    try {
        next = m_load();
    } catch (const std::exception& e) {
        spdlog::error("reload: the configuration did not load, nothing changed, the running configuration stays: {}",
                      e.what());
        return result;
    }
    result.loaded = true;
    for (const Setting& s : m_settings) {
        if (!s.differs(m_running, next))
            continue;
        const std::string from = s.describe(m_running);
        const std::string to = s.describe(next);
        const std::string change = from.empty() ? std::string() : fmt::format(" {} -> {}", from, to);
        if (!s.apply) {
            spdlog::warn("reload: {} changed{}: that needs a restart (systemctl restart hangard); keeping {}", s.key,
                         change, from.empty() ? std::string("the running value") : from);
            result.refused.push_back(s.key);
            continue;
        }
        try {
            s.apply(next);
        } catch (const std::exception& e) {
            spdlog::error("reload: {} could not be applied, keeping the running value: {}", s.key, e.what());
            result.refused.push_back(s.key);
            continue;
        }
        s.assign(m_running, next);
        spdlog::info("reload: {} now{}", s.key, change.empty() ? std::string(" applies") : change);
        result.applied.push_back(s.key);
    }
    // Every setting must be registered: one that is not would be neither applied nor refused, only ignored.
    Config kept = next;
    for (const Setting& s : m_settings)
        s.assign(kept, m_running);
    if (!(kept == m_running))
        spdlog::error("reload: a setting of the file is registered neither as live nor as restart-only; its change is "
                      "ignored (a bug in hangard)");
    spdlog::info("reload: configuration read again; {} setting(s) applied, {} refused (restart needed)",
                 result.applied.size(), result.refused.size());
    return result;
}

} // namespace hangar::service

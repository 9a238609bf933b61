// SIGHUP: read the configuration file again and apply what can change while the daemon runs. Each setting is
// registered once, as live (with the function that applies a new value) or as restart-only (a change is refused
// with a log line and the running value kept). A file that does not load keeps the whole running configuration.
// A setting added to Config is reloadable by one live() or restartOnly() line in Daemon.cpp. Loop thread only.
#pragma once

#include "service/Config.h"

#include <fmt/format.h>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

namespace hangar::service {

// What one reload did, for the log and the tests.
struct ReloadResult
{
    bool loaded = false;              // false: the file did not load, nothing changed
    std::vector<std::string> applied; // keys whose new value now applies
    std::vector<std::string> refused; // keys whose change needs a restart; the running value is kept
};

class ConfigReloader
{
public:
    // load reads the file (and applies the command-line overrides) as at start; it throws on a bad file.
    ConfigReloader(Config running, std::function<Config()> load);

    // apply makes the new value take effect (it may throw: the running value is then kept).
    template <typename T>
    void live(std::string key, T Config::*field, std::type_identity_t<std::function<void(const T&)>> apply)
    {
        m_settings.push_back(Setting{std::move(key), differs(field), describe(field), assign(field),
                                     [field, apply = std::move(apply)](const Config& next) { apply(next.*field); }});
    }
    template <typename T> void restartOnly(std::string key, T Config::*field)
    {
        m_settings.push_back(Setting{std::move(key), differs(field), describe(field), assign(field), {}});
    }

    // Re-reads the file and applies it; logs one line per applied or refused setting, or the error.
    ReloadResult reload();
    const Config& running() const { return m_running; }

private:
    struct Setting
    {
        std::string key;
        std::function<bool(const Config&, const Config&)> differs;
        std::function<std::string(const Config&)> describe; // the value for a log line; empty when not printable
        std::function<void(Config& to, const Config& from)> assign;
        std::function<void(const Config& next)> apply; // empty: restart-only
    };
    template <typename T> static std::function<bool(const Config&, const Config&)> differs(T Config::*field)
    {
        return [field](const Config& a, const Config& b) { return !(a.*field == b.*field); };
    }
    template <typename T> static std::function<void(Config&, const Config&)> assign(T Config::*field)
    {
        return [field](Config& to, const Config& from) { to.*field = from.*field; };
    }
    template <typename T> static std::function<std::string(const Config&)> describe(T Config::*field)
    {
        if constexpr (std::is_same_v<T, std::string> || std::is_arithmetic_v<T>)
            return [field](const Config& c) -> std::string { return fmt::format("'{}'", c.*field); };
        else
            return [](const Config&) -> std::string { return {}; };
    }

    Config m_running;
    std::function<Config()> m_load;
    std::vector<Setting> m_settings;
};

} // namespace hangar::service

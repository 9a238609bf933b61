// A programmable OsCatalog (core/OsCatalog.h) for core's unit tests: the OSes it knows are added by the test,
// identify() answers what the test says the next medium is, counting how often it is asked, and the database can
// start out "not loaded" (unload()) to prove that core waits for a load() on a worker; like the real one, every read
// loads first.
#pragma once

#include "core/OsCatalog.h"

#include <atomic>
#include <map>
#include <mutex>

namespace hangar::testing {

class FakeOsCatalog final : public OsCatalog
{
public:
    void add(OsInfo os)
    {
        const std::lock_guard lock(m_mutex);
        m_known[os.shortId] = std::move(os);
    }
    // What identify() finds on any medium from now on ("" = nothing).
    void identifyAs(std::string shortId)
    {
        const std::lock_guard lock(m_mutex);
        m_identified = std::move(shortId);
    }
    // Until load() runs again, the database counts as not in memory.
    void unload() { m_loaded = false; }
    int identifyCalls() const { return m_identifyCalls.load(); }
    int loadCalls() const { return m_loadCalls.load(); }

    bool loaded() const override { return m_loaded.load(); }
    void load() const override
    {
        if (!m_loaded.exchange(true))
            ++m_loadCalls;
    }
    std::optional<OsInfo> identify(int fd) const override
    {
        ++m_identifyCalls;
        if (fd < 0)
            return std::nullopt;
        std::string id;
        {
            const std::lock_guard lock(m_mutex);
            id = m_identified;
        }
        return id.empty() ? std::nullopt : lookup(id);
    }
    std::optional<OsInfo> lookup(const std::string& shortId) const override
    {
        load();
        const std::lock_guard lock(m_mutex);
        const auto it = m_known.find(shortId);
        return it == m_known.end() ? std::nullopt : std::optional<OsInfo>(it->second);
    }
    std::vector<OsInfo> all() const override
    {
        load();
        const std::lock_guard lock(m_mutex);
        std::vector<OsInfo> out;
        for (const auto& [id, os] : m_known)
            out.push_back(os);
        return out;
    }

private:
    mutable std::mutex m_mutex;
    std::map<std::string, OsInfo> m_known;
    std::string m_identified;
    mutable std::atomic<bool> m_loaded{true};
    mutable std::atomic<int> m_identifyCalls{0};
    mutable std::atomic<int> m_loadCalls{0};
};

} // namespace hangar::testing

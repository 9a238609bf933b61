// OsinfoCatalog: core's OsCatalog (core/OsCatalog.h) on libosinfo and the osinfo-db database, the same data
// virt-install and GNOME Boxes use. The database is read once, by load() on a worker (a few hundred milliseconds;
// core's OsCatalogGate calls it at start-up and never on the loop): every OS's short id, name, version and
// resources go into a map that is never changed afterwards, so lookup() is a map search from any thread. identify()
// reads the medium through /proc/self/fd/N (a new open file description: the caller's file offset is untouched) and
// asks libosinfo's media detection, one call at a time.
#pragma once

#include "core/OsCatalog.h"

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace hangar::osinfo {

class OsinfoCatalog final : public OsCatalog
{
public:
    OsinfoCatalog();
    ~OsinfoCatalog() override;
    OsinfoCatalog(const OsinfoCatalog&) = delete;
    OsinfoCatalog& operator=(const OsinfoCatalog&) = delete;
    OsinfoCatalog(OsinfoCatalog&&) = delete;
    OsinfoCatalog& operator=(OsinfoCatalog&&) = delete;

    bool loaded() const override { return m_isLoaded.load(); }
    void load() const override;
    std::optional<OsInfo> identify(int fd) const override;
    std::optional<OsInfo> lookup(const std::string& shortId) const override;
    std::vector<OsInfo> all() const override;

private:
    struct Database;
    // Loads the database on first use (thread-safe).
    const Database& database() const;

    mutable std::once_flag m_loadOnce;
    mutable std::atomic<bool> m_isLoaded{false};
    mutable std::unique_ptr<Database> m_db;
    mutable std::mutex m_identifying; // libosinfo's objects are not made for concurrent use
};

} // namespace hangar::osinfo

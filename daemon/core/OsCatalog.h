// OsCatalog: what core knows of operating systems, by libosinfo's short id ("debian11", "fedora38", "win10"), the
// ids virt-install and GNOME Boxes use. It names an image's OS (Image.OS, Image.OSName), identifies an installer ISO
// at import, lists the OSes an image may be given (Manager.ListOperatingSystems), and gives the resources an OS
// needs, from which CreateVM takes its defaults. The database lives behind this interface (osinfo/OsinfoCatalog on
// libosinfo) so core stays free of its headers; unit tests use a fake (tests/fakes/FakeOsCatalog.h).
//
// Reading the database takes a few hundred milliseconds: it must never happen on the loop. OsCatalogGate is the
// loop's side of it: it loads the catalogue on a worker (at start-up, or at the first need) and runs what needs it
// once it is in memory; workers may call the catalogue directly (they wait for the one load).
#pragma once

#include "core/Executor.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hangar {

// What one OS needs; a field the database does not give is unset.
struct OsResources
{
    std::optional<std::uint32_t> vcpus;
    std::optional<std::uint64_t> memoryMiB;
    std::optional<std::uint64_t> diskGiB;

    bool operator==(const OsResources&) const = default;
};

struct OsInfo
{
    std::string shortId; // "debian11"
    std::string name;    // the human name with its version, "Debian 11"
    std::string version; // "11"; "" when the database has none
    OsResources minimum;
    OsResources recommended;

    bool operator==(const OsInfo&) const = default;
};

class OsCatalog
{
public:
    virtual ~OsCatalog() = default;
    // Whether the database is in memory, so that lookup() and all() answer at once. Any thread.
    virtual bool loaded() const = 0;
    // Reads the database unless it is in memory already: blocks, call it on a worker. Any thread; callers that
    // come while another loads wait for that one load.
    virtual void load() const = 0;
    // The OS whose installer medium fd reads (an ISO), or nullopt when the medium is not one the database knows.
    // Reads the file (and loads the database): call it on a worker, never on the loop. Safe from any thread.
    virtual std::optional<OsInfo> identify(int fd) const = 0;
    // The OS with this short id, or nullopt. Loads the database first: on the loop only once loaded().
    virtual std::optional<OsInfo> lookup(const std::string& shortId) const = 0;
    // Every OS known, ordered by short id. Loads the database first: on the loop only once loaded().
    virtual std::vector<OsInfo> all() const = 0;
};

// A catalogue that knows no OS: every image's OS is "" and no default comes from one.
const OsCatalog& noOsCatalog();

// The loop's access to an OsCatalog (see above). Loop thread only.
class OsCatalogGate
{
public:
    OsCatalogGate(const OsCatalog& catalog, Executor& executor) : m_catalog(catalog), m_executor(executor) {}
    OsCatalogGate(const OsCatalogGate&) = delete;
    OsCatalogGate& operator=(const OsCatalogGate&) = delete;
    OsCatalogGate(OsCatalogGate&&) = delete;
    OsCatalogGate& operator=(OsCatalogGate&&) = delete;
    ~OsCatalogGate() = default;

    // Runs then on the loop once the catalogue is loaded: at once when it is, else after a worker has loaded it.
    void whenLoaded(std::function<void()> then);
    // Starts loading on a worker, so that the first request does not wait for it (the daemon's start-up).
    void preload()
    {
        whenLoaded([] {});
    }
    const OsCatalog& catalog() const { return m_catalog; }

private:
    const OsCatalog& m_catalog;
    Executor& m_executor;
    bool m_loading = false;
    std::vector<std::function<void()>> m_waiting;
};

// The OS named by shortId for option `option`; throws Error(InvalidArgument) naming the option for an id that is
// malformed or unknown to the catalogue (which it loads: on the loop only once loaded).
OsInfo requireKnownOs(const OsCatalog& catalog, std::string_view shortId, std::string_view option);
// Throws the same error as requireKnownOs when shortId cannot be an id at all; needs no catalogue.
void requireOsIdForm(std::string_view shortId, std::string_view option);

// What a VM of this OS gets when the caller does not say: the recommended figure, else the minimum.
OsResources defaultResources(const OsInfo& os);

} // namespace hangar

#include "core/OsCatalog.h"

#include "core/Error.h"
#include "core/LoopThread.h"
#include "core/Validation.h"

#include <fmt/format.h>

namespace hangar {
namespace {

class NoOsCatalog final : public OsCatalog
{
public:
    bool loaded() const override { return true; }
    void load() const override {}
    std::optional<OsInfo> identify(int /*fd*/) const override { return std::nullopt; }
    std::optional<OsInfo> lookup(const std::string& /*shortId*/) const override { return std::nullopt; }
    std::vector<OsInfo> all() const override { return {}; }
};

// libosinfo's short ids are short lower-case words with digits, dots, dashes and underscores ("rhel9.2",
// "opensuse-unknown", "win2k22"); anything else cannot name one, so it is refused without a look-up.
bool looksLikeShortId(std::string_view id)
{
    if (id.empty() || id.size() > 64)
        return false;
    for (const char c : id)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'))
            return false;
    return true;
}

Error unknownOs(std::string_view shortId, std::string_view option)
{
    return Error(ErrorCode::InvalidArgument,
                 fmt::format("option '{}' must be an OS short id known to this host's libosinfo database, such as "
                             "debian11 or fedora37 (osinfo-query os lists them; Manager.ListOperatingSystems too), "
                             "or \"\" for none; got {}",
                             option, quoteForMessage(shortId)));
}

template <typename T> std::optional<T> either(const std::optional<T>& first, const std::optional<T>& second)
{
    return first ? first : second;
}

} // namespace

const OsCatalog& noOsCatalog()
{
    static const NoOsCatalog catalog;
    return catalog;
}

void OsCatalogGate::whenLoaded(std::function<void()> then)
{
    LoopThread::assertOnLoop("OsCatalogGate::whenLoaded");
    if (m_catalog.loaded() && !m_loading) {
        then();
        return;
    }
    m_waiting.push_back(std::move(then));
    if (m_loading)
        return;
    m_loading = true;
    m_executor.submit([&catalog = m_catalog] { catalog.load(); },
                      [this] {
                          m_loading = false;
                          // Run in order of arrival; what they start may queue again (it then runs at once).
                          auto waiting = std::move(m_waiting);
                          m_waiting.clear();
                          for (auto& then : waiting)
                              then();
                      });
}

void requireOsIdForm(std::string_view shortId, std::string_view option)
{
    if (!looksLikeShortId(shortId))
        throw unknownOs(shortId, option);
}

OsInfo requireKnownOs(const OsCatalog& catalog, std::string_view shortId, std::string_view option)
{
    requireOsIdForm(shortId, option);
    std::optional<OsInfo> os = catalog.lookup(std::string(shortId));
    if (!os)
        throw unknownOs(shortId, option);
    return *os;
}

OsResources defaultResources(const OsInfo& os)
{
    return OsResources{either(os.recommended.vcpus, os.minimum.vcpus),
                       either(os.recommended.memoryMiB, os.minimum.memoryMiB),
                       either(os.recommended.diskGiB, os.minimum.diskGiB)};
}

} // namespace hangar

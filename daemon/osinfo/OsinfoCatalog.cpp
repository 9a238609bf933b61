#include "osinfo/OsinfoCatalog.h"

#include "core/Types.h"

#include <gio/gio.h>
#include <glib-object.h>
#include <spdlog/spdlog.h>
// libosinfo's headers do not declare C linkage themselves; glib's (above, included first) do.
extern "C" {
#include <osinfo/osinfo.h>
}

#include <string_view>

namespace hangar::osinfo {
namespace {

// The figures for the guests Hangar runs (x86_64), else the ones for every architecture.
OsResources resourcesOf(OsinfoResourcesList* list)
{
    OsResources out;
    if (!list)
        return out;
    OsinfoResources* chosen = nullptr;
    const gint n = osinfo_list_get_length(OSINFO_LIST(list));
    for (gint i = 0; i < n; ++i) {
        auto* r = OSINFO_RESOURCES(osinfo_list_get_nth(OSINFO_LIST(list), i));
        const gchar* arch = osinfo_resources_get_architecture(r);
        const std::string_view a = arch ? arch : "";
        // x86_64's own figures win over those for every architecture, whichever comes first.
        if (a == "x86_64" || (a == OSINFO_ARCHITECTURE_ALL && !chosen))
            chosen = r;
    }
    if (chosen) {
        if (const gint cpus = osinfo_resources_get_n_cpus(chosen); cpus > 0)
            out.vcpus = static_cast<std::uint32_t>(cpus);
        if (const gint64 ram = osinfo_resources_get_ram(chosen); ram > 0)
            out.memoryMiB = (static_cast<std::uint64_t>(ram) + kMiB - 1) / kMiB;
        if (const gint64 storage = osinfo_resources_get_storage(chosen); storage > 0)
            out.diskGiB = gibRoundedUp(static_cast<std::uint64_t>(storage));
    }
    g_object_unref(list);
    return out;
}

std::string text(const gchar* s)
{
    return s ? std::string(s) : std::string{};
}

} // namespace

struct OsinfoCatalog::Database
{
    OsinfoLoader* loader = nullptr; // owns db
    OsinfoDb* db = nullptr;
    std::map<std::string, OsInfo> byShortId;

    ~Database()
    {
        if (loader)
            g_object_unref(loader);
    }
};

OsinfoCatalog::OsinfoCatalog() = default;
OsinfoCatalog::~OsinfoCatalog() = default;

void OsinfoCatalog::load() const
{
    database();
}

const OsinfoCatalog::Database& OsinfoCatalog::database() const
{
    std::call_once(m_loadOnce, [this] {
        auto db = std::make_unique<Database>();
        db->loader = osinfo_loader_new();
        GError* error = nullptr;
        osinfo_loader_process_default_path(db->loader, &error);
        if (error) { // what loaded is still usable; without osinfo-db nothing is known and every OS is ""
            spdlog::warn("libosinfo: cannot read its database: {}", error->message);
            g_error_free(error);
        }
        db->db = osinfo_loader_get_db(db->loader);
        OsinfoOsList* oses = osinfo_db_get_os_list(db->db);
        const gint n = osinfo_list_get_length(OSINFO_LIST(oses));
        for (gint i = 0; i < n; ++i) {
            auto* os = OSINFO_OS(osinfo_list_get_nth(OSINFO_LIST(oses), i));
            OsInfo info;
            info.shortId = text(osinfo_product_get_short_id(OSINFO_PRODUCT(os)));
            if (info.shortId.empty())
                continue;
            info.name = text(osinfo_product_get_name(OSINFO_PRODUCT(os)));
            info.version = text(osinfo_product_get_version(OSINFO_PRODUCT(os)));
            info.minimum = resourcesOf(osinfo_os_get_minimum_resources(os));
            info.recommended = resourcesOf(osinfo_os_get_recommended_resources(os));
            db->byShortId.emplace(info.shortId, std::move(info));
        }
        g_object_unref(oses);
        spdlog::info("libosinfo: {} operating systems known", db->byShortId.size());
        m_db = std::move(db);
        m_isLoaded = true;
    });
    return *m_db;
}

std::optional<OsInfo> OsinfoCatalog::lookup(const std::string& shortId) const
{
    const Database& db = database();
    const auto it = db.byShortId.find(shortId);
    if (it == db.byShortId.end())
        return std::nullopt;
    return it->second;
}

std::vector<OsInfo> OsinfoCatalog::all() const
{
    const Database& db = database();
    std::vector<OsInfo> out;
    out.reserve(db.byShortId.size());
    for (const auto& [id, info] : db.byShortId)
        out.push_back(info);
    return out;
}

std::optional<OsInfo> OsinfoCatalog::identify(int fd) const
{
    const Database& db = database();
    const std::string location = "/proc/self/fd/" + std::to_string(fd);
    std::string shortId;
    {
        const std::lock_guard lock(m_identifying);
        GError* error = nullptr;
        OsinfoMedia* media = osinfo_media_create_from_location(location.c_str(), nullptr, &error);
        if (!media) { // not an ISO 9660 medium libosinfo can read: no OS, not a failure of the import
            spdlog::debug("libosinfo: cannot read {} as a medium: {}", location, error ? error->message : "?");
            if (error)
                g_error_free(error);
            return std::nullopt;
        }
        if (osinfo_db_identify_media(db.db, media))
            if (OsinfoOs* os = osinfo_media_get_os(media)) {
                shortId = text(osinfo_product_get_short_id(OSINFO_PRODUCT(os)));
                g_object_unref(os);
            }
        g_object_unref(media);
    }
    if (shortId.empty())
        return std::nullopt;
    return lookup(shortId);
}

} // namespace hangar::osinfo

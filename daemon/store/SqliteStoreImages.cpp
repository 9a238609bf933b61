// SqliteStore's images table (os and os_name added later): loading and writing image records, and telling a caller
// which unique column a clashing write ran into. Declared in store/SqliteStore.h.
#include "core/Error.h"
#include "store/SqliteStore.h"
#include "store/SqliteSupport.h"

#include <cstdint>
#include <sqlite3.h>
#include <string>
#include <string_view>
#include <vector>

namespace hangar::store {
namespace {

constexpr std::string_view kImageColumns =
    "id, name, format, size_bytes, virtual_size_bytes, owner, created_at_usec, description, volume, phase, os, os_name";

// Binds the image's columns in the order of kImageColumns, starting at parameter 1.
void bindImage(Query& query, const ImageRecord& image)
{
    query.bind(1, image.id);
    query.bind(2, image.name);
    query.bind(3, formatName(image.format));
    // Sizes above 2^63 (none are real) wrap to negative integers and come back unchanged through the casts.
    query.bind(4, static_cast<std::int64_t>(image.sizeBytes));
    query.bind(5, static_cast<std::int64_t>(image.virtualSizeBytes));
    query.bind(6, static_cast<std::int64_t>(image.owner));
    query.bind(7, image.createdAtUsec);
    query.bind(8, image.description);
    query.bind(9, image.volume);
    query.bind(10, imagePhaseName(image.phase));
    query.bind(11, image.os);
    query.bind(12, image.osName);
}

Error corruptImage(const ImageRecord& image, std::string_view column, const std::string& value)
{
    return Error(ErrorCode::BackendFailure, "store: image '" + image.name + "' (" + image.id + ") has unknown " +
                                                std::string(column) + " '" + value + "' in the database");
}

ImageRecord readImage(const Query& query)
{
    ImageRecord image;
    image.id = query.text(0);
    image.name = query.text(1);
    const std::string format = query.text(2);
    image.sizeBytes = static_cast<std::uint64_t>(query.integer(3));
    image.virtualSizeBytes = static_cast<std::uint64_t>(query.integer(4));
    image.owner = static_cast<std::uint32_t>(query.integer(5));
    image.createdAtUsec = query.integer(6);
    image.description = query.text(7);
    image.volume = query.text(8);
    const std::string phase = query.text(9);
    image.os = query.text(10);
    image.osName = query.text(11);
    const auto parsedFormat = formatFromName(format);
    if (!parsedFormat)
        throw corruptImage(image, "format", format);
    image.format = *parsedFormat;
    const auto parsedPhase = imagePhaseFromName(phase);
    if (!parsedPhase)
        throw corruptImage(image, "phase", phase);
    image.phase = *parsedPhase;
    return image;
}

} // namespace

std::vector<ImageRecord> SqliteStore::loadImages()
{
    Query query(m_db.get(), statement("SELECT " + std::string(kImageColumns) + " FROM images ORDER BY name"));
    std::vector<ImageRecord> images;
    while (query.next("cannot load images"))
        images.push_back(readImage(query));
    return images;
}

void SqliteStore::insertImage(const ImageRecord& image)
{
    int rc = SQLITE_OK;
    {
        Query query(m_db.get(), statement("INSERT INTO images (" + std::string(kImageColumns) +
                                          ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"));
        bindImage(query, image);
        rc = query.stepCode();
        if (rc != SQLITE_DONE && !isUniqueViolation(rc))
            throw backendFailure(m_db.get(), "cannot insert image '" + image.name + "'");
    }
    if (rc != SQLITE_DONE)
        throwImageClash(image, true);
}

void SqliteStore::updateImage(const ImageRecord& image)
{
    int rc = SQLITE_OK;
    {
        Query query(
            m_db.get(),
            statement(
                "UPDATE images SET name = ?2, format = ?3, size_bytes = ?4, virtual_size_bytes = ?5, "
                "owner = ?6, created_at_usec = ?7, description = ?8, volume = ?9, phase = ?10, os = ?11, os_name = ?12 "
                "WHERE id = ?1"));
        bindImage(query, image);
        rc = query.stepCode();
        if (rc == SQLITE_DONE && sqlite3_changes(m_db.get()) == 0)
            throw Error(ErrorCode::NotFound, "no image with id " + image.id);
        if (rc != SQLITE_DONE && !isUniqueViolation(rc))
            throw backendFailure(m_db.get(), "cannot update image '" + image.name + "'");
    }
    if (rc != SQLITE_DONE)
        throwImageClash(image, false);
}

void SqliteStore::deleteImage(const std::string& id)
{
    Query query(m_db.get(), statement("DELETE FROM images WHERE id = ?1"));
    query.bind(1, id);
    query.run("cannot delete image " + id);
}

void SqliteStore::throwImageClash(const ImageRecord& image, bool inserting)
{
    // Asking which rows collide is simpler and sturdier than parsing which column SQLite's message names.
    bool idClash = false;
    bool nameClash = false;
    std::string nameHolderPhase; // of the row holding the name
    bool volumeClash = false;
    {
        Query query(m_db.get(),
                    statement("SELECT id, name, volume, phase FROM images WHERE id = ?1 OR name = ?2 OR volume = ?3"));
        query.bind(1, image.id);
        query.bind(2, image.name);
        query.bind(3, image.volume);
        while (query.next("cannot look up image '" + image.name + "'")) {
            if (query.text(0) == image.id) {
                // On update that row is the one being replaced, not a clash.
                idClash = idClash || inserting;
                continue;
            }
            if (query.text(1) == image.name) {
                nameClash = true;
                nameHolderPhase = query.text(3);
            }
            volumeClash = volumeClash || query.text(2) == image.volume;
        }
    }
    if (idClash)
        throw Error(ErrorCode::AlreadyExists, "an image with id " + image.id + " already exists");
    // The image managers check names against what they hold first: a row they do not hold, left half-done, is one
    // a crash interrupted and start-up recovery is still cleaning up (core/Reconciler retries until it is gone).
    if (nameClash && nameHolderPhase != imagePhaseName(ImagePhase::Ready))
        throw Error(ErrorCode::Busy,
                    "the name '" + image.name + "' is held by an image whose " +
                        (nameHolderPhase == imagePhaseName(ImagePhase::Deleting) ? "deletion" : "import or publish") +
                        " was interrupted when hangard stopped; it is being cleaned up, try again "
                        "shortly");
    if (nameClash)
        throw Error(ErrorCode::AlreadyExists, "an image named '" + image.name + "' already exists");
    if (volumeClash)
        throw Error(ErrorCode::AlreadyExists,
                    "image '" + image.name + "': volume '" + image.volume + "' already belongs to another image");
    // Only another process changing the file in between gets here.
    throw Error(ErrorCode::AlreadyExists, "image '" + image.name + "' (" + image.id + ") clashes with another image");
}

} // namespace hangar::store

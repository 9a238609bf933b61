// SqliteStore's image rows: every field surviving a reopen, the unique ids, names and volumes, and what the database
// refuses or reports when a row holds a format or phase it does not know.
#include "SqliteStoreTestSupport.h"
#include "store/Migrations.h"

#include <algorithm>

namespace hangar::store {
namespace {

TEST(SqliteStoreTest, SqliteStore_ImageSurvivesReopenWithEveryField)
{
    TempDir dir;
    const auto path = (dir.path() / "hangar.db").string();
    ImageRecord iso = makeImage(kImageA, "debian-12-netinst");
    iso.format = ImageFormat::Iso;
    iso.volume = "img-" + kImageA + ".iso";
    iso.sizeBytes = 659'554'304;
    iso.virtualSizeBytes = 659'554'304;
    iso.description = "Grüße, quote ' and \"; DROP TABLE images; --";
    iso.os = "debian11";
    iso.osName = "Debian 11";
    ImageRecord raw = makeImage(kImageB, "alpine-raw");
    raw.format = ImageFormat::Raw;
    raw.volume = "img-" + kImageB + ".raw";
    raw.sizeBytes = 5ULL << 40; // above 2^32 and 2^31: sizes must not be truncated
    raw.virtualSizeBytes = 8ULL << 40;
    raw.owner = 4'000'000'000U;
    raw.phase = ImagePhase::Importing;
    {
        SqliteStore store(path);
        EXPECT_TRUE(store.loadImages().empty());
        store.insertImage(iso);
        store.insertImage(raw);
    }
    SqliteStore reopened(path);
    EXPECT_EQ(reopened.loadImages(), (std::vector<ImageRecord>{raw, iso})) << "images are loaded in name order";
}

TEST(SqliteStoreTest, SqliteStore_ImageWithTakenIdNameOrVolumeIsAlreadyExistsNamingIt)
{
    SqliteStore store(":memory:");
    const ImageRecord first = makeImage(kImageA, "base");
    store.insertImage(first);

    ImageRecord sameId = makeImage(kImageA, "other");
    expectError([&] { store.insertImage(sameId); }, ErrorCode::AlreadyExists,
                "an image with id " + kImageA + " already exists");
    expectError([&] { store.insertImage(makeImage(kImageB, "base")); }, ErrorCode::AlreadyExists,
                "an image named 'base' already exists");
    ImageRecord sameVolume = makeImage(kImageB, "other");
    sameVolume.volume = first.volume;
    expectError([&] { store.insertImage(sameVolume); }, ErrorCode::AlreadyExists,
                "image 'other': volume '" + first.volume + "' already belongs to another image");

    EXPECT_EQ(store.loadImages(), std::vector<ImageRecord>{first}) << "a refused insert leaves nothing behind";
}

TEST(SqliteStoreTest, SqliteStore_ImageAndVmMayShareAName)
{
    SqliteStore store(":memory:");
    store.insertVm(makeVm(kUuidA, "debian"));
    EXPECT_NO_THROW(store.insertImage(makeImage(kImageA, "debian"))) << "images and VMs are separate namespaces";
}

TEST(SqliteStoreTest, SqliteStore_UpdateImageReplacesEveryFieldButTheId)
{
    SqliteStore store(":memory:");
    store.insertImage(makeImage(kImageA, "uploading"));
    store.insertImage(makeImage(kImageB, "other"));
    ImageRecord done = makeImage(kImageA, "renamed");
    done.format = ImageFormat::Raw;
    done.sizeBytes = 1;
    done.virtualSizeBytes = 2;
    done.owner = 1001;
    done.createdAtUsec = 42;
    done.description = "changed";
    done.volume = "img-" + kImageA + ".raw";
    done.phase = ImagePhase::Deleting;
    store.updateImage(done);
    EXPECT_EQ(store.loadImages(), (std::vector<ImageRecord>{makeImage(kImageB, "other"), done}));
}

TEST(SqliteStoreTest, SqliteStore_UpdateImageKeepingItsOwnNameAndVolumeIsNoClash)
{
    SqliteStore store(":memory:");
    ImageRecord image = makeImage(kImageA, "base");
    image.phase = ImagePhase::Importing;
    store.insertImage(image);
    image.phase = ImagePhase::Ready;
    store.updateImage(image);
    EXPECT_EQ(store.loadImages(), std::vector<ImageRecord>{image});
}

TEST(SqliteStoreTest, SqliteStore_UpdateMissingImageIsNotFound)
{
    SqliteStore store(":memory:");
    expectError([&] { store.updateImage(makeImage(kImageA, "base")); }, ErrorCode::NotFound,
                "no image with id " + kImageA);
    EXPECT_TRUE(store.loadImages().empty()) << "an update never inserts";
}

TEST(SqliteStoreTest, SqliteStore_UpdateImageOntoTakenNameOrVolumeIsAlreadyExists)
{
    SqliteStore store(":memory:");
    store.insertImage(makeImage(kImageA, "base"));
    store.insertImage(makeImage(kImageB, "other"));
    expectError([&] { store.updateImage(makeImage(kImageB, "base")); }, ErrorCode::AlreadyExists,
                "an image named 'base' already exists");
    ImageRecord stealsVolume = makeImage(kImageB, "other");
    stealsVolume.volume = makeImage(kImageA, "base").volume;
    expectError([&] { store.updateImage(stealsVolume); }, ErrorCode::AlreadyExists,
                "image 'other': volume '" + stealsVolume.volume + "' already belongs to another image");
    EXPECT_EQ(store.loadImages(), (std::vector<ImageRecord>{makeImage(kImageA, "base"), makeImage(kImageB, "other")}));
}

TEST(SqliteStoreTest, SqliteStore_DeleteImageIsIdempotentAndLeavesOthers)
{
    SqliteStore store(":memory:");
    store.insertImage(makeImage(kImageA, "base"));
    store.insertImage(makeImage(kImageB, "other"));
    store.deleteImage(kImageA);
    EXPECT_NO_THROW(store.deleteImage(kImageA));
    EXPECT_NO_THROW(store.deleteImage("never-existed"));
    EXPECT_EQ(store.loadImages(), std::vector<ImageRecord>{makeImage(kImageB, "other")});
    EXPECT_NO_THROW(store.insertImage(makeImage(kImageA, "base"))) << "a deleted image's id and name are free again";
}

TEST(SqliteStoreTest, SqliteStore_DatabaseRefusesImageWithUnknownFormatOrPhase)
{
    TempDir dir;
    const auto path = dir.path() / "hangar.db";
    {
        SqliteStore store(path.string());
    }
    const RawConnection raw = openRaw(path);
    for (const std::string values : {"('x', 'x', 'vmdk', 0, 0, 0, 0, '', 'x.vmdk', 'ready')",
                                     "('x', 'x', 'raw', 0, 0, 0, 0, '', 'x.raw', 'done')"}) {
        try {
            execRaw(raw.get(),
                    "INSERT INTO images (id, name, format, size_bytes, virtual_size_bytes, owner, created_at_usec, "
                    "description, volume, phase) VALUES " +
                        values);
            ADD_FAILURE() << "the database accepted " << values;
        } catch (const std::runtime_error& e) {
            EXPECT_NE(std::string(e.what()).find("CHECK constraint failed"), std::string::npos) << e.what();
        }
    }
}

// A row that slipped past the CHECKs (an admin's hand edit with ignore_check_constraints) is caught when the file is
// opened (quick_check checks CHECK constraints); and should one reach loadImages all the same, it is named there, not
// guessed at.
TEST(SqliteStoreTest, SqliteStore_ImageWithUnknownFormatOrPhaseInDatabaseIsBackendFailureNamingIt)
{
    struct Corruption
    {
        std::string sql;
        std::string expected;
    };
    const std::vector<Corruption> corruptions{
        {"UPDATE images SET format = 'vmdk'", "image 'base' (" + kImageA + ") has unknown format 'vmdk'"},
        {"UPDATE images SET phase = 'hovering'", "image 'base' (" + kImageA + ") has unknown phase 'hovering'"},
    };
    for (const auto& corruption : corruptions) {
        SCOPED_TRACE(corruption.sql);
        TempDir dir;
        const auto path = dir.path() / "hangar.db";
        SqliteStore store(path.string());
        store.insertImage(makeImage(kImageA, "base"));
        {
            // Behind the open store's back, as an admin's sqlite3 shell would.
            const RawConnection raw = openRaw(path);
            execRaw(raw.get(), "PRAGMA ignore_check_constraints = ON; " + corruption.sql);
        }
        expectError([&] { store.loadImages(); }, ErrorCode::BackendFailure, corruption.expected);
        expectError([&] { SqliteStore reopened(path.string()); }, ErrorCode::BackendFailure,
                    "is damaged (quick_check: CHECK constraint failed in images)");
    }
}

TEST(SqliteStoreTest, SqliteStore_MigrationToImageOsGivesOlderImagesNoneAndKeepsTheOsOfNewOnes)
{
    // The schema just before the step that adds images.os: every step before it, applied by hand.
    const auto steps = migrations();
    const auto osStep = std::find_if(steps.begin(), steps.end(), [](std::string_view sql) {
        return sql.find("ADD COLUMN os_name") != std::string_view::npos;
    });
    ASSERT_NE(osStep, steps.end());
    const auto before = osStep - steps.begin();
    TempDir dir;
    const auto path = dir.path() / "hangar.db";
    {
        const RawConnection db = openRaw(path);
        for (auto it = steps.begin(); it != osStep; ++it)
            execRaw(db.get(), std::string(*it));
        execRaw(db.get(), R"sql(
            INSERT INTO images (id, name, format, size_bytes, virtual_size_bytes, owner, created_at_usec,
                description, volume, phase) VALUES ('bbbbbbbb-0000-4000-8000-000000000004', 'old-image', 'iso', 10,
                10, 1000, 7, 'old', 'img-bbbbbbbb-0000-4000-8000-000000000004.iso', 'ready');
        )sql");
        execRaw(db.get(), "PRAGMA user_version = " + std::to_string(before));
    }
    {
        SqliteStore store(path.string());
        const auto images = store.loadImages();
        ASSERT_EQ(images.size(), 1U);
        EXPECT_EQ(images[0].name, "old-image");
        EXPECT_EQ(images[0].os, "") << "an image from before OS identities has an unknown OS";
        EXPECT_EQ(images[0].osName, "");
        ImageRecord debian = makeImage(kImageA, "debian");
        debian.os = "debian11";
        debian.osName = "Debian 11";
        store.insertImage(debian);
        debian.os = "debian10";
        debian.osName = "Debian 10";
        store.updateImage(debian);
    }
    SqliteStore store(path.string());
    const auto images = store.loadImages();
    ASSERT_EQ(images.size(), 2U);
    EXPECT_EQ(images[0].name, "debian");
    EXPECT_EQ(images[0].os, "debian10");
    EXPECT_EQ(images[0].osName, "Debian 10");
    const RawConnection raw = openRaw(path);
    EXPECT_EQ(queryText(raw.get(), "PRAGMA user_version"), std::to_string(schemaVersion()));
}

} // namespace
} // namespace hangar::store

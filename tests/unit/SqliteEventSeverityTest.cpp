// The severity of audit events in SqliteStore: stored and read back, filtered by a minimum, and derived from the
// outcome for the rows a version 8 database already had (schema v9).
#include "SqliteStoreTestSupport.h"
#include "store/Migrations.h"

namespace hangar::store {
namespace {

EventRecord withSeverity(std::int64_t time, const std::string& action, Severity severity)
{
    EventRecord e = makeEvent(time, 1000, kUuidA, action);
    e.severity = severity;
    return e;
}

TEST(SqliteStoreTest, SqliteStore_EventsKeepTheirSeverityAndFilterByMinimum)
{
    SqliteStore store(":memory:");
    store.appendEvent(withSeverity(1, "i", Severity::Info));
    store.appendEvent(withSeverity(2, "w", Severity::Warning));
    store.appendEvent(withSeverity(3, "e", Severity::Error));

    const auto all = store.events({});
    ASSERT_EQ(all.size(), 3U);
    EXPECT_EQ(all[0].severity, Severity::Info);
    EXPECT_EQ(all[1].severity, Severity::Warning);
    EXPECT_EQ(all[2].severity, Severity::Error);

    EventFilter info;
    info.minSeverity = Severity::Info;
    EXPECT_EQ(actionsOf(store.events(info)), (std::vector<std::string>{"i", "w", "e"}));
    EventFilter warning;
    warning.minSeverity = Severity::Warning;
    EXPECT_EQ(actionsOf(store.events(warning)), (std::vector<std::string>{"w", "e"}));
    EventFilter error;
    error.minSeverity = Severity::Error;
    EXPECT_EQ(actionsOf(store.events(error)), (std::vector<std::string>{"e"}));
}

TEST(SqliteStoreTest, SqliteStore_MigratesVersion8EventsToSeveritiesFromTheirOutcomeWithABackup)
{
    TempDir dir;
    const fs::path path = dir.path() / "hangar.db";
    {
        // A database exactly as schema version 8 left it: every step up to v8, then three events.
        auto db = openRaw(path);
        for (std::size_t i = 0; i < 8; ++i)
            execRaw(db.get(), std::string(migrations()[i]));
        execRaw(db.get(), R"sql(
            INSERT INTO events (time_usec, uid, vm_uuid, vm_name, action, outcome, message)
                VALUES (1, 0, '', '', 'start', 'ok', 'fine'),
                       (2, 0, '', '', 'create', 'QuotaExceeded', 'refused'),
                       (3, 0, '', '', 'delete', 'BackendFailure', 'broke');
            PRAGMA user_version = 8;
        )sql");
    }
    SqliteStore store(path.string());
    EXPECT_FALSE(store.migrationBackup().empty()) << "a migration keeps the database as it was";
    EXPECT_TRUE(fs::exists(store.migrationBackup()));
    const auto events = store.events({});
    ASSERT_EQ(events.size(), 3U);
    EXPECT_EQ(events[0].severity, Severity::Info);
    EXPECT_EQ(events[1].severity, Severity::Warning);
    EXPECT_EQ(events[2].severity, Severity::Error);
    auto raw = openRaw(path);
    EXPECT_EQ(queryText(raw.get(), "PRAGMA user_version"), std::to_string(schemaVersion()));
    EXPECT_THROW(execRaw(raw.get(), "UPDATE events SET severity = 'fatal'"), std::exception)
        << "the CHECK admits only info, warning and error";
}

TEST(SeverityTest, SeverityForOutcome_OkIsInfoBackendFailureIsErrorOtherRefusalsAreWarnings)
{
    EXPECT_EQ(severityForOutcome("ok"), Severity::Info);
    EXPECT_EQ(severityForOutcome("BackendFailure"), Severity::Error);
    for (const char* refusal : {"PermissionDenied", "InvalidArgument", "QuotaExceeded", "Busy", "NotFound"})
        EXPECT_EQ(severityForOutcome(refusal), Severity::Warning) << refusal;
    EXPECT_EQ(severityFromName("warning"), Severity::Warning);
    EXPECT_FALSE(severityFromName("critical").has_value());
}

} // namespace
} // namespace hangar::store

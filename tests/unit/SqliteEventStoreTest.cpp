// SqliteStore's audit events (ids, filters, who may see which) and quotas.
#include "SqliteStoreTestSupport.h"

namespace hangar::store {
namespace {

TEST(SqliteStoreTest, SqliteStore_AppendEventAssignsIncreasingIds)
{
    SqliteStore store(":memory:");
    const EventRecord first = store.appendEvent(makeEvent(10, 1000, kUuidA, "create"));
    const EventRecord second = store.appendEvent(makeEvent(20, 1000, kUuidA, "start"));
    EXPECT_GT(first.id, 0);
    EXPECT_GT(second.id, first.id);
    EXPECT_EQ(second.action, "start");
    EXPECT_EQ(second.message, "start at 20");
}

TEST(SqliteStoreTest, SqliteStore_EventsFilterByVmUidSinceAndLimit)
{
    SqliteStore store(":memory:");
    store.appendEvent(makeEvent(100, 1000, kUuidA, "a1"));
    store.appendEvent(makeEvent(200, 1001, kUuidB, "b1"));
    store.appendEvent(makeEvent(300, 1000, kUuidA, "a2"));
    store.appendEvent(makeEvent(400, 0, "", "reconcile"));
    store.appendEvent(makeEvent(500, 1001, kUuidA, "a3"));
    store.appendEvent(makeEvent(600, 1000, kUuidA, "a4"));

    EXPECT_EQ(actionsOf(store.events({})), (std::vector<std::string>{"a1", "b1", "a2", "reconcile", "a3", "a4"}));

    EventFilter byVm;
    byVm.vmUuid = kUuidA;
    EXPECT_EQ(actionsOf(store.events(byVm)), (std::vector<std::string>{"a1", "a2", "a3", "a4"}));

    EventFilter byUid;
    byUid.uid = 1001;
    EXPECT_EQ(actionsOf(store.events(byUid)), (std::vector<std::string>{"b1", "a3"}));

    EventFilter since;
    since.sinceUsec = 400; // inclusive
    EXPECT_EQ(actionsOf(store.events(since)), (std::vector<std::string>{"reconcile", "a3", "a4"}));

    EventFilter limited;
    limited.limit = 2; // the newest two, still oldest first
    EXPECT_EQ(actionsOf(store.events(limited)), (std::vector<std::string>{"a3", "a4"}));

    EventFilter combined;
    combined.vmUuid = kUuidA;
    combined.uid = 1000;
    combined.sinceUsec = 200;
    combined.limit = 1;
    const auto events = store.events(combined);
    ASSERT_EQ(events.size(), 1U);
    EXPECT_EQ(events[0].action, "a4");
    EXPECT_EQ(events[0].timeUsec, 600);
    EXPECT_EQ(events[0].uid, 1000U);
    EXPECT_EQ(events[0].vmUuid, kUuidA);
    EXPECT_EQ(events[0].outcome, "ok");

    EventFilter none;
    none.limit = 0;
    EXPECT_TRUE(store.events(none).empty());
}

TEST(SqliteStoreTest, SqliteStore_EventsVisibleToAUserAreTheirsOrAboutTheirVms)
{
    SqliteStore store(":memory:");
    auto aboutAlice = makeEvent(1, 0, kUuidA, "start");
    aboutAlice.vmOwner = 1000;
    store.appendEvent(aboutAlice);
    auto byAlice = makeEvent(2, 1000, kUuidB, "stop");
    byAlice.vmOwner = 2000;
    store.appendEvent(byAlice);
    auto bobs = makeEvent(3, 2000, kUuidB, "pause");
    bobs.vmOwner = 2000;
    store.appendEvent(bobs);
    EventFilter filter;
    filter.visibleTo = 1000;
    EXPECT_EQ(actionsOf(store.events(filter)), (std::vector<std::string>{"start", "stop"}));
    filter.visibleTo = 2000;
    EXPECT_EQ(actionsOf(store.events(filter)), (std::vector<std::string>{"stop", "pause"}));
    EXPECT_EQ(store.events(EventFilter{}).size(), 3U);
}

TEST(SqliteStoreTest, SqliteStore_QuotaRoundTripsWithUnlimitedFieldsAndCanBeDeleted)
{
    SqliteStore store(":memory:");
    EXPECT_FALSE(store.quota(1000).has_value());
    QuotaLimits limits;
    limits.maxVms = 3;
    limits.maxMemoryMiB = 8192;
    store.setQuota(1000, limits);
    ASSERT_TRUE(store.quota(1000).has_value());
    EXPECT_EQ(*store.quota(1000), limits);
    EXPECT_FALSE(store.quota(1000)->maxRunning.has_value()) << "unset = unlimited";
    limits.maxVms = 0;
    store.setQuota(1000, limits);
    EXPECT_EQ(store.quota(1000)->maxVms, std::optional<std::uint32_t>(0)) << "zero is a limit, not unlimited";
    store.deleteQuota(1000);
    EXPECT_FALSE(store.quota(1000).has_value());
    store.deleteQuota(1000);
}

} // namespace
} // namespace hangar::store

// The Inventory's bookkeeping: counts kept up to date through every add, state change and removal, and the owner
// index quota usage relies on.
#include "core/Inventory.h"

#include "fakes/CoreFakes.h"

#include <algorithm>
#include <gtest/gtest.h>

namespace hangar {
namespace {

Vm vm(const std::string& uuid, const std::string& name, std::uint32_t owner, VmState state)
{
    Vm v;
    v.record.uuid = uuid;
    v.record.name = name;
    v.record.owner = owner;
    v.state = state;
    return v;
}

TEST(InventoryTest, CountsFollowAddsStateChangesAndRemovals)
{
    Inventory inventory;
    testing::RecordingObserver observer;
    inventory.setObserver(&observer);
    inventory.add(vm("u1", "a", 1, VmState::Running)); // adopted already running
    inventory.add(vm("u2", "b", 1, VmState::Stopped));
    EXPECT_EQ(inventory.counts(), (InventoryCounts{2, 1}));
    inventory.setState(*inventory.find("u2"), VmState::Running);
    EXPECT_EQ(inventory.counts(), (InventoryCounts{2, 2}));
    inventory.setState(*inventory.find("u1"), VmState::Paused);
    EXPECT_EQ(inventory.counts(), (InventoryCounts{2, 1}));
    inventory.remove("u2");
    EXPECT_EQ(inventory.counts(), (InventoryCounts{1, 0}));
    inventory.remove("u1");
    EXPECT_EQ(inventory.counts(), (InventoryCounts{0, 0}));
    EXPECT_EQ(observer.counts.back(), (InventoryCounts{0, 0})) << "observers hear the final counts";
}

TEST(InventoryTest, OwnedByListsOnlyThatOwnersVmsAndForgetsRemovedOnes)
{
    Inventory inventory;
    inventory.add(vm("u1", "a", 1, VmState::Stopped));
    inventory.add(vm("u2", "b", 2, VmState::Stopped));
    inventory.add(vm("u3", "c", 1, VmState::Stopped));
    std::vector<std::string> names;
    for (const Vm* v : inventory.ownedBy(1))
        names.push_back(v->record.name);
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"a", "c"}));
    inventory.remove("u1");
    inventory.remove("u3");
    EXPECT_TRUE(inventory.ownedBy(1).empty());
    EXPECT_EQ(inventory.ownedBy(2).size(), 1U);
    EXPECT_TRUE(inventory.ownedBy(99).empty());
}

} // namespace
} // namespace hangar

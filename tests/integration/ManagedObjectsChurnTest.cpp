// GetManagedObjects while VMs come and go (issue 17, defect 3): the call that gives a frontend the whole inventory
// must not fail because one VM is being deleted at that moment. A deleted VM's object stays registered until every
// call on it is answered; reading its properties then must still work.
#include "DaemonFixture.h"

#include <atomic>
#include <gtest/gtest.h>
#include <string>
#include <thread>

namespace hangar::it {
namespace {

constexpr const char* kBusName = "org.hangar.Hangar1";
constexpr const char* kManagerPath = "/org/hangar/Hangar1";
constexpr const char* kManagerInterface = "org.hangar.Hangar1.Manager";
constexpr const char* kVmInterface = "org.hangar.Hangar1.VM";
constexpr int kMaxCycles = 400;    // create+delete cycles at most
constexpr int kMaxListings = 4000; // GetManagedObjects calls at most
constexpr int kMinCycles = 50;     // fewer would not prove the listings overlapped the churn

class ManagedObjectsChurnTest : public ConnectedDaemonFixture
{
};

TEST_F(ManagedObjectsChurnTest, GetManagedObjects_NeverFailsWhileVmsAreCreatedAndDeleted)
{
    std::atomic<bool> listingDone{false};
    std::atomic<int> cycles{0};
    std::string churnError;
    // The churning client has its own connection, as another user's hangarctl would.
    std::thread churner([&] {
        try {
            auto connection = sdbus::createSessionBusConnectionWithAddress(bus->address());
            auto managerProxy = sdbus::createProxy(*connection, kBusName, kManagerPath);
            for (int i = 0; i < kMaxCycles && !listingDone; ++i) {
                sdbus::ObjectPath path;
                managerProxy->callMethod("CreateVM")
                    .onInterface(kManagerInterface)
                    .withArguments("churn-" + std::to_string(i), Dict{})
                    .storeResultsTo(path);
                auto vmProxy = sdbus::createProxy(*connection, kBusName, path);
                vmProxy->callMethod("Delete").onInterface(kVmInterface).withArguments(Dict{});
                ++cycles;
            }
        } catch (const sdbus::Error& e) {
            churnError = e.getName() + ": " + e.getMessage();
        }
    });

    int listings = 0, failures = 0, sawChurnedVm = 0;
    std::string firstFailure;
    // Lists for as long as the churn runs (at least kMinCycles of it), bounded by kMaxListings.
    while (listings < kMaxListings && (cycles < kMinCycles || listings < 200) && churnError.empty() &&
           cycles < kMaxCycles) {
        ++listings;
        try {
            const auto objects = manager->GetManagedObjects();
            for (const auto& [path, interfaces] : objects)
                sawChurnedVm += interfaces.count(kVmInterface) != 0 ? 1 : 0;
        } catch (const sdbus::Error& e) {
            if (failures++ == 0)
                firstFailure = e.getName() + ": " + e.getMessage();
        }
    }
    listingDone = true;
    churner.join();

    EXPECT_EQ(churnError, "");
    EXPECT_GE(cycles.load(), kMinCycles) << "the listings did not overlap enough create+delete cycles";
    EXPECT_GT(sawChurnedVm, 0) << "no listing ever saw a churned VM: the two clients did not overlap";
    EXPECT_EQ(failures, 0) << failures << " of " << listings << " GetManagedObjects calls failed during "
                           << cycles.load() << " create+delete cycles; the first: " << firstFailure;
    // And no deleted VM lingers: every retired object goes once its calls are answered.
    EXPECT_TRUE(waitFor([&] {
        for (const auto& [path, interfaces] : manager->GetManagedObjects())
            if (interfaces.count(kVmInterface) != 0)
                return false;
        return true;
    }));
    std::cerr << "[ churn    ] " << listings << " listings, " << failures << " failed, " << cycles.load()
              << " create+delete cycles, " << sawChurnedVm << " VM objects seen\n";
}

} // namespace
} // namespace hangar::it

// Start-up recovery whose clean-up fails, as after hangard was killed during a publish: libvirtd goes on copying
// the volume and refuses to delete it ("still being allocated") until it is done. The Reconciler tries again on a
// timer with back-off until the clean-up succeeds; meanwhile the name the interrupted operation holds is Busy, not
// AlreadyExists for one call and NotFound for the next.
#include "CoreFixture.h"
#include "ErrorTestSupport.h"
#include "core/Reconciler.h"

#include <chrono>

namespace hangar::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const Error kStillCopying(ErrorCode::BackendFailure,
                          "cannot delete volume img-x.qcow2 from storage pool fake-pool: Requested operation is not "
                          "valid: volume 'img-x.qcow2' is still being allocated.");

class RecoveryRetryTest : public CoreFixture<>
{
protected:
    ReconcileReport startup() { return runStartup(reconciler, executor); }

    // What a kill during a publish leaves: the row in phase importing and the volume libvirtd is still filling.
    ImageRecord interruptedPublish(const std::string& name)
    {
        ImageRecord row;
        row.id = "11111111-1111-4111-8111-111111111111";
        row.name = name;
        row.format = ImageFormat::Qcow2;
        row.owner = kAlice;
        row.volume = imageVolumeName(row.id, ImageFormat::Qcow2);
        row.phase = ImagePhase::Importing;
        store.insertImage(row);
        storage.addOutside(VolumeInfo{row.volume, ImageFormat::Qcow2, kGiB, 300ULL << 20U, ""});
        return row;
    }

    Capture<std::uint64_t> import(const std::string& name)
    {
        Capture<std::uint64_t> r;
        images.importImage(caller(kAlice), ImportRequest{name, tempFile(std::string(8192, 'x')), std::nullopt, ""},
                           r.done());
        executor.drain();
        return r;
    }

    std::size_t eventsSaying(const std::string& action, bool success)
    {
        std::size_t n = 0;
        for (const auto& e : allEvents())
            n += e.action == action && (e.outcome == "ok") == success ? 1 : 0;
        return n;
    }

    Reconciler reconciler{inventory, store, hypervisor, storage, images, executor, audit};
};

TEST_F(RecoveryRetryTest, InterruptedPublish_VolumeStillCopying_IsRemovedByRetriesWithBackOff)
{
    const ImageRecord row = interruptedPublish("pk");
    storage.failNext("remove", kStillCopying, 3);

    const auto report = startup();
    EXPECT_EQ(report.imagesRecovered, 0U);
    EXPECT_EQ(report.retrying, 1U);
    EXPECT_EQ(reconciler.leftovers(), 1U);
    EXPECT_EQ(storage.calls("remove"), 1);
    EXPECT_EQ(executor.timers(), 1U) << "a retry is armed";

    // 1 s, then 2 s, then 4 s: nothing is tried before its time.
    executor.advance(milliseconds(999));
    EXPECT_EQ(executor.pending(), 0U);
    executor.advance(milliseconds(1));
    executor.drain();
    EXPECT_EQ(storage.calls("remove"), 2);
    executor.advance(milliseconds(1999));
    EXPECT_EQ(executor.pending(), 0U);
    executor.advance(milliseconds(1));
    executor.drain();
    EXPECT_EQ(storage.calls("remove"), 3);
    EXPECT_TRUE(storage.has(row.volume));
    EXPECT_EQ(store.loadImages().size(), 1U);

    executor.advance(seconds(4)); // the copy has finished: the fourth attempt succeeds
    executor.drain();
    EXPECT_EQ(storage.calls("remove"), 4);
    EXPECT_FALSE(storage.has(row.volume));
    EXPECT_TRUE(store.loadImages().empty());
    EXPECT_EQ(reconciler.leftovers(), 0U);
    EXPECT_EQ(executor.timers(), 0U) << "nothing left to retry";
    EXPECT_EQ(eventsSaying("recover", false), 1U) << "the first failure is recorded, the retries are not";
    EXPECT_EQ(eventsSaying("recover", true), 1U);

    EXPECT_TRUE(import("pk").ok()) << "the name is free again";
}

TEST_F(RecoveryRetryTest, NameHeldByACleanUpInProgress_IsBusyForImportAndNotFoundForShow)
{
    interruptedPublish("pk");
    storage.failNext("remove", kStillCopying, 1000);
    startup();

    const auto r = import("pk");
    ASSERT_TRUE(r.outcome.has_value());
    EXPECT_EQ(r.code(), ErrorCode::Busy) << r.message();
    EXPECT_NE(r.message().find("interrupted"), std::string::npos) << r.message();
    EXPECT_NE(r.message().find("cleaned up"), std::string::npos) << r.message();
    EXPECT_EQ(images.findByName("pk"), nullptr) << "an image that never was ready is not shown";
    EXPECT_EQ(codeOf([&] { images.getByName("pk"); }), ErrorCode::NotFound);
}

TEST_F(RecoveryRetryTest, RetryDelayStopsGrowingAtTheMaximum)
{
    interruptedPublish("pk");
    storage.failNext("remove", kStillCopying, 1000);
    startup();
    for (int i = 0; i < 12; ++i) { // 1 + 2 + ... + 60: well past the cap
        executor.advance(Reconciler::kMaxRetryDelay);
        executor.drain();
    }
    const int before = storage.calls("remove");
    executor.advance(Reconciler::kMaxRetryDelay);
    executor.drain();
    EXPECT_EQ(storage.calls("remove"), before + 1) << "one attempt per maximum delay, never fewer";
    EXPECT_EQ(eventsSaying("recover", false), 1U);
}

TEST_F(RecoveryRetryTest, InterruptedCreateWhoseDiskCannotBeRemovedYet_IsRetriedAndItsNameIsBusy)
{
    VmRecord row;
    row.uuid = "22222222-2222-4222-8222-222222222222";
    row.name = "half-made";
    row.owner = kAlice;
    row.createdAtUsec = 1;
    row.host = "local";
    row.phase = VmPhase::Creating;
    row.diskVolume = "vm-" + row.uuid + ".qcow2";
    store.insertVm(row);
    storage.addOutside(VolumeInfo{row.diskVolume, ImageFormat::Qcow2, kGiB, 0, ""});
    storage.failNext("remove", kStillCopying, 1);

    const auto report = startup();
    EXPECT_EQ(report.rolledBack, 0U);
    EXPECT_EQ(report.retrying, 1U);
    Capture<std::string> busy;
    manager.create(caller(kAlice), "half-made", {}, busy.done());
    executor.drain();
    ASSERT_TRUE(busy.outcome.has_value());
    EXPECT_EQ(busy.code(), ErrorCode::Busy) << busy.message();

    executor.advance(Reconciler::kFirstRetryDelay);
    executor.drain();
    EXPECT_FALSE(storage.has(row.diskVolume));
    EXPECT_TRUE(store.loadVms().empty());
    EXPECT_EQ(reconciler.leftovers(), 0U);
    EXPECT_FALSE(create("half-made").empty()) << "the name is free again";
}

} // namespace
} // namespace hangar::testing

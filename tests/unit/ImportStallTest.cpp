// An import whose source stops answering (issue 17, defect 4): the probe or the copy is watched (core/CopyWatch),
// and when the file gives no data for the stall timeout, or a cancel is not seen because the copy is stuck in a
// read, the work is abandoned and the caller and the job get their answer; nothing of the image stays.
#include "ImageFixture.h"

#include <thread>

namespace hangar::testing {
namespace {

using namespace std::chrono_literals;

class ImportStallTest : public ImageManagerTest
{
protected:
    // Moves the driven clock a second at a time, as the loop's timers would see it pass.
    void wait(std::chrono::seconds total)
    {
        for (auto passed = 0s; passed < total; passed += 1s)
            executor.advance(1s);
    }

    void expectNothingLeft()
    {
        EXPECT_TRUE(images.all().empty());
        EXPECT_TRUE(store.loadImages().empty());
        EXPECT_TRUE(storage.volumes().empty());
    }
};

TEST_F(ImportStallTest, AProbeThatNeverReturnsIsAnsweredAfterTheStallTimeout)
{
    images.setStallTimeout(20s);
    auto r = startImport("debian", makeFile("qcow2"));
    // The probe is queued and never runs: a read that does not return.
    wait(19s);
    EXPECT_FALSE(r.outcome.has_value()) << "given up before the timeout";
    wait(2s);
    ASSERT_TRUE(r.outcome.has_value()) << "no answer after the stall timeout";
    EXPECT_EQ(r.code(), ErrorCode::BackendFailure);
    EXPECT_NE(r.message().find("reading the file stopped: no data from the file for 20 s"), std::string::npos)
        << r.message();
    EXPECT_EQ(executor.abandonedCount, 1U);
    EXPECT_TRUE(jobLog.completed.empty()) << "no job was started";
    executor.drain(); // the abandoned probe: neither it nor its completion runs any more
    expectNothingLeft();
}

TEST_F(ImportStallTest, ACopyWithoutProgressFailsItsJobAndLeavesNothing)
{
    images.setStallTimeout(10s);
    storage.hold("upload");
    auto r = startImport("debian", makeFile("qcow2"));
    executor.drainOne(); // the probe
    ASSERT_TRUE(r.ok()) << r.message();
    std::thread worker(executor.takeWork()); // the copy, stuck in a read
    ASSERT_TRUE(storage.waitHeld("upload", 1, 5s));

    wait(12s);
    ASSERT_EQ(jobLog.completed.size(), 1U) << "the job did not end";
    EXPECT_FALSE(jobLog.completed[0].first);
    EXPECT_NE(jobLog.completed[0].second.find("copying the file stopped: no data from the file for 10 s"),
              std::string::npos)
        << jobLog.completed[0].second;
    EXPECT_EQ(executor.abandonedCount, 1U);
    EXPECT_TRUE(images.all().empty()) << "the image is gone while the read is still stuck";
    EXPECT_TRUE(store.loadImages().empty());

    // The read returns at last: the copy sees it was given up on and discards its volume.
    storage.release("upload");
    worker.join();
    executor.drain();
    EXPECT_EQ(jobLog.completed.size(), 1U) << "the job ends once";
    expectNothingLeft();
}

TEST_F(ImportStallTest, ACancelTheStuckCopyCannotSeeEndsTheJobWithinASecondOrTwo)
{
    storage.hold("upload");
    auto r = startImport("debian", makeFile("qcow2"));
    executor.drainOne();
    ASSERT_TRUE(r.ok()) << r.message();
    std::thread worker(executor.takeWork());
    ASSERT_TRUE(storage.waitHeld("upload", 1, 5s));
    Capture<std::monostate> cancel;
    jobs.cancel(caller(kAlice), r.outcome->value(), cancel.done());
    ASSERT_TRUE(cancel.ok()) << cancel.message();

    wait(2s);
    ASSERT_EQ(jobLog.completed.size(), 1U) << "a cancelled job must end although its copy is stuck";
    EXPECT_FALSE(jobLog.completed[0].first);
    EXPECT_NE(jobLog.completed[0].second.find("cancelled; copying the file did not come back to see it"),
              std::string::npos)
        << jobLog.completed[0].second;
    EXPECT_TRUE(images.all().empty());

    storage.release("upload");
    worker.join();
    executor.drain();
    EXPECT_EQ(jobLog.completed.size(), 1U);
    expectNothingLeft();
}

TEST_F(ImportStallTest, AnImportThatKeepsMovingIsNeverGivenUp)
{
    images.setStallTimeout(5s);
    auto r = startImport("debian", makeFile("qcow2"));
    executor.drainOne();
    ASSERT_TRUE(r.ok());
    const auto& shared = jobs.find(r.outcome->value())->shared;
    for (int i = 1; i <= 20; ++i) { // 20 s of a slow copy, moving every second
        shared->bytesDone = static_cast<std::uint64_t>(i) * 4096;
        executor.advance(1s);
    }
    EXPECT_TRUE(jobLog.completed.empty()) << (jobLog.completed.empty() ? "" : jobLog.completed[0].second);
    EXPECT_EQ(executor.abandonedCount, 0U);
    executor.drain();
    ASSERT_EQ(jobLog.completed.size(), 1U);
    EXPECT_TRUE(jobLog.completed[0].first) << jobLog.completed[0].second;
}

} // namespace
} // namespace hangar::testing

// hangarctl's presentation helpers, without a bus: the job progress display (bar, log line, ETA), how a job's end
// is judged when its Completed signal was missed, and the shared formatting of times and fields.
#include "JobProgress.h"
#include "Output.h"
#include "common/Format.h"

#include <cmath>
#include <cstdlib>
#include <ctime>
#include <gtest/gtest.h>
#include <sstream>

using namespace hangar::client;

namespace {

constexpr std::uint64_t kSec = 1000000;
constexpr std::uint64_t kMiB = 1024 * 1024;
constexpr std::uint64_t kNow = 1795347888 * kSec;

JobStatus copying(double progress, std::uint64_t bytes, std::uint64_t rate)
{
    JobStatus status;
    status.progress = progress;
    status.progressValid = true;
    status.bytes = bytes;
    status.rate = rate;
    status.startTimeUsec = kNow - 10 * kSec;
    return status;
}

bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

class ClientFormatTest : public ::testing::Test
{
protected:
    void SetUp() override
    {
        setenv("TZ", "UTC", 1);
        tzset();
    }
};

} // namespace

TEST_F(ClientFormatTest, FormatRate_IsADashWhenUnknownAndBinaryUnitsPerSecondOtherwise)
{
    EXPECT_EQ(formatRate(0), "-");
    EXPECT_EQ(formatRate(512), "512 B/s");
    EXPECT_EQ(formatRate(85 * kMiB + kMiB / 2), "85.5 MiB/s");
}

TEST_F(ClientFormatTest, SecondsLeft_PrefersTheDaemonsExpectedEndTime)
{
    JobStatus status = copying(0.5, 100 * kMiB, kMiB); // 50 s by the rate
    status.expectedEndUsec = kNow + 7 * kSec + 1;
    EXPECT_EQ(secondsLeft(status, kNow), 8u) << "rounded up";
    status.expectedEndUsec = kNow - kSec;
    EXPECT_EQ(secondsLeft(status, kNow), 0u) << "overdue, not negative";
}

TEST_F(ClientFormatTest, SecondsLeft_FromTheBytesLeftAndTheRateWhenNoEndTimeIsKnown)
{
    EXPECT_EQ(secondsLeft(copying(0.25, 100 * kMiB, 10 * kMiB), kNow), 8u); // 75 MiB at 10 MiB/s
    EXPECT_EQ(secondsLeft(copying(1.0, 100 * kMiB, 10 * kMiB), kNow), 0u);
}

TEST_F(ClientFormatTest, SecondsLeft_IsUnknownWithoutARateOrValidProgress)
{
    EXPECT_FALSE(secondsLeft(copying(0.5, 100 * kMiB, 0), kNow));
    EXPECT_FALSE(secondsLeft(copying(0.5, 0, kMiB), kNow));
    JobStatus invalid = copying(0.5, 100 * kMiB, kMiB);
    invalid.progressValid = false;
    EXPECT_FALSE(secondsLeft(invalid, kNow));
}

TEST_F(ClientFormatTest, SecondsElapsed_CountsFromStartTimeOrElseFromWhenHangarctlStarted)
{
    JobStatus status;
    EXPECT_EQ(secondsElapsed(status, kNow, kNow - 3 * kSec), 3u);
    status.startTimeUsec = kNow - 65 * kSec;
    EXPECT_EQ(secondsElapsed(status, kNow, kNow - 3 * kSec), 65u);
    status.startTimeUsec = kNow + kSec; // another clock ahead of ours
    EXPECT_EQ(secondsElapsed(status, kNow, kNow), 0u);
}

TEST_F(ClientFormatTest, ProgressBarLine_ShowsPercentBytesRateAndEtaWithinTheWidth)
{
    const std::string line =
        progressBarLine("Importing web-base", copying(0.45, 100 * kMiB, 10 * kMiB), kNow, kNow, 100, 0);
    EXPECT_LE(line.size(), 100u) << line;
    EXPECT_EQ(line.rfind("Importing web-base [", 0), 0u) << line;
    EXPECT_TRUE(contains(line, "=>")) << line;
    EXPECT_TRUE(contains(line, " 45%")) << line;
    EXPECT_TRUE(contains(line, "45.0 MiB/100.0 MiB")) << line;
    EXPECT_TRUE(contains(line, "10.0 MiB/s")) << line;
    EXPECT_TRUE(contains(line, "ETA 6s")) << line;
}

TEST_F(ClientFormatTest, ProgressBarLine_KeepsTheBarTheSameSizeWhileTheFiguresChange)
{
    // From nothing known (no rate, no ETA) to nearly done at a typical rate.
    const std::string start = progressBarLine("Importing x", copying(0.0, 100 * kMiB, 0), kNow, kNow, 100, 0);
    const std::string later = progressBarLine("Importing x", copying(0.999, 100 * kMiB, 85 * kMiB), kNow, kNow, 100, 0);
    EXPECT_EQ(start.find(']'), later.find(']')) << start << "\n" << later;
}

TEST_F(ClientFormatTest, ProgressBarLine_FillsTheWholeBarOnlyAtCompletion)
{
    const std::string almost = progressBarLine("Importing x", copying(0.995, kMiB, kMiB), kNow, kNow, 100, 0);
    EXPECT_TRUE(contains(almost, ">]")) << almost;
    EXPECT_TRUE(contains(almost, " 99%")) << almost;
    const std::string done = progressBarLine("Importing x", copying(1.0, kMiB, kMiB), kNow, kNow, 100, 0);
    EXPECT_TRUE(contains(done, "=]")) << done;
    EXPECT_TRUE(contains(done, "100%")) << done;
}

TEST_F(ClientFormatTest, ProgressBarLine_DropsTheBarWhenNarrowAndCutsTheLineAsALastResort)
{
    const JobStatus status = copying(0.5, 100 * kMiB, 10 * kMiB);
    const std::string narrow = progressBarLine("Importing web-base", status, kNow, kNow, 60, 0);
    EXPECT_EQ(narrow.find('['), std::string::npos) << narrow;
    EXPECT_TRUE(contains(narrow, " 50%")) << narrow;
    EXPECT_EQ(progressBarLine("Importing web-base", status, kNow, kNow, 12, 0), "Importing we");
}

TEST_F(ClientFormatTest, ProgressBarLine_BouncesABlockAndShowsElapsedTimeWithoutValidProgress)
{
    JobStatus status;
    status.startTimeUsec = kNow - 63 * kSec;
    status.bytes = 3ull << 30;
    const std::string first = progressBarLine("Publishing base", status, kNow, kNow, 80, 0);
    const std::string second = progressBarLine("Publishing base", status, kNow, kNow, 80, 3);
    EXPECT_TRUE(contains(first, "[<=>")) << first;
    EXPECT_NE(first.find("<=>"), second.find("<=>")) << "the block moves with the tick";
    EXPECT_TRUE(contains(first, "elapsed 1m 3s")) << first;
    EXPECT_FALSE(contains(first, "%")) << "no percentage without valid progress: " << first;
    EXPECT_FALSE(contains(first, "ETA")) << first;

    // However long it runs, the block stays inside the bar.
    for (unsigned tick = 0; tick < 200; ++tick) {
        const std::string line = progressBarLine("Publishing base", status, kNow, kNow, 80, tick);
        ASSERT_LT(line.find("<=>"), line.find(']')) << line;
        ASSERT_GT(line.find("<=>"), line.find('[')) << line;
    }
}

TEST_F(ClientFormatTest, ProgressLogLine_IsOneSelfContainedLine)
{
    EXPECT_EQ(progressLogLine("Importing web-base", copying(0.45, 100 * kMiB, 10 * kMiB), kNow, kNow),
              "Importing web-base: 45% (45.0 MiB of 100.0 MiB, 10.0 MiB/s, ETA 6s)");
    EXPECT_EQ(progressLogLine("Importing x", copying(0.0, 0, 0), kNow, kNow), "Importing x: 0%");

    JobStatus invalid;
    invalid.startTimeUsec = kNow - 63 * kSec;
    EXPECT_EQ(progressLogLine("Publishing base", invalid, kNow, kNow), "Publishing base: 1m 3s elapsed");
    invalid.rate = 2 * kMiB;
    EXPECT_EQ(progressLogLine("Publishing base", invalid, kNow, kNow), "Publishing base: 1m 3s elapsed (2.0 MiB/s)");
}

TEST_F(ClientFormatTest, ApplyJobProperties_TakesTheJobsPropertiesAndIgnoresWrongTypes)
{
    JobStatus status;
    applyJobProperties(status, {{"Progress", sdbus::Variant(0.25)},
                                {"ProgressValid", sdbus::Variant(true)},
                                {"Cancelable", sdbus::Variant(true)},
                                {"Bytes", sdbus::Variant(std::uint64_t{4096})},
                                {"Rate", sdbus::Variant(std::uint64_t{512})},
                                {"StartTime", sdbus::Variant(std::uint64_t{7})},
                                {"ExpectedEndTime", sdbus::Variant(std::uint64_t{9})},
                                {"Operation", sdbus::Variant(std::string("import-image"))}});
    EXPECT_DOUBLE_EQ(status.progress, 0.25);
    EXPECT_TRUE(status.progressValid);
    EXPECT_TRUE(status.cancelable);
    EXPECT_EQ(status.bytes, 4096u);
    EXPECT_EQ(status.rate, 512u);
    EXPECT_EQ(status.startTimeUsec, 7u);
    EXPECT_EQ(status.expectedEndUsec, 9u);

    // PropertiesChanged carries only what changed; a value of the wrong type is not trusted.
    applyJobProperties(status, {{"Rate", sdbus::Variant(std::uint32_t{1})}, {"Progress", sdbus::Variant(0.5)}});
    EXPECT_EQ(status.rate, 512u);
    EXPECT_DOUBLE_EQ(status.progress, 0.5);
    EXPECT_EQ(status.bytes, 4096u);
}

TEST_F(ClientFormatTest, ApplyJobProperties_ClampsProgressToZeroToOne)
{
    JobStatus status;
    applyJobProperties(status, {{"Progress", sdbus::Variant(1.5)}});
    EXPECT_DOUBLE_EQ(status.progress, 1.0);
    applyJobProperties(status, {{"Progress", sdbus::Variant(-0.5)}});
    EXPECT_DOUBLE_EQ(status.progress, 0.0);
    applyJobProperties(status, {{"Progress", sdbus::Variant(std::nan(""))}});
    EXPECT_DOUBLE_EQ(status.progress, 0.0);
}

TEST_F(ClientFormatTest, OutcomeFromImage_ReadyMeansSuccessAndAGoneImageFailure)
{
    EXPECT_EQ(outcomeFromImage(std::string("ready"), false).end, JobEnd::Succeeded);
    EXPECT_EQ(outcomeFromImage(std::string("ready"), true).end, JobEnd::Succeeded) << "finished before the cancel";

    const JobOutcome gone = outcomeFromImage(std::nullopt, false);
    EXPECT_EQ(gone.end, JobEnd::Failed);
    EXPECT_TRUE(contains(gone.message, "image is gone")) << gone.message;
    EXPECT_EQ(outcomeFromImage(std::nullopt, true).end, JobEnd::Cancelled);

    const JobOutcome stuck = outcomeFromImage(std::string("importing"), false);
    EXPECT_EQ(stuck.end, JobEnd::Failed);
    EXPECT_TRUE(contains(stuck.message, "'importing'")) << stuck.message;
}

TEST_F(ClientFormatTest, OutcomeFromCompleted_KeepsTheDaemonsMessage)
{
    EXPECT_EQ(outcomeFromCompleted(true, "", false).end, JobEnd::Succeeded);
    const JobOutcome failed = outcomeFromCompleted(false, "qcow2 has a backing file", false);
    EXPECT_EQ(failed.end, JobEnd::Failed);
    EXPECT_EQ(failed.message, "qcow2 has a backing file");
    EXPECT_FALSE(outcomeFromCompleted(false, "", false).message.empty());
    EXPECT_EQ(outcomeFromCompleted(false, "cancelled", true).end, JobEnd::Cancelled);
    EXPECT_EQ(outcomeFromCompleted(true, "", true).end, JobEnd::Succeeded) << "finished before the cancel";
}

TEST_F(ClientFormatTest, FormatTimeAgo_ShowsTheLocalTimeAndHowLongAgo)
{
    EXPECT_EQ(formatTimeAgo(kNow - (2 * 3600 + 5 * 60) * kSec, kNow), "2026-11-22 09:39:48 (2h 5m ago)");
    EXPECT_EQ(formatTimeAgo(0, kNow), "-");
    EXPECT_EQ(formatTimeAgo(kNow + kSec, kNow), "2026-11-22 11:44:49") << "no 'ago' for the future";
}

TEST_F(ClientFormatTest, PrintFields_AlignsTheValuesAndSanitizesThem)
{
    std::ostringstream out;
    printFields(out, {{"Name", "base"}, {"Virtual size", "2.0 GiB"}, {"Description", "evil\x1b[2J"}});
    EXPECT_EQ(out.str(), "Name:         base\n"
                         "Virtual size: 2.0 GiB\n"
                         "Description:  evil?[2J\n");
}

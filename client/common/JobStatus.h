// The state of an org.hangar.Hangar1.Job (image import, publish) as a client follows it, kept free of any bus
// traffic and any display: the job's figures as last reported (JobStatus, filled from GetAll and PropertiesChanged),
// the time left and spent, and how the job ended, from its Completed signal or, when that was missed, from the image
// it was filling. hangarctl draws it as a progress bar (cli/JobProgress.h); a GUI can show the same figures.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <sdbus-c++/Types.h>
#include <string>

namespace hangar::client {

// The job's figures, under the names of the Job interface's properties.
struct JobStatus
{
    double progress = 0.0;      // Progress: 0.0..1.0, meaningful only when progressValid
    bool progressValid = false; // ProgressValid
    bool cancelable = false;    // Cancelable
    std::uint64_t bytes = 0;    // Bytes: total to move, 0 = unknown
    std::uint64_t rate = 0;     // Rate: bytes per second, 0 = unknown
    std::uint64_t startTimeUsec = 0;
    std::uint64_t expectedEndUsec = 0; // 0 = unknown
};

// Takes over the properties present in changed (from GetAll or PropertiesChanged); a property of an unexpected type
// is ignored rather than trusted, as is a Progress outside 0..1 (clamped).
void applyJobProperties(JobStatus& status, const std::map<std::string, sdbus::Variant>& changed);

// Bytes copied so far, from Progress and Bytes.
std::uint64_t bytesDone(const JobStatus& status);

// Seconds until the job should end: from ExpectedEndTime when the daemon knows it, else from the bytes left and the
// rate. Empty when neither is known.
std::optional<std::uint64_t> secondsLeft(const JobStatus& status, std::uint64_t nowUsec);

// Seconds since the job started (StartTime), or since sinceUsec when the daemon did not say.
std::uint64_t secondsElapsed(const JobStatus& status, std::uint64_t nowUsec, std::uint64_t sinceUsec);

// How a job ended, as a client reports it.
enum class JobEnd
{
    Succeeded,
    Failed,      // the daemon said so (Completed with success false), or the image is gone or not usable
    Cancelled,   // ended after our Cancel
    Interrupted, // the user stopped waiting, and the job could not be cancelled (it goes on in the daemon)
    DaemonGone,  // hangard left the bus: the outcome is unknown
};

struct JobOutcome
{
    JobEnd end = JobEnd::Failed;
    std::string message;
};

// The outcome of a job whose object went away before the client received its Completed signal, judged from the image
// it was filling: imageState is its State, or empty when the image is gone. The daemon removes the image of a failed
// or cancelled job and sets State "ready" only once the image is complete, so "ready" means success and anything
// else a failure (or our cancellation, when we asked for one).
JobOutcome outcomeFromImage(const std::optional<std::string>& imageState, bool cancelRequested);

// The outcome from the Completed signal's arguments.
JobOutcome outcomeFromCompleted(bool success, const std::string& message, bool cancelRequested);

} // namespace hangar::client

// What hangarctl shows while it follows a job (image import, publish): the progress bar drawn on a terminal and the
// plain line written once a second to a log or pipe, from the job's figures (common/JobStatus.h). No bus traffic, so
// it is tested on its own.
#pragma once

#include "common/JobStatus.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace hangar::client {

// One line for a terminal at most width columns wide, redrawn in place:
//   "Importing web-base [=======>          ]   45%   1.2 GiB/2.6 GiB 85.3 MiB/s ETA 17s"
// Without valid progress a block bounces in the bar (tick moves it) and the elapsed time replaces the ETA:
//   "Publishing web-base [     <=>         ]           - elapsed 1m 3s"
// The figures are padded to fixed widths, so the bar keeps its size while they change. When the width is short,
// the bar shrinks first, then goes; the line is cut at width as a last resort. Plain ASCII only.
std::string progressBarLine(const std::string& label, const JobStatus& status, std::uint64_t nowUsec,
                            std::uint64_t sinceUsec, std::size_t width, unsigned tick);

// One self-contained line for a pipe or log, written about once a second:
//   "Importing web-base: 45% (1.2 GiB of 2.6 GiB, 85.3 MiB/s, ETA 17s)"
//   "Publishing web-base: 1m 3s elapsed (85.3 MiB/s)"
std::string progressLogLine(const std::string& label, const JobStatus& status, std::uint64_t nowUsec,
                            std::uint64_t sinceUsec);

} // namespace hangar::client

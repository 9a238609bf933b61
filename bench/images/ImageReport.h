// What one image's measurements are, and the run's table: a row per measurement, a column per image, then the run's
// notes. Markdown, which reads as well in a terminal as in docs/performance.md.
#pragma once

#include "Stats.h"

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace hangar::bench::images {

struct ImageCase
{
    std::string label; // column header
    std::string name;  // image name in hangard, and prefix of the VMs'
    std::uint64_t size = 0;
    std::uint64_t data = 0; // bytes of data in it; == size: every byte
};

struct CaseResult
{
    ImageCase image;
    std::uint64_t fileAllocated = 0;
    Clock::duration imported{};
    std::uint64_t volumeAllocated = 0;
    Samples create, overlayAlone, qemuImg, defineAlone, remove, copy;
    std::uint64_t copyAllocated = 0;
};

void printReport(const std::vector<CaseResult>& results, const std::vector<std::string>& notes, std::ostream& out);

double micros(Clock::duration d);
// "1 GiB", "64 MiB": three significant digits.
std::string formatBytes(std::uint64_t bytes);

} // namespace hangar::bench::images

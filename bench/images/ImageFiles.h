// The two raw image files the benchmark imports, written at run time: one whose every byte is data (non-zero,
// pseudo-random, so neither a sparse copy nor a zero-detecting one can skip any of it) and one sparse file of a large
// virtual size holding a little data spread over it (as a fresh guest file system would), the rest holes.
#pragma once

#include "core/Types.h"

#include <cstdint>
#include <string>

namespace hangar::bench::images {

// size bytes of data.
void writeDenseFile(const std::string& path, std::uint64_t size);
// A file of size bytes with dataBytes of data in 1 MiB pieces spread evenly over it; holes elsewhere.
void writeSparseFile(const std::string& path, std::uint64_t size, std::uint64_t dataBytes);

// Bytes the file system really holds for the file (st_blocks), to show that a sparse file stayed sparse.
std::uint64_t allocatedBytes(const std::string& path);
// Free bytes on the file system holding path.
std::uint64_t freeBytes(const std::string& path);

} // namespace hangar::bench::images

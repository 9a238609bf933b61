// Hangar's own D-Bus fuzzer (dfuzzer is not in Debian 12). It introspects every object hangard publishes, calls
// every method of every org.hangar.Hangar1.* interface and org.freedesktop.DBus.Properties with values generated per
// signature (Generator.h), and with wrong signatures, and checks after each call and each batch that
//   - the call was answered within the timeout,
//   - a refused call's error is org.hangar.Hangar1.Error.<one of the closed set> or a standard D-Bus error that
//     means bad input (InvalidArgs, UnknownMethod, UnknownObject, UnknownInterface, UnknownProperty,
//     PropertyReadOnly, AccessDenied),
//   - a refused call changed nothing in the inventory (Inventory.h), a call with a wrong signature was refused,
//   - the daemon still runs (its PID) and answers Ping and GetManagedObjects.
// A successful call may change things: the fuzzer then waits for the inventory to settle and takes it as the new
// reference. It keeps a few real objects alive throughout (Population.cpp): a running VM, a stopped VM with a
// snapshot, an image (published from a VM), and calls the jobs it sees while they live.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <sys/types.h>
#include <vector>

namespace hangar::fuzz {

struct FuzzConfig
{
    std::string busAddress;
    std::uint64_t seed = 1;
    std::chrono::milliseconds budget = std::chrono::seconds(60);
    std::size_t maxCalls = 20000;
    std::chrono::milliseconds callTimeout = std::chrono::seconds(10);
    std::string dbusDir;           // the repository's dbus/ (interfaces and documented option keys)
    std::string scratchDir;        // where the generator makes its files
    std::string namePrefix = "fz"; // of the objects the fuzzer creates for itself
    // Findings expected for now (known daemon bugs, see README.md): "kind:Interface.Member" patterns, '*' at the end
    // matches anything.
    std::vector<std::string> knownFindings;
};

struct Finding
{
    std::string kind; // unanswered, error-name, changed-after-refusal, wrong-signature-accepted, daemon-down
    std::string key;  // kind + ":" + Interface.Member
    std::string detail;
};

struct FuzzReport
{
    std::uint64_t seed = 0;
    std::size_t calls = 0, succeeded = 0, refused = 0, wrongSignature = 0, fdsSent = 0, batches = 0;
    std::size_t comparisons = 0; // refused calls (or volleys) after which the inventory was compared
    std::size_t reconnects = 0;
    // Calls meant to have the right signature that sd-bus refused as "Invalid arguments": the generator's bug.
    std::size_t signatureMismatches = 0; // the bus (not hangard) dropped the fuzzer's connection
    double seconds = 0;
    std::chrono::milliseconds slowest{0}; // the longest a call took to be answered
    std::string slowestCall;
    std::map<std::string, std::size_t> errors;         // error name -> count
    std::map<std::string, std::size_t> callsPerMethod; // Interface.Member -> count
    std::vector<std::string> methodsNeverCalled;
    std::vector<Finding> findings; // unexpected: the test fails on these
    std::vector<Finding> known;    // matched knownFindings
    std::string summary() const;
};

// The known-findings list: the built-in one (Report.cpp, kKnownFindings) unless HANGAR_FUZZ_KNOWN is set
// (comma-separated patterns; "none" for an empty list).
std::vector<std::string> knownFindingsFromEnvironment();

// Seed from HANGAR_FUZZ_SEED, else a fresh one; budget from HANGAR_FUZZ_SECONDS (default defaultSeconds); call cap
// from HANGAR_FUZZ_MAX_CALLS; call timeout from HANGAR_FUZZ_CALL_TIMEOUT_MS.
FuzzConfig configFromEnvironment(int defaultSeconds);

FuzzReport runFuzzer(const FuzzConfig& config);

} // namespace hangar::fuzz

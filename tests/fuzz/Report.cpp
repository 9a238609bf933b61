// The fuzzer's configuration from the environment, its known-findings list, and its report.
#include "FuzzSession.h"

#include <cstdlib>
#include <random>
#include <sstream>

namespace hangar::fuzz {

namespace {

// Known daemon bugs the fuzzer finds today, as "kind:Interface.Member" patterns ('*' at the end: any suffix).
// Each entry names the finding it stands for (README.md lists them with reproducers); remove it once fixed, so
// that the bug coming back fails CI. HANGAR_FUZZ_KNOWN replaces the list ("none": empty, to see them all).
const std::vector<std::string> kKnownFindings = {
    // sd-bus (libsystemd), not hangard, answers Properties.Get and GetAll: it reads its "ss"/"s" and does not check
    // that nothing follows, so extra trailing arguments are accepted. Read-only, harmless, not our code.
    "wrong-signature-accepted:org.freedesktop.DBus.Properties.Get*",
};

} // namespace

std::string FuzzReport::summary() const
{
    std::ostringstream os;
    os << "bus fuzzer: seed " << seed << " (replay: HANGAR_FUZZ_SEED=" << seed << "), " << calls << " calls in "
       << seconds << " s (" << (seconds > 0 ? static_cast<double>(calls) / seconds : 0) << "/s), " << batches
       << " batches; " << succeeded << " succeeded, " << refused << " refused; " << wrongSignature
       << " with a wrong signature; " << comparisons << " inventory comparisons after refusals; " << fdsSent
       << " fds sent; " << reconnects << " reconnects; " << signatureMismatches
       << " generator signature mismatches\n  slowest answer: " << slowest.count() << " ms, " << slowestCall
       << "\n  errors:";
    for (const auto& [name, n] : errors)
        os << "\n    " << n << "  " << name;
    os << "\n  calls per method:";
    for (const auto& [name, n] : callsPerMethod)
        os << "\n    " << n << "  " << name;
    os << "\n";
    if (!methodsNeverCalled.empty()) {
        os << "  never called:";
        for (const auto& m : methodsNeverCalled)
            os << " " << m;
        os << "\n";
    }
    for (const auto& f : known)
        os << "  KNOWN " << f.key << ": " << f.detail << "\n";
    for (const auto& f : findings)
        os << "  FINDING " << f.key << ": " << f.detail << "\n";
    return os.str();
}

std::vector<std::string> knownFindingsFromEnvironment()
{
    const char* env = std::getenv("HANGAR_FUZZ_KNOWN");
    if (!env)
        return kKnownFindings;
    std::vector<std::string> out;
    std::istringstream in(env);
    for (std::string item; std::getline(in, item, ',');)
        if (!item.empty() && item != "none")
            out.push_back(item);
    return out;
}

FuzzConfig configFromEnvironment(int defaultSeconds)
{
    auto number = [](const char* name, std::uint64_t fallback) {
        const char* v = std::getenv(name);
        return v && *v ? std::strtoull(v, nullptr, 0) : fallback;
    };
    FuzzConfig c;
    std::random_device device;
    c.seed = number("HANGAR_FUZZ_SEED", (std::uint64_t{device()} << 32) | device());
    c.budget = std::chrono::seconds(number("HANGAR_FUZZ_SECONDS", static_cast<std::uint64_t>(defaultSeconds)));
    c.maxCalls = number("HANGAR_FUZZ_MAX_CALLS", 50000);
    c.callTimeout = std::chrono::milliseconds(number("HANGAR_FUZZ_CALL_TIMEOUT_MS", 10000));
    c.knownFindings = knownFindingsFromEnvironment();
    return c;
}

FuzzReport runFuzzer(const FuzzConfig& config)
{
    FuzzSession session(config);
    return session.run();
}

} // namespace hangar::fuzz

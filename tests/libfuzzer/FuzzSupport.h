// What the libFuzzer targets of tests/libfuzzer/ share: the rule that a parser refuses bad input only with a
// hangar::Error (or, for the configuration, the std::runtime_error loadConfig documents), and a small text format for
// the a{sv} dictionaries of the D-Bus API, so that the seed corpora in the tree are readable and libFuzzer's
// mutations of them stay meaningful.
//
// The dictionary format, one entry per line:  <key>:<type>=<value>
//   type: s (string), b (bool: 1 or 0), y, u, t, i, x, d (numbers), as (strings separated by ','), o (object path)
//   key:  a plain key, or key[N].sub for an entry of an aa{sv} (users[0].name:s=alice makes users an aa{sv})
//   value escapes: \n, \t, \\, \, (a comma inside an as item), \xHH (any byte)
// A value D-Bus cannot carry (a string that is not UTF-8, a malformed object path) cannot reach hangard over the
// bus, so such an entry is left out, as the bus would have refused the message.
#pragma once

#include "bus/BusSupport.h"
#include "core/Error.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

namespace hangar::fuzz {

// The bytes as a dictionary in the format above; malformed lines are skipped.
bus::Options parseDict(std::string_view text);

// A finding: prints what and aborts, which libFuzzer reports as a crash with the input that caused it.
[[noreturn]] inline void finding(const std::string& what)
{
    std::fprintf(stderr, "FINDING: %s\n", what.c_str());
    std::abort();
}

// HANGAR_FUZZ_VERBOSE=1 in the environment: every refusal is printed (to see what a seed reaches).
bool verbose();

// Runs step; a hangar::Error of one of the allowed codes is a refusal, as it should be. Any other exception is a
// finding: the bus would have answered it as a BackendFailure (or worse) instead of a clear InvalidArgument.
// Returns whether step completed.
template <typename Step> bool refusesOnlyWithInvalidArgument(Step&& step)
{
    try {
        step();
        return true;
    } catch (const Error& e) {
        if (verbose())
            std::fprintf(stderr, "refused: %s\n", e.what());
        if (e.code() != ErrorCode::InvalidArgument)
            finding(std::string("refused with ") + std::string(errorCodeName(e.code())) +
                    ", not InvalidArgument: " + e.what());
        if (std::string_view(e.what()).empty())
            finding("refused with an empty message");
        return false;
    } catch (const std::exception& e) {
        finding(std::string("an exception other than hangar::Error: ") + e.what());
    }
}

} // namespace hangar::fuzz

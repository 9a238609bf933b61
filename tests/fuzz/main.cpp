// Entry point of hangar_fuzz_tests. Three ways in:
//   --fuzz-worker ARGS   the fuzzer alone against a bus (PolkitFuzzTest.cpp starts it as a test user through
//                        setpriv, which clears the environment, so everything comes as arguments); prints the
//                        report, exits 0 when it found nothing unexpected, 1 when it did, 2 when it could not run;
//   the tests, where PolkitFuzz.* need root inside tests/integration/polkit/run-hermetic.sh (they add users and run
//   polkitd): asked for outside it, they exit 77 (ctest's skip; a failure when CI=true); not asked for, they are
//   left out and BusFuzz.* run alone.
#include "Fuzzer.h"
#include "polkit/PolkitHarness.h"

#include <cstdlib>
#include <cstring>
#include <exception>
#include <gtest/gtest.h>
#include <iostream>
#include <sstream>
#include <string>

namespace {

int workerMain(int argc, char** argv)
{
    using namespace hangar::fuzz;
    FuzzConfig config;
    config.knownFindings.clear();
    for (int i = 2; i < argc; ++i) {
        const std::string arg = argv[i];
        const auto eq = arg.find('=');
        const std::string key = arg.substr(0, eq), value = eq == std::string::npos ? "" : arg.substr(eq + 1);
        if (key == "--bus")
            config.busAddress = value;
        else if (key == "--seed")
            config.seed = std::stoull(value);
        else if (key == "--budget-ms")
            config.budget = std::chrono::milliseconds(std::stoull(value));
        else if (key == "--max-calls")
            config.maxCalls = std::stoull(value);
        else if (key == "--call-timeout-ms")
            config.callTimeout = std::chrono::milliseconds(std::stoull(value));
        else if (key == "--dbus-dir")
            config.dbusDir = value;
        else if (key == "--scratch")
            config.scratchDir = value;
        else if (key == "--prefix")
            config.namePrefix = value;
        else if (key == "--known") {
            std::istringstream in(value);
            for (std::string item; std::getline(in, item, ',');)
                if (!item.empty() && item != "none")
                    config.knownFindings.push_back(item);
        } else {
            std::cerr << "hangar_fuzz_tests --fuzz-worker: unknown argument " << arg << "\n";
            return 2;
        }
    }
    try {
        const FuzzReport report = runFuzzer(config);
        std::cout << report.summary();
        return report.findings.empty() ? 0 : 1;
    } catch (const std::exception& e) {
        std::cerr << "hangar_fuzz_tests --fuzz-worker: " << e.what() << "\n";
        return 2;
    }
}

} // namespace

int main(int argc, char** argv)
{
    if (argc > 1 && std::strcmp(argv[1], "--fuzz-worker") == 0)
        return workerMain(argc, argv);

    ::testing::InitGoogleTest(&argc, argv);
    if (GTEST_FLAG_GET(list_tests))
        return RUN_ALL_TESTS();
    const std::string filter = GTEST_FLAG_GET(filter);
    if (const std::string problem = hangar::it::polkit::hermeticProblem(); !problem.empty()) {
        if (filter.find("PolkitFuzz") != std::string::npos && filter.find("-*PolkitFuzz") == std::string::npos) {
            std::cerr << "hangar_fuzz_tests: PolkitFuzz.* need root inside tests/integration/polkit/run-hermetic.sh: "
                      << problem << "\n";
            const char* ci = std::getenv("CI");
            return ci && std::strcmp(ci, "true") == 0 ? 1 : 77;
        }
        GTEST_FLAG_SET(filter, filter + (filter.find('-') == std::string::npos ? "-" : ":") + "*PolkitFuzz.*");
    }
    return RUN_ALL_TESTS();
}

// The bus fuzzer (Fuzzer.h) against the real hangard on a private bus, with libvirt's test driver and the allow-all
// authorizer (as an administrator would be): every method and property of every object, with generated and wrong
// arguments, for HANGAR_FUZZ_SECONDS (default 60). The same fuzzer runs through the real polkitd as a guest and as
// an administrator in PolkitFuzzTest.cpp.
#include "DaemonFixture.h"
#include "Fuzzer.h"

#include <gtest/gtest.h>
#include <iostream>

namespace hangar::fuzz {
namespace {

class BusFuzz : public it::DaemonFixture
{
};

TEST_F(BusFuzz, EveryMethodWithGeneratedArguments_DaemonStaysUpErrorsAreOursAndRefusalsChangeNothing)
{
    FuzzConfig config = configFromEnvironment(60);
    config.busAddress = bus->address();
    config.dbusDir = HANGAR_SOURCE_DIR "/dbus";
    config.scratchDir = dir.path();
    RecordProperty("seed", std::to_string(config.seed));

    const FuzzReport report = runFuzzer(config);
    std::cout << report.summary();

    EXPECT_TRUE(daemon->process().running()) << "hangard exited during the run";
    EXPECT_GT(report.calls, 200U) << "too few calls to mean anything";
    EXPECT_GT(report.succeeded, 0U);
    EXPECT_GT(report.refused, 0U);
    EXPECT_GT(report.fdsSent, 0U);
    EXPECT_EQ(report.signatureMismatches, 0U) << "the generator sent other signatures than it planned";
    EXPECT_GT(report.comparisons, report.refused / 4) << "most refusals were never checked against the inventory";
    EXPECT_TRUE(report.methodsNeverCalled.empty()) << "a method was never called: raise HANGAR_FUZZ_SECONDS";
    EXPECT_TRUE(report.findings.empty()) << report.findings.size()
                                         << " unexpected findings (see FINDING lines above); replay with "
                                            "HANGAR_FUZZ_SEED="
                                         << report.seed;
}

} // namespace
} // namespace hangar::fuzz

// hangarctl's words without a bus: the nearest command, API keys turned into the options users type, and when
// colour is used.
#include "Words.h"

#include <cstdlib>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pty.h>
#include <unistd.h>

using namespace hangar::client;

namespace {

const std::vector<std::string> kCommands{"list", "info", "status", "start", "stop", "restart", "snapshot", "stats"};

TEST(ClientWordsTest, SuggestWord_FindsSwapsTyposAndUniquePrefixes)
{
    EXPECT_EQ(suggestWord("lsit", kCommands), "list");
    EXPECT_EQ(suggestWord("restrat", kCommands), "restart");
    EXPECT_EQ(suggestWord("snap", kCommands), "snapshot");
    EXPECT_EQ(suggestWord("inof", kCommands), "info");
}

TEST(ClientWordsTest, SuggestWord_SuggestsNothingFarAway)
{
    EXPECT_EQ(suggestWord("frobnicate", kCommands), "");
    EXPECT_EQ(suggestWord("", kCommands), "");
    EXPECT_EQ(suggestWord("xy", kCommands), "");
    EXPECT_EQ(suggestWord("st", kCommands), "") << "a prefix of several commands is no suggestion";
}

TEST(ClientWordsTest, WithFlagNames_ReplacesWholeKeysOnly)
{
    EXPECT_EQ(withFlagNames("disk_gib must be 1..65536, got 70000", kCreateFlags),
              "--disk (GiB) must be 1..65536, got 70000");
    EXPECT_EQ(withFlagNames("vcpus must be 1..255, got 300", kCreateFlags), "--cpus must be 1..255, got 300");
    EXPECT_EQ(withFlagNames("unknown spec key 'max_disk_gib_x'", kQuotaSetFlags), "unknown spec key 'max_disk_gib_x'");
    EXPECT_EQ(withFlagNames("max_memory_mib is below usage.", kQuotaSetFlags), "--memory (MiB) is below usage.");
    EXPECT_EQ(withFlagNames("no key here", kCreateFlags), "no key here");
    EXPECT_EQ(withFlagNames("packages[3]: not a package name; hostname is bad", kCreateFlags),
              "packages[3]: not a package name; --hostname is bad")
        << "a key inside a path names a field, not an option";
    EXPECT_EQ(withFlagNames("users[0].description: x", kCreateFlags), "users[0].description: x");
}

TEST(ClientWordsTest, Colour_OnlyOnATerminalAndNeverWithNoColor)
{
    int controller = -1;
    int terminal = -1;
    ASSERT_EQ(openpty(&controller, &terminal, nullptr, nullptr, nullptr), 0);
    const int file = open("/dev/null", O_WRONLY | O_CLOEXEC);
    unsetenv("NO_COLOR");
    EXPECT_TRUE(colourWanted(terminal));
    EXPECT_FALSE(colourWanted(file));
    setenv("NO_COLOR", "1", 1);
    EXPECT_FALSE(colourWanted(terminal));
    setenv("NO_COLOR", "", 1);
    EXPECT_TRUE(colourWanted(terminal)) << "an empty NO_COLOR does not count (no-color.org)";
    unsetenv("NO_COLOR");
    close(file);
    close(terminal);
    close(controller);

    EXPECT_EQ(colourState("running", false), "running");
    EXPECT_EQ(colourState("running", true), "\033[32mrunning\033[0m");
    EXPECT_EQ(colourState("stopped", true), "stopped");
}

} // namespace

// The alert_command hook's argv (split without a shell) and environment (core/AlertHook.h).
#include "core/AlertHook.h"

#include <algorithm>
#include <gtest/gtest.h>

namespace hangar {
namespace {

using Words = std::vector<std::string>;

TEST(AlertHookTest, SplitCommandLine_WordsQuotesAndEscapesWithoutAShell)
{
    EXPECT_EQ(splitCommandLine("/usr/bin/notify  --to ops\t--level 2"),
              (Words{"/usr/bin/notify", "--to", "ops", "--level", "2"}));
    EXPECT_EQ(splitCommandLine(R"(/bin/x 'a b' "c \"d\" \\e" f\ g '$HOME|*')"),
              (Words{"/bin/x", "a b", R"(c "d" \e)", "f g", "$HOME|*"}));
    EXPECT_EQ(splitCommandLine(R"(/bin/x "" '')"), (Words{"/bin/x", "", ""})) << "empty quotes are empty words";
    EXPECT_EQ(splitCommandLine(R"(/bin/x a"b"'c')"), (Words{"/bin/x", "abc"}));
    EXPECT_TRUE(splitCommandLine("   ").empty());
}

TEST(AlertHookTest, SplitCommandLine_RefusesOpenQuotesTrailingBackslashAndRelativePrograms)
{
    EXPECT_THROW(splitCommandLine("/bin/x 'open"), std::invalid_argument);
    EXPECT_THROW(splitCommandLine(R"(/bin/x "open)"), std::invalid_argument);
    EXPECT_THROW(splitCommandLine(R"(/bin/x \)"), std::invalid_argument);
    try {
        splitCommandLine("notify-send hi");
        FAIL() << "a relative program was accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("absolute path"), std::string::npos) << e.what();
    }
}

TEST(AlertHookTest, AlertEnvironment_CarriesTheAlertAndItsStateAndNothingOfTheDaemon)
{
    AlertChange change;
    change.alert.id = "vm-cpu:local/u";
    change.alert.kind = "vm-cpu";
    change.alert.host = "local";
    change.alert.subject = "local/vm/web";
    change.alert.vmUuid = "u";
    change.alert.severity = Severity::Warning;
    change.alert.raisedAtUsec = 42;
    change.message = "VM web on local uses 99% CPU";
    const Words raised = alertEnvironment(change);
    for (const char* want : {"HANGAR_ALERT_ID=vm-cpu:local/u", "HANGAR_ALERT_SEVERITY=warning",
                             "HANGAR_ALERT_STATE=raised", "HANGAR_ALERT_SUBJECT=local/vm/web",
                             "HANGAR_ALERT_MESSAGE=VM web on local uses 99% CPU", "HANGAR_ALERT_KIND=vm-cpu",
                             "HANGAR_ALERT_HOST=local", "HANGAR_ALERT_VM_UUID=u", "HANGAR_ALERT_RAISED_AT_USEC=42"})
        EXPECT_NE(std::find(raised.begin(), raised.end(), want), raised.end()) << want;
    for (const auto& entry : raised)
        EXPECT_TRUE(entry.rfind("HANGAR_ALERT_", 0) == 0 || entry.rfind("PATH=", 0) == 0 ||
                    entry.rfind("LANG=", 0) == 0)
            << entry;

    change.raised = false;
    const Words cleared = alertEnvironment(change);
    EXPECT_NE(std::find(cleared.begin(), cleared.end(), "HANGAR_ALERT_STATE=cleared"), cleared.end());
    EXPECT_NE(std::find(cleared.begin(), cleared.end(), "HANGAR_ALERT_SEVERITY=info"), cleared.end());
}

} // namespace
} // namespace hangar

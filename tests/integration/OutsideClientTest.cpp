// hangard as an outside client sees it: busctl and gdbus, which know nothing of Hangar but its introspection.
#include "DaemonFixture.h"

#include <gtest/gtest.h>
#include <memory>
#include <regex>

namespace hangar::it {
namespace {

class OutsideClientTest : public DaemonFixture
{
protected:
    RunResult busctl(std::vector<std::string> args)
    {
        args.insert(args.begin(), {"busctl", "--address=" + bus->address()});
        return run(args);
    }
    RunResult gdbusCall(const std::string& path, const std::string& method, std::vector<std::string> args)
    {
        std::vector<std::string> argv{
            "gdbus",         "call", "--address", bus->address(), "--dest", "org.hangar.Hangar1",
            "--object-path", path,   "--method",  method};
        argv.insert(argv.end(), args.begin(), args.end());
        return run(argv);
    }
};

TEST_F(OutsideClientTest, Busctl_IntrospectShowsTheDocumentedInterfaces)
{
    auto r = busctl({"introspect", "org.hangar.Hangar1", "/org/hangar/Hangar1"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    for (const char* member :
         {"org.hangar.Hangar1.Manager", "org.freedesktop.DBus.ObjectManager", ".CreateVM", ".GetVM", ".ListVMs",
          ".GetEvents", ".Event", ".Version", ".VMCount", ".RunningVMCount", ".HypervisorURI", ".GetManagedObjects"})
        EXPECT_NE(r.out.find(member), std::string::npos) << member << " missing in\n" << r.out;
}

TEST_F(OutsideClientTest, Busctl_CreateStartAndReadPropertiesOfAVm)
{
    auto create = busctl({"call", "org.hangar.Hangar1", "/org/hangar/Hangar1", "org.hangar.Hangar1.Manager", "CreateVM",
                          "sa{sv}", "from-busctl", "2", "vcpus", "u", "2", "memory_mib", "t", "256"});
    ASSERT_EQ(create.exitCode, 0) << create.err;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(create.out, m, std::regex("o \"(/org/hangar/Hangar1/vm/[0-9a-f]{32})\"")))
        << create.out;
    const std::string path = m[1];

    auto intro = busctl({"introspect", "org.hangar.Hangar1", path});
    ASSERT_EQ(intro.exitCode, 0) << intro.err;
    EXPECT_NE(intro.out.find("org.hangar.Hangar1.VM"), std::string::npos);
    EXPECT_NE(intro.out.find(".Rename"), std::string::npos);

    ASSERT_EQ(busctl({"call", "org.hangar.Hangar1", path, "org.hangar.Hangar1.VM", "Start", "a{sv}", "0"}).exitCode, 0);
    auto state = busctl(
        {"get-property", "org.hangar.Hangar1", path, "org.hangar.Hangar1.VM", "State", "VCPUs", "MemoryMiB", "Name"});
    ASSERT_EQ(state.exitCode, 0) << state.err;
    EXPECT_EQ(state.out, "s \"running\"\nu 2\nt 256\ns \"from-busctl\"\n");

    auto running = busctl(
        {"get-property", "org.hangar.Hangar1", "/org/hangar/Hangar1", "org.hangar.Hangar1.Manager", "RunningVMCount"});
    EXPECT_EQ(running.out, "u 1\n");
}

TEST_F(OutsideClientTest, Gdbus_ErrorsCarryTheHangarErrorNameAndMessage)
{
    auto busy =
        gdbusCall("/org/hangar/Hangar1", "org.hangar.Hangar1.Manager.CreateVM", {"a/b", "{'vcpus': <uint32 1>}"});
    EXPECT_NE(busy.exitCode, 0);
    EXPECT_NE(busy.err.find("org.hangar.Hangar1.Error.InvalidArgument"), std::string::npos) << busy.err;
    EXPECT_NE(busy.err.find("invalid name 'a/b'"), std::string::npos) << busy.err;

    auto wrongType =
        gdbusCall("/org/hangar/Hangar1", "org.hangar.Hangar1.Manager.CreateVM", {"typed", "{'vcpus': <'two'>}"});
    EXPECT_NE(wrongType.err.find("org.hangar.Hangar1.Error.InvalidArgument"), std::string::npos) << wrongType.err;
    EXPECT_NE(wrongType.err.find("must be of type u (uint32), got s (string)"), std::string::npos) << wrongType.err;

    auto missing = gdbusCall("/org/hangar/Hangar1", "org.hangar.Hangar1.Manager.GetVM", {"nothing-here"});
    EXPECT_NE(missing.err.find("org.hangar.Hangar1.Error.NotFound"), std::string::npos) << missing.err;
    EXPECT_NE(missing.err.find("no VM named 'nothing-here'"), std::string::npos) << missing.err;

    auto list = gdbusCall("/org/hangar/Hangar1", "org.hangar.Hangar1.Manager.ListVMs", {"{'all': <true>}"});
    ASSERT_EQ(list.exitCode, 0) << list.err;
    EXPECT_EQ(list.out, "(@a(sssuo) [],)\n") << "nothing was created by the failed calls";
}

TEST_F(OutsideClientTest, Gdbus_GetManagedObjectsReturnsTheWholeInventoryInOneCall)
{
    for (const char* name : {"a1", "a2", "a3"})
        ASSERT_EQ(gdbusCall("/org/hangar/Hangar1", "org.hangar.Hangar1.Manager.CreateVM", {name, "{}"}).exitCode, 0);
    auto objects = gdbusCall("/org/hangar/Hangar1", "org.freedesktop.DBus.ObjectManager.GetManagedObjects", {});
    ASSERT_EQ(objects.exitCode, 0) << objects.err;
    for (const char* name : {"'a1'", "'a2'", "'a3'"})
        EXPECT_NE(objects.out.find(std::string("'Name': <") + name + ">"), std::string::npos) << objects.out;
    EXPECT_NE(objects.out.find("'State': <'stopped'>"), std::string::npos);
}

} // namespace
} // namespace hangar::it

// The fixture every authorization test starts from: a fresh private system bus, polkitd and hangard (as root or as
// the service user), torn down in reverse order whatever happens, with their logs printed when the test failed;
// plus short helpers to call Hangar as one of the test users and to build GVariant text arguments.
#pragma once

#include "PolkitHarness.h"

#include <gtest/gtest.h>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace hangar::it::polkit {

enum class DaemonUser
{
    Root,
    Service, // the unprivileged system user hangar, as in production
};

inline std::string toString(DaemonUser user)
{
    return user == DaemonUser::Root ? "AsRoot" : "AsHangarUser";
}
inline void PrintTo(DaemonUser user, std::ostream* os)
{
    *os << toString(user);
}

// GVariant text for gdbus call.
inline std::string str(const std::string& s)
{
    return "'" + s + "'";
}
inline const std::string kNoOptions = "@a{sv} {}";

inline std::string manageAll()
{
    return "org.hangar.hangar1.manage-all-vms";
}
inline std::string createVmAction()
{
    return "org.hangar.hangar1.create-vm";
}
inline std::string manageHosts()
{
    return "org.hangar.hangar1.manage-hosts";
}

// A polkit rule (JavaScript, ECMAScript 5 for Duktape): when user asks for actionId, run body, which returns a
// polkit.Result; every other request is left to the next rule.
inline std::string ruleFor(const TestUser& user, const std::string& actionId, const std::string& body)
{
    return "polkit.addRule(function(action, subject) {\n"
           "    if (action.id == \"" +
           actionId + "\" && subject.user == \"" + user.name + "\") {\n        " + body +
           "\n    }\n"
           "    return polkit.Result.NOT_HANDLED;\n"
           "});\n";
}

class PolkitFixture : public ::testing::Test
{
protected:
    // Starts bus, polkitd and hangard. Rules files a test needs must exist before (polkitd reads them at start).
    void startAll(const HangardOptions& options = {})
    {
        bus = std::make_unique<SystemBus>(dir.path());
        polkitd = std::make_unique<Polkitd>(bus->address(), dir.path());
        polkitd->start();
        daemon = std::make_unique<HangardProcess>(bus->address(), dir.path(), options);
        root = std::make_unique<RootView>(bus->address());
    }

    void TearDown() override
    {
        if (::testing::Test::HasFailure()) {
            if (daemon)
                std::cerr << "---- hangard log ----\n" << daemon->log();
            if (polkitd)
                std::cerr << "---- polkitd log ----\n" << polkitd->log();
            if (bus)
                std::cerr << "---- dbus-daemon log ----\n" << bus->log();
            std::cerr << "-------------------------\n";
        }
        root.reset();
        daemon.reset();
        polkitd.reset();
        bus.reset();
    }

    const std::string& address() const { return bus->address(); }

    CallResult call(const TestUser& user, const std::string& path, const std::string& method,
                    const std::vector<std::string>& args)
    {
        return callAs(address(), user, path, method, args);
    }
    CallResult manager(const TestUser& user, const std::string& member, const std::vector<std::string>& args)
    {
        return call(user, kManagerPath, std::string(kManager) + "." + member, args);
    }
    CallResult vm(const TestUser& user, const std::string& path, const std::string& member,
                  const std::vector<std::string>& args)
    {
        return call(user, path, std::string(kVm) + "." + member, args);
    }

    // CreateVM as user; throws (failing the test with the client's output) unless it succeeded.
    std::string createVm(const TestUser& user, const std::string& name)
    {
        const CallResult r = manager(user, "CreateVM", {str(name), kNoOptions});
        const std::string path = vmPathIn(r.out);
        if (!r.ok() || path.empty())
            throw std::runtime_error("CreateVM '" + name + "' as " + user.name + " failed: " + r.describe());
        return path;
    }
    // A VM method as root, who polkit always authorizes: to arrange a state, not to test anything.
    void arrange(const std::string& path, const std::string& member,
                 const std::vector<std::string>& args = {kNoOptions})
    {
        const CallResult r = vm(users.root, path, member, args);
        if (!r.ok())
            throw std::runtime_error("arranging " + member + " as root failed: " + r.describe());
    }

    TempDir dir;
    const TestUsers& users = testUsers();
    std::unique_ptr<SystemBus> bus;
    std::unique_ptr<Polkitd> polkitd;
    std::unique_ptr<HangardProcess> daemon;
    std::unique_ptr<RootView> root;
};

} // namespace hangar::it::polkit

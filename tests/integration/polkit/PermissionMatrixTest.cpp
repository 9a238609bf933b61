// Who may do what (docs/authorization.md), asked of the real polkitd with Hangar's real actions, rules and bus policy:
// for CreateVM, every VM method that changes state, and the quota methods, each kind of user is allowed or denied as
// documented, a denial names the polkit action, and a denied call changes nothing. Every test runs twice: with
// hangard as root, and as the unprivileged service user hangar (which polkit answers only because every action is
// owned by unix-user:hangar).
#include "PolkitFixture.h"

#include <algorithm>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <ostream>
#include <tuple>

namespace hangar::it::polkit {
namespace {

using ::testing::HasSubstr;

// What a user can see of one VM and the inventory: a denied call must leave all of it as it was.
struct Snapshot
{
    bool exists = false;
    std::string name, state;
    std::uint32_t vmCount = 0, runningCount = 0;
    bool otherNameTaken = false;

    bool operator==(const Snapshot&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Snapshot& s)
{
    return os << "{exists=" << s.exists << " name=" << s.name << " state=" << s.state << " VMCount=" << s.vmCount
              << " RunningVMCount=" << s.runningCount << " otherNameTaken=" << s.otherNameTaken << "}";
}

// One VM method of the matrix.
struct VmMethod
{
    std::string member;               // D-Bus method of org.hangar.Hangar1.VM
    std::string auditAction;          // its action in the audit log
    std::vector<std::string> arrange; // calls (as root) that bring a new, stopped VM where the method applies
    std::string stateAfter;           // State once it succeeded ("" = the VM is gone)
};

void PrintTo(const VmMethod& m, std::ostream* os)
{
    *os << m.member;
}

const std::vector<VmMethod>& vmMethods()
{
    static const std::vector<VmMethod> methods{
        {"Start", "start", {}, "running"},
        {"Stop", "stop", {"Start"}, "stopped"},
        {"Reboot", "reboot", {"Start"}, "running"},
        {"Pause", "pause", {"Start"}, "paused"},
        {"Resume", "resume", {"Start", "Pause"}, "running"},
        {"Rename", "rename", {}, "stopped"},
        {"Delete", "delete", {}, ""},
    };
    return methods;
}

class PermissionMatrix : public PolkitFixture, public ::testing::WithParamInterface<DaemonUser>
{
protected:
    void SetUp() override { startAll(HangardOptions{GetParam() == DaemonUser::Service, {}}); }
};

class VmMethodMatrix : public PolkitFixture, public ::testing::WithParamInterface<std::tuple<DaemonUser, VmMethod>>
{
protected:
    void SetUp() override { startAll(HangardOptions{std::get<0>(GetParam()) == DaemonUser::Service, {}}); }

    const VmMethod& method() const { return std::get<1>(GetParam()); }

    std::vector<std::string> argsFor(const std::string& newName) const
    {
        if (method().member == "Rename")
            return {str(newName), kNoOptions};
        return {kNoOptions};
    }

    Snapshot snapshot(const std::string& path, const std::string& otherName)
    {
        Snapshot s;
        s.exists = root->objectExists(path);
        if (s.exists) {
            s.name = root->name(path);
            s.state = root->state(path);
        }
        s.vmCount = root->vmCount();
        s.runningCount = root->runningVmCount();
        s.otherNameTaken = root->findVm(otherName).has_value();
        return s;
    }

    // The method succeeded on the VM at path, once called "name", asked to become "newName".
    void expectDone(const std::string& path, const std::string& name, const std::string& newName,
                    std::uint32_t countBefore)
    {
        if (method().stateAfter.empty()) {
            EXPECT_FALSE(root->objectExists(path));
            EXPECT_FALSE(root->findVm(name).has_value());
            EXPECT_EQ(root->vmCount(), countBefore - 1);
            return;
        }
        EXPECT_EQ(root->waitForState(path, method().stateAfter), method().stateAfter);
        if (method().member == "Rename") {
            EXPECT_EQ(root->name(path), newName);
            EXPECT_EQ(root->findVm(newName), path);
            EXPECT_FALSE(root->findVm(name).has_value());
        }
        if (method().member == "Reboot") {
            const auto events = root->eventsAbout(root->uuid(path));
            EXPECT_TRUE(std::any_of(events.begin(), events.end(),
                                    [](const EventRow& e) { return e.action == "reboot" && e.outcome == "ok"; }));
        }
    }
};

std::string matrixName(const ::testing::TestParamInfo<std::tuple<DaemonUser, VmMethod>>& info)
{
    return std::get<1>(info.param).member + "_" + toString(std::get<0>(info.param));
}

std::string daemonName(const ::testing::TestParamInfo<DaemonUser>& info)
{
    return toString(info.param);
}

TEST_P(VmMethodMatrix, OwnerAndAdminMayOtherGuestAndOutsiderMayNotAndTheirCallsChangeNothing)
{
    const VmMethod& m = method();
    const std::string owned = createVm(users.guest1, "owned");
    const std::string forAdmin = createVm(users.guest1, "for-admin");
    for (const auto& step : m.arrange) {
        arrange(owned, step);
        arrange(forAdmin, step);
    }
    ASSERT_EQ(root->owner(owned), users.guest1.uid);

    // guest2 and the outsider do not own the VM: they would need manage-all-vms, which polkit refuses them.
    const Snapshot before = snapshot(owned, "renamed");
    for (const TestUser* caller : {&users.guest2, &users.outsider}) {
        const CallResult r = vm(*caller, owned, m.member, argsFor("renamed"));
        EXPECT_EQ(r.errorName, kPermissionDenied) << caller->name << " " << m.member << ": " << r.describe();
        EXPECT_THAT(r.errorMessage, HasSubstr(manageAll())) << caller->name << " " << m.member;
        EXPECT_EQ(snapshot(owned, "renamed"), before) << caller->name << "'s denied " << m.member << " changed it";
    }
    // The attempts are in the audit log, as denied, under the caller's uid; none of them as done.
    const auto events = root->eventsAbout(root->uuid(owned));
    for (const TestUser* caller : {&users.guest2, &users.outsider}) {
        const uid_t uid = caller->uid;
        EXPECT_TRUE(std::any_of(events.begin(), events.end(),
                                [&](const EventRow& e) {
                                    return e.uid == uid && e.action == m.auditAction && e.outcome == "PermissionDenied";
                                }))
            << "no denied " << m.auditAction << " by " << caller->name << " in the audit log";
        EXPECT_FALSE(std::any_of(events.begin(), events.end(),
                                 [&](const EventRow& e) { return e.uid == uid && e.outcome == "ok"; }));
    }

    // The owner may (manage-own-vms, granted to group hangar).
    const std::uint32_t count = root->vmCount();
    const CallResult byOwner = vm(users.guest1, owned, m.member, argsFor("renamed"));
    ASSERT_TRUE(byOwner.ok()) << byOwner.describe();
    expectDone(owned, "owned", "renamed", count);

    // An admin may, on someone else's VM (manage-all-vms, granted to group hangar-admin).
    const std::uint32_t count2 = root->vmCount();
    const CallResult byAdmin = vm(users.admin, forAdmin, m.member, argsFor("renamed-by-admin"));
    ASSERT_TRUE(byAdmin.ok()) << byAdmin.describe();
    expectDone(forAdmin, "for-admin", "renamed-by-admin", count2);
}

INSTANTIATE_TEST_SUITE_P(Authorization, VmMethodMatrix,
                         ::testing::Combine(::testing::Values(DaemonUser::Root, DaemonUser::Service),
                                            ::testing::ValuesIn(vmMethods())),
                         matrixName);

TEST_P(PermissionMatrix, CreateVm_AdminAndGuestsMayOutsiderMayNotAndGetsNothing)
{
    const std::string byAdmin = createVm(users.admin, "admin-vm");
    EXPECT_EQ(root->owner(byAdmin), users.admin.uid);
    const std::string byGuest = createVm(users.guest1, "guest1-vm");
    EXPECT_EQ(root->owner(byGuest), users.guest1.uid);
    const std::string byGuest2 = createVm(users.guest2, "guest2-vm");
    EXPECT_EQ(root->owner(byGuest2), users.guest2.uid);

    const std::uint32_t count = root->vmCount();
    const CallResult r = manager(users.outsider, "CreateVM", {str("outsider-vm"), kNoOptions});
    EXPECT_EQ(r.errorName, kPermissionDenied) << r.describe();
    EXPECT_THAT(r.errorMessage, HasSubstr(createVmAction()));
    EXPECT_EQ(root->vmCount(), count);
    EXPECT_FALSE(root->findVm("outsider-vm").has_value());
    for (const auto& v : root->allVms())
        EXPECT_NE(v.owner, users.outsider.uid) << v.name;
}

TEST_P(PermissionMatrix, Quotas_AdminSetsAnyoneReadsTheirOwnGuestsNeitherSetNorReadOthers)
{
    const std::string guest1 = std::to_string(users.guest1.uid);
    const std::string guest2 = std::to_string(users.guest2.uid);

    const CallResult set = manager(users.admin, "SetQuota", {guest1, "{'max_vms': <uint32 5>}"});
    ASSERT_TRUE(set.ok()) << set.describe();

    const CallResult selfSet = manager(users.guest1, "SetQuota", {guest1, "{'max_vms': <uint32 100>}"});
    EXPECT_EQ(selfSet.errorName, kPermissionDenied) << selfSet.describe();
    EXPECT_THAT(selfSet.errorMessage, HasSubstr(manageHosts()));
    const CallResult otherSet = manager(users.guest2, "SetQuota", {guest1, "{'max_vms': <uint32 100>}"});
    EXPECT_EQ(otherSet.errorName, kPermissionDenied) << otherSet.describe();

    const CallResult own = manager(users.guest1, "GetQuota", {guest1, kNoOptions});
    ASSERT_TRUE(own.ok()) << own.describe();
    EXPECT_EQ(quotaNumber(own.out, "limits", "max_vms"), 5u)
        << "the denied SetQuota calls changed the quota: " << own.out;

    const CallResult others = manager(users.guest1, "GetQuota", {guest2, kNoOptions});
    EXPECT_EQ(others.errorName, kPermissionDenied) << others.describe();
    EXPECT_THAT(others.errorMessage, HasSubstr(manageHosts()));

    const CallResult outsiderOwn =
        manager(users.outsider, "GetQuota", {std::to_string(users.outsider.uid), kNoOptions});
    EXPECT_TRUE(outsiderOwn.ok()) << outsiderOwn.describe();
    const CallResult adminReads = manager(users.admin, "GetQuota", {guest1, kNoOptions});
    ASSERT_TRUE(adminReads.ok()) << adminReads.describe();
    EXPECT_EQ(quotaNumber(adminReads.out, "limits", "max_vms"), 5u) << adminReads.out;
}

TEST_P(PermissionMatrix, Reads_NeedNoAuthorizationForAnyone)
{
    const std::string path = createVm(users.guest1, "readable");
    for (const TestUser* reader : {&users.guest2, &users.outsider, &users.admin}) {
        const CallResult get = manager(*reader, "GetVM", {str("readable")});
        EXPECT_TRUE(get.ok()) << reader->name << ": " << get.describe();
        EXPECT_EQ(vmPathIn(get.out), path);
        const CallResult list = manager(*reader, "ListVMs", {"{'all': <true>}"});
        EXPECT_TRUE(list.ok()) << reader->name << ": " << list.describe();
        EXPECT_THAT(list.out, HasSubstr("'readable'"));
        const CallResult prop = call(*reader, path, "org.freedesktop.DBus.Properties.Get", {str(kVm), str("State")});
        EXPECT_TRUE(prop.ok()) << reader->name << ": " << prop.describe();
        const CallResult all = call(*reader, kManagerPath, "org.freedesktop.DBus.ObjectManager.GetManagedObjects", {});
        EXPECT_TRUE(all.ok()) << reader->name << ": " << all.describe();
    }
    // ListVMs without a filter shows the caller's own VMs only.
    const CallResult own = manager(users.guest2, "ListVMs", {kNoOptions});
    ASSERT_TRUE(own.ok()) << own.describe();
    EXPECT_THAT(own.out, ::testing::Not(HasSubstr("'readable'")));
}

TEST_P(PermissionMatrix, Hangarctl_SaysPermissionDeniedWithExitCode5)
{
    const RunResult r = run(asUser(
        users.outsider, {hangarctlBinary(), "--bus=" + address(), "--no-ask-password", "create", "from-hangarctl"}));
    EXPECT_EQ(r.exitCode, 5) << r.out << r.err;
    EXPECT_THAT(r.err, HasSubstr(createVmAction()));
    EXPECT_FALSE(root->findVm("from-hangarctl").has_value());
}

INSTANTIATE_TEST_SUITE_P(Authorization, PermissionMatrix, ::testing::Values(DaemonUser::Root, DaemonUser::Service),
                         daemonName);

// hangard passes the VM's name and the verb to polkit as details, so an admin's own rules can decide by them.
class PolkitDetails : public PolkitFixture
{
};

TEST_F(PolkitDetails, ARuleCanProtectOneVmFromDeletionByName)
{
    RulesFile rules("10-hangar-test-protect.rules", R"(
polkit.addRule(function(action, subject) {
    if (action.id.indexOf("org.hangar.hangar1.") == 0 &&
        action.lookup("vm") == "protected" && action.lookup("verb") == "delete") {
        return polkit.Result.NO;
    }
    return polkit.Result.NOT_HANDLED;
});
)");
    startAll();
    const std::string protectedVm = createVm(users.guest1, "protected");
    const std::string scratch = createVm(users.guest1, "scratch");

    const CallResult byOwner = vm(users.guest1, protectedVm, "Delete", {kNoOptions});
    EXPECT_EQ(byOwner.errorName, kPermissionDenied) << byOwner.describe();
    EXPECT_THAT(byOwner.errorMessage, HasSubstr("org.hangar.hangar1.manage-own-vms"));
    const CallResult byAdmin = vm(users.admin, protectedVm, "Delete", {kNoOptions});
    EXPECT_EQ(byAdmin.errorName, kPermissionDenied) << byAdmin.describe();
    EXPECT_TRUE(root->objectExists(protectedVm));

    const CallResult start = vm(users.guest1, protectedVm, "Start", {kNoOptions});
    EXPECT_TRUE(start.ok()) << "the rule is about delete only: " << start.describe();
    const CallResult other = vm(users.guest1, scratch, "Delete", {kNoOptions});
    EXPECT_TRUE(other.ok()) << "the rule is about VM 'protected' only: " << other.describe();
}

// The bus policy (dbus/org.hangar.Hangar1.conf) lets only root and hangar own the name. Both daemons above got it;
// a guest may not.
class BusPolicy : public PolkitFixture
{
};

TEST_F(BusPolicy, AGuestMayNotOwnHangarsName)
{
    bus = std::make_unique<SystemBus>(dir.path());
    const CallResult r = toCallResult(
        run(asUser(users.guest1, gdbusCall(bus->address(), "/org/freedesktop/DBus", "org.freedesktop.DBus.RequestName",
                                           {str(kService), "uint32 4"}, "org.freedesktop.DBus"))));
    EXPECT_EQ(r.errorName, "org.freedesktop.DBus.Error.AccessDenied") << r.describe();
}

} // namespace
} // namespace hangar::it::polkit

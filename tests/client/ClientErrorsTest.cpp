// The shared client library's reading of D-Bus errors (client/common/Errors.h): which errors mean hangard is not
// there, how each is classed, and which advice follows a refusal. The refusal messages below are hangard's own, as
// its polkit authorizer words them (daemon/auth/PolkitAuthorizer.cpp).
#include "common/Errors.h"

#include <gtest/gtest.h>
#include <string>

using namespace hangar::client;

namespace {

constexpr const char* kDenied = "org.hangar.Hangar1.Error.PermissionDenied";

std::string notGranted(const std::string& verb)
{
    return "not authorized: org.hangar.hangar1." + verb + " is not granted to uid 1001";
}

bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

} // namespace

TEST(ClientErrorsTest, PermissionHint_NamesGroupHangarFirstForTheActionsItGrants)
{
    for (const char* verb : {"create-vm", "manage-own-vms"}) {
        const std::string hint = permissionHint(kDenied, notGranted(verb));
        EXPECT_TRUE(contains(hint, "group hangar (your own VMs)")) << verb << ": " << hint;
    }
}

TEST(ClientErrorsTest, PermissionHint_NamesOnlyGroupHangarAdminForTheAdminActions)
{
    // polkit/50-hangar.rules grants these to group hangar-admin only: suggesting group hangar would not help.
    for (const char* verb : {"manage-all-vms", "manage-images", "manage-hosts"}) {
        const std::string hint = permissionHint(kDenied, notGranted(verb));
        EXPECT_TRUE(contains(hint, "group hangar-admin")) << verb << ": " << hint;
        EXPECT_FALSE(contains(hint, "group hangar ")) << verb << ": " << hint;
    }
    EXPECT_TRUE(contains(permissionHint(kDenied, notGranted("manage-images")), "images"));
    EXPECT_TRUE(contains(permissionHint(kDenied, notGranted("manage-hosts")), "quotas"));
}

TEST(ClientErrorsTest, PermissionHint_ReadsTheActionWhenNoAgentAnswered)
{
    const std::string message =
        "not authorized: org.hangar.hangar1.manage-images requires authentication, and no authentication agent "
        "answered (run the command in a terminal, or ask an administrator to add you to group hangar or "
        "hangar-admin)";
    const std::string hint = permissionHint(kDenied, message);
    EXPECT_TRUE(contains(hint, "group hangar-admin")) << hint;
    EXPECT_FALSE(contains(hint, "group hangar ")) << hint;
}

TEST(ClientErrorsTest, PermissionHint_WhenPolkitCouldNotBeAskedSaysSoInsteadOfAGroup)
{
    const std::string message =
        "not authorized: could not ask polkit about org.hangar.hangar1.create-vm (The name org.freedesktop.PolicyKit1 "
        "was not provided by any .service files); refusing";
    const std::string hint = permissionHint(kDenied, message);
    EXPECT_TRUE(contains(hint, "could not ask polkit")) << hint;
    EXPECT_TRUE(contains(hint, "--authorizer=allow-all")) << hint;
    EXPECT_FALSE(contains(hint, "group")) << hint;
}

TEST(ClientErrorsTest, PermissionHint_IsEmptyForRefusalsNoGroupHelpsWith)
{
    // libvirt's own refusal, mapped to PermissionDenied by hangard, names no Hangar action.
    EXPECT_EQ(permissionHint(kDenied, "access denied: the hypervisor refused the operation"), "");
    // The bus policy's refusal is not hangard's.
    EXPECT_EQ(permissionHint("org.freedesktop.DBus.Error.AccessDenied", notGranted("manage-images")), "");
    EXPECT_EQ(permissionHint("org.hangar.Hangar1.Error.Busy", notGranted("manage-images")), "");
    // An action this client does not know of gets no advice rather than a wrong one.
    EXPECT_EQ(permissionHint(kDenied, notGranted("manage-networks")), "");
}

TEST(ClientErrorsTest, ClassifyError_SeparatesAbsentDaemonMissingObjectAndRefusal)
{
    EXPECT_EQ(classifyError("org.freedesktop.DBus.Error.ServiceUnknown"), ErrorKind::Unreachable);
    EXPECT_EQ(classifyError("org.freedesktop.DBus.Error.NoReply"), ErrorKind::Unreachable);
    EXPECT_EQ(classifyError("org.freedesktop.DBus.Error.Spawn.ChildExited"), ErrorKind::Unreachable);
    EXPECT_EQ(classifyError("System.Error.ECONNREFUSED"), ErrorKind::Unreachable);
    EXPECT_EQ(classifyError("org.hangar.Hangar1.Error.NotFound"), ErrorKind::NotFound);
    EXPECT_EQ(classifyError("org.freedesktop.DBus.Error.UnknownObject"), ErrorKind::NotFound);
    EXPECT_EQ(classifyError(kDenied), ErrorKind::PermissionDenied);
    EXPECT_EQ(classifyError("org.freedesktop.DBus.Error.AccessDenied"), ErrorKind::PermissionDenied);
    EXPECT_EQ(classifyError("org.hangar.Hangar1.Error.Busy"), ErrorKind::Failed);
    EXPECT_EQ(classifyError("System.Error.EINVAL"), ErrorKind::Failed);
}

TEST(ClientErrorsTest, IsNoReply_CoversTimeoutsAndADaemonThatLeftButNotRefusals)
{
    EXPECT_TRUE(isNoReply("org.freedesktop.DBus.Error.NoReply"));
    EXPECT_TRUE(isNoReply("org.freedesktop.DBus.Error.Timeout"));
    EXPECT_TRUE(isNoReply("System.Error.ETIMEDOUT"));
    EXPECT_FALSE(isNoReply("org.freedesktop.DBus.Error.ServiceUnknown"));
    EXPECT_FALSE(isNoReply(kDenied));
}

TEST(ClientErrorsTest, Describe_AddsTheShortNameAndAFallbackForAnEmptyMessage)
{
    EXPECT_EQ(describe("org.hangar.Hangar1.Error.Busy", "VM 'web' is running"), "VM 'web' is running (Busy)");
    EXPECT_EQ(describe("org.hangar.Hangar1.Error.Busy", ""), "no details given (Busy)");
}

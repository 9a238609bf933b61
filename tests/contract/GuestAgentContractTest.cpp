// The GuestAgent contract, as far as libvirt's test driver goes: its domains have no guest agent (the driver has
// no virDomainQemuAgentCommand), which is what the fake's domains are until a test installs one. So both must say
// the same about a guest without an agent: NotSupported naming qemu-guest-agent, and AgentConnected false. A real
// agent's behaviour (guest-exec, exit codes, output, AgentConnected turning true) is proven against qemu-ga on a
// real libvirtd in tests/e2e/GuestAgentE2eTest.cpp; the fake's programmable agent in tests/unit/GuestCommandsTest.cpp.
#include "HypervisorBackends.h"
#include "unit/ErrorTestSupport.h"

#include <gtest/gtest.h>

namespace hangar::contract {
namespace {

using testing::codeOf;

template <typename Backend> class GuestAgentContract : public HypervisorContract<Backend>
{
};
TYPED_TEST_SUITE(GuestAgentContract, HypervisorBackends, BackendName);

TYPED_TEST(GuestAgentContract, UnknownDomain_IsNotFound)
{
    const auto uuid = freshUuid();
    EXPECT_EQ(codeOf([&] { this->hv().agentConnected(uuid); }), ErrorCode::NotFound);
    EXPECT_EQ(codeOf([&] { this->hv().guestExec(uuid, GuestCommand{{"/bin/true"}, ""}); }), ErrorCode::NotFound);
}

TYPED_TEST(GuestAgentContract, StoppedDomain_IsBusyAndHasNoAgent)
{
    const auto uuid = this->define("stopped").uuid;
    EXPECT_FALSE(this->hv().agentConnected(uuid));
    EXPECT_EQ(codeOf([&] { this->hv().guestExec(uuid, GuestCommand{{"/bin/true"}, ""}); }), ErrorCode::Busy);
    EXPECT_EQ(codeOf([&] { this->hv().guestExecStatus(uuid, 1); }), ErrorCode::Busy);
}

TYPED_TEST(GuestAgentContract, RunningDomainWithoutAnAgent_IsNotSupportedNamingTheAgent)
{
    const auto uuid = this->define("running").uuid;
    this->hv().start(uuid);
    EXPECT_FALSE(this->hv().agentConnected(uuid));
    try {
        this->hv().guestExec(uuid, GuestCommand{{"/bin/echo", "hi"}, ""});
        ADD_FAILURE() << "guestExec without an agent succeeded";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::NotSupported) << e.what();
        EXPECT_NE(std::string(e.what()).find("the guest agent (qemu-guest-agent) is not connected"), std::string::npos)
            << e.what();
    }
    EXPECT_EQ(codeOf([&] { this->hv().guestExecStatus(uuid, 1); }), ErrorCode::NotSupported);
}

} // namespace
} // namespace hangar::contract

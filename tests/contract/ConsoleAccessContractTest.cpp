// The ConsoleAccess contract, as far as libvirt's test driver goes: it has neither consoles nor VNC, so only the
// answers that do not need a running guest's devices are held to both implementations here. Opening a console or
// a display of a running guest (exclusive console, force, any number of displays, the vnc:// address) is proven on
// a real libvirtd and QEMU in tests/e2e/E2eTest.cpp and, for the fake core's tests use, in
// tests/unit/VmAccessTest.cpp; the test driver's NotSupported in tests/unit/LibvirtGuestTest.cpp.
#include "HypervisorBackends.h"
#include "unit/ErrorTestSupport.h"

#include <gtest/gtest.h>

namespace hangar::contract {
namespace {

using testing::codeOf;

template <typename Backend> class ConsoleAccessContract : public HypervisorContract<Backend>
{
};
TYPED_TEST_SUITE(ConsoleAccessContract, HypervisorBackends, BackendName);

TYPED_TEST(ConsoleAccessContract, UnknownDomain_IsNotFound)
{
    const auto uuid = freshUuid();
    EXPECT_EQ(codeOf([&] { this->hv().openConsole(uuid, false); }), ErrorCode::NotFound);
    EXPECT_EQ(codeOf([&] { this->hv().openGraphics(uuid); }), ErrorCode::NotFound);
    EXPECT_EQ(codeOf([&] { this->hv().graphicsAddress(uuid); }), ErrorCode::NotFound);
    EXPECT_EQ(codeOf([&] { this->hv().openLog(uuid); }), ErrorCode::NotFound);
}

TYPED_TEST(ConsoleAccessContract, StoppedDomain_HasNoGraphicsAddress)
{
    const auto uuid = this->define("stopped").uuid;
    EXPECT_EQ(this->hv().graphicsAddress(uuid), "");
}

} // namespace
} // namespace hangar::contract

// core/Validation: the ranges of a VM's spec are the ones libvirt accepts, and a value outside them is refused with
// the range in the message.
#include "core/Validation.h"

#include "ErrorTestSupport.h"

#include <gtest/gtest.h>
#include <string>

namespace hangar {
namespace {

std::string messageOf(const VmSpecRequest& request)
{
    try {
        validateSpec(request);
    } catch (const Error& e) {
        return e.what();
    }
    return "accepted";
}

TEST(Validation, VcpusUpTo255AreAccepted)
{
    VmSpecRequest request;
    request.vcpus = 255; // QEMU's default x86_64 machine type (pc-i440fx) takes at most 255 CPUs
    EXPECT_EQ(validateSpec(request).vcpus, 255U);
    request.vcpus = 1;
    EXPECT_EQ(validateSpec(request).vcpus, 1U);
}

TEST(Validation, VcpusOutsideWhatLibvirtAcceptsAreInvalidWithTheRealRange)
{
    for (const std::uint32_t vcpus : {0U, 256U, 4096U}) {
        VmSpecRequest request;
        request.vcpus = vcpus;
        EXPECT_EQ(testing::codeOf([&] { validateSpec(request); }), ErrorCode::InvalidArgument) << vcpus;
        EXPECT_EQ(messageOf(request), "vcpus must be 1..255, got " + std::to_string(vcpus));
    }
}

} // namespace
} // namespace hangar

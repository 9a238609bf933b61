// What libvirt's test driver cannot do is refused with NotSupported naming a driver that can (core/DriverLimits.h).
#include "core/DriverLimits.h"

#include "core/Error.h"

#include <gtest/gtest.h>

using namespace hangar;

TEST(DriverLimits, IsTestDriver_OnlyForTheTestScheme)
{
    EXPECT_TRUE(isTestDriver("test:///default"));
    EXPECT_TRUE(isTestDriver("test+unix:///default"));
    EXPECT_FALSE(isTestDriver("qemu:///system"));
    EXPECT_FALSE(isTestDriver("qemu+ssh://host/system"));
    EXPECT_FALSE(isTestDriver("testing:///x"));
    EXPECT_FALSE(isTestDriver(""));
}

TEST(DriverLimits, RefuseOnTestDriver_NamesTheDriverThatCan)
{
    try {
        refuseOnTestDriver("test:///default", "open a guest's serial console");
        FAIL() << "the test driver was not refused";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::NotSupported);
        EXPECT_STREQ(e.what(), "the test driver (test:///default) cannot open a guest's serial console; use "
                               "qemu:///system (or qemu:///session)");
    }
    EXPECT_NO_THROW(refuseOnTestDriver("qemu:///system", "open a guest's serial console"));
}

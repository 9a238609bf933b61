// Who sees whose audit events: GetEvents gives admins every event and anyone else only the events they caused and
// those about VMs they own; the broadcast Event signal is delivered by the bus policy only to root and group
// hangar-admin, so a guest's listener never receives it (not even about the guest's own VM).
#include "PolkitFixture.h"

#include <algorithm>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hangar::it::polkit {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class EventVisibility : public PolkitFixture
{
protected:
    std::vector<EventRow> eventsSeenBy(const TestUser& user)
    {
        const CallResult r = manager(user, "GetEvents", {"{'limit': <uint32 10000>}"});
        if (!r.ok())
            throw std::runtime_error("GetEvents as " + user.name + " failed: " + r.describe());
        return parseEvents(r.out);
    }

    static bool has(const std::vector<EventRow>& rows, uid_t uid, const std::string& vmName, const std::string& outcome)
    {
        return std::any_of(rows.begin(), rows.end(), [&](const EventRow& e) {
            return e.uid == uid && e.vmName == vmName && e.outcome == outcome;
        });
    }
};

TEST_F(EventVisibility, GetEvents_GuestsSeeWhatTheyDidAndWhatConcernsTheirVmsAdminsSeeEverything)
{
    startAll();
    const std::string g1 = createVm(users.guest1, "g1-vm");
    ASSERT_TRUE(vm(users.guest1, g1, "Start", {kNoOptions}).ok());
    createVm(users.guest2, "g2-vm");
    createVm(users.admin, "admin-vm");
    // The admin acts on guest1's VM, guest2 tries to: both concern guest1's VM, the attempt also concerns guest2.
    ASSERT_TRUE(vm(users.admin, g1, "Stop", {"{'force': <true>}"}).ok());
    ASSERT_EQ(vm(users.guest2, g1, "Start", {kNoOptions}).errorName, kPermissionDenied);

    const auto seenByGuest1 = eventsSeenBy(users.guest1);
    EXPECT_TRUE(has(seenByGuest1, users.guest1.uid, "g1-vm", "ok"));
    EXPECT_TRUE(has(seenByGuest1, users.admin.uid, "g1-vm", "ok")) << "the admin's Stop of guest1's VM is missing";
    EXPECT_TRUE(has(seenByGuest1, users.guest2.uid, "g1-vm", "PermissionDenied"));
    for (const auto& e : seenByGuest1)
        EXPECT_TRUE(e.uid == users.guest1.uid || e.vmName == "g1-vm")
            << "guest1 sees an event of uid " << e.uid << " about '" << e.vmName << "': " << e.action;

    const auto seenByGuest2 = eventsSeenBy(users.guest2);
    EXPECT_TRUE(has(seenByGuest2, users.guest2.uid, "g2-vm", "ok"));
    EXPECT_TRUE(has(seenByGuest2, users.guest2.uid, "g1-vm", "PermissionDenied")) << "its own attempt is missing";
    for (const auto& e : seenByGuest2)
        EXPECT_TRUE(e.uid == users.guest2.uid || e.vmName == "g2-vm")
            << "guest2 sees an event of uid " << e.uid << " about '" << e.vmName << "': " << e.action;

    for (const auto& e : eventsSeenBy(users.outsider))
        EXPECT_EQ(e.uid, users.outsider.uid) << "the outsider sees an event about '" << e.vmName << "'";

    const auto seenByAdmin = eventsSeenBy(users.admin);
    EXPECT_TRUE(has(seenByAdmin, users.guest1.uid, "g1-vm", "ok"));
    EXPECT_TRUE(has(seenByAdmin, users.guest2.uid, "g2-vm", "ok"));
    EXPECT_TRUE(has(seenByAdmin, users.guest2.uid, "g1-vm", "PermissionDenied"));
    EXPECT_TRUE(has(seenByAdmin, users.admin.uid, "admin-vm", "ok"));
}

TEST_F(EventVisibility, EventSignal_ReachesAnAdminsListenerButNotAGuests)
{
    startAll();
    const std::string watched = createVm(users.guest1, "watched");
    auto monitor = [&](const TestUser& user, const std::string& name) {
        return std::make_unique<Process>(asUser(user, {"/usr/bin/stdbuf", "-oL", "/usr/bin/gdbus", "monitor",
                                                       "--address", address(), "--dest", kService}),
                                         dir.path() + "/" + name);
    };
    auto adminListener = monitor(users.admin, "admin-monitor");
    auto guestListener = monitor(users.guest1, "guest-monitor");
    // gdbus prints the owner once its match rules are in place (they were sent before its GetNameOwner).
    ASSERT_TRUE(waitFor([&] {
        return adminListener->out().find("is owned by") != std::string::npos &&
               guestListener->out().find("is owned by") != std::string::npos;
    })) << "admin: "
        << adminListener->out() << adminListener->err() << "\nguest: " << guestListener->out() << guestListener->err();

    ASSERT_TRUE(vm(users.guest1, watched, "Rename", {str("renamed-once"), kNoOptions}).ok());
    ASSERT_TRUE(waitFor([&] {
        const std::string out = adminListener->out();
        return out.find("org.hangar.Hangar1.Manager.Event") != std::string::npos &&
               out.find("'rename'") != std::string::npos;
    })) << "the admin's listener did not receive the Event: "
        << adminListener->out();

    // A signal the guest may receive, sent after that Event: once it arrived, the Event would have arrived before.
    ASSERT_TRUE(vm(users.guest1, watched, "Rename", {str("marker-name"), kNoOptions}).ok());
    ASSERT_TRUE(waitFor([&] { return guestListener->out().find("'marker-name'") != std::string::npos; }))
        << "the guest's listener did not receive PropertiesChanged: " << guestListener->out();
    EXPECT_THAT(guestListener->out(), Not(HasSubstr("org.hangar.Hangar1.Manager.Event")));
}

} // namespace
} // namespace hangar::it::polkit

// Crash safety at every step (issue 17 item 1), on the real libvirtd: for each fault point of
// daemon/core/FaultPoints.h, hangard is started with HANGAR_FAULT_POINT naming it, the operation that reaches it is
// run, hangard must die of SIGKILL there, and once it is started again without the point the operation has either
// fully happened or left nothing: the store (hangar.db, read with sqlite3), the bus (GetManagedObjects), libvirt's
// domains and the pool directory agree, no row is left in a transitional phase, no job is left, and the audit log
// says what start-up did about it. The scenarios are a table keyed by the point's name: a point added to the list
// without a scenario fails EveryFaultPointHasAScenario. No guest boots here; every VM stays stopped.
#include "E2eWorld.h"
#include "ImageE2eFixture.h"
#include "core/FaultPoints.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <functional>
#include <gtest/gtest.h>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <unistd.h>

namespace hangar::e2e {
namespace {

using namespace std::chrono_literals;
using Objects = std::map<sdbus::ObjectPath, std::map<std::string, std::map<std::string, sdbus::Variant>>>;
// A GetEvents row: id, time, uid, VM UUID, VM name, action, outcome, message, severity.
using Event = sdbus::Struct<std::uint64_t, std::uint64_t, std::uint32_t, std::string, std::string, std::string,
                            std::string, std::string, std::string>;

// What a scenario works with: its names and what the preparation made.
struct Context
{
    std::string point;
    std::string vm = "kp-vm";       // the VM the operation is about (made by prepare), or the one created
    std::string other = "kp-other"; // the clone's or the new name, or the image's
    std::string path;               // the VM's object path once it exists
    std::string uuid;
    std::string imagePath;
    std::string diedStarting; // why hangard's start failed, when the point is in start-up
};

class KillPointE2e;

// How a point is reached and what must be true after the restart.
struct Scenario
{
    std::function<void(KillPointE2e&, Context&)> prepare; // on the armed hangard, before the operation
    std::function<void(KillPointE2e&, Context&)> reach;   // the call that reaches the point; its answer is not used
    std::function<void(KillPointE2e&, Context&)> verify;  // after the restart, beside the common checks
};

const std::map<std::string, Scenario>& scenarios();

std::set<std::string> lines(const std::string& text)
{
    std::set<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (!line.empty())
            out.insert(line);
    return out;
}

std::string joinedSet(const std::set<std::string>& items)
{
    return joined(std::vector<std::string>(items.begin(), items.end()));
}

std::uint64_t nowUsec()
{
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
}

// One test per fault point, registered with ::testing::RegisterTest below (not TEST_P, whose suites gtest runs after
// every other: this suite must run where its source is, before the image suites).
class KillPointE2e : public E2eFixture
{
public:
    explicit KillPointE2e(std::string point) : m_point(std::move(point)) {}

    // For the scenarios, which are free functions in a table.
    using E2eFixture::client;
    using E2eFixture::guestSpec;
    using E2eFixture::libvirtd;
    using E2eFixture::m_world;

    // The small qcow2 the import scenarios upload, made once per run.
    static const std::string& smallImage()
    {
        static const std::string file = [] {
            const std::string path = world()->root.path() + "/kill-point-small.qcow2";
            run({"qemu-img", "create", "-q", "-f", "qcow2", path, "16M"});
            return path;
        }();
        return file;
    }

    // A stopped VM named name (deleted in TearDown).
    void makeVm(Context& c, const std::string& name, const Dict& spec = guestSpec())
    {
        c.path = createVm(name, spec);
        c.uuid = client().vmProperty(c.path, "UUID").get<std::string>();
    }

    sdbus::ObjectPath importImage(const std::string& name)
    {
        const int fd = ::open(smallImage().c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            throw std::runtime_error("cannot open " + smallImage());
        try {
            auto job = client().importImage(name, fd);
            ::close(fd);
            return job;
        } catch (...) {
            ::close(fd);
            throw;
        }
    }

    // A ready image named name, made through the bus (deleted in TearDown).
    std::string makeImage(const std::string& name)
    {
        const auto job = importImage(name);
        const auto end = client().waitCompleted(job, 60s);
        if (!end || !end->success)
            throw std::runtime_error("import of " + name + " failed: " + (end ? end->message : "no Completed"));
        const auto path = client().findImage(name);
        if (!path)
            throw std::runtime_error("no image " + name + " after its import");
        m_images.push_back(*path);
        return *path;
    }

    void deleteImage(const std::string& path)
    {
        client().proxy(path)->callMethod("Delete").onInterface(kImageIface).withTimeout(60s).withArguments(Dict{});
    }

    // A call whose answer does not matter (hangard dies before or after giving it).
    template <typename Fn> static void ignoringAnswer(Fn&& call)
    {
        try {
            call();
        } catch (const sdbus::Error&) {
        }
    }

    std::string vmState(const std::string& path) { return client().state(path); }

    std::vector<Event> eventsSince(std::uint64_t since)
    {
        std::vector<Event> events;
        client()
            .proxy(kManagerPath)
            ->callMethod("GetEvents")
            .onInterface(kManagerIface)
            .withTimeout(30s)
            .withArguments(Dict{{"since", sdbus::Variant(since)}, {"limit", sdbus::Variant(std::uint32_t{10000})}})
            .storeResultsTo(events);
        return events;
    }

    // An audit line since the operation began whose action is action and whose message has every needle.
    void expectEvent(const std::string& action, const std::vector<std::string>& needles)
    {
        const auto events = eventsSince(m_since);
        std::string seen;
        for (const auto& e : events) {
            const std::string& message = e.get<7>();
            seen += "\n  " + e.get<5>() + " " + e.get<6>() + " [" + e.get<4>() + "] " + message;
            if (e.get<5>() != action)
                continue;
            if (std::all_of(needles.begin(), needles.end(), [&](const std::string& n) {
                    return message.find(n) != std::string::npos || e.get<4>() == n;
                }))
                return;
        }
        ADD_FAILURE() << "no audit line " << action << " with " << joined(needles) << " since the operation:" << seen;
    }

    // No audit line says the interrupted operation (action) ended either way: only start-up speaks for it.
    void expectNoEvent(const std::string& action)
    {
        for (const auto& e : eventsSince(m_since))
            EXPECT_NE(e.get<5>(), action) << "an audit line for the killed " << action << ": " << e.get<7>();
    }

    std::string sql(const std::string& query)
    {
        const auto r = it::run({"sqlite3", "-readonly", m_world->stateDir + "/hangar.db", query}, {}, 30s);
        if (r.exitCode != 0)
            throw std::runtime_error("sqlite3 " + query + ": " + r.err);
        return r.out;
    }

    // The store, the bus, libvirt and the pool agree; nothing is left half-way.
    void expectEverythingAgrees()
    {
        EXPECT_EQ(sql("SELECT name || ' ' || phase FROM vms WHERE phase != 'ready';"), "")
            << "VM rows left in a transitional phase";
        EXPECT_EQ(sql("SELECT name || ' ' || phase FROM images WHERE phase != 'ready';"), "")
            << "image rows left in a transitional phase";
        const auto rowVms = lines(sql("SELECT uuid FROM vms;"));
        const auto rowNames = lines(sql("SELECT uuid || ' ' || name FROM vms;"));
        const auto rowImages = lines(sql("SELECT name FROM images;"));
        auto claimed = lines(sql("SELECT disk_volume FROM vms WHERE disk_volume != '';"
                                 "SELECT seed_volume FROM provisioning WHERE seed_volume != '';"
                                 "SELECT volume FROM images;"));

        Objects objects;
        client()
            .proxy(kManagerPath)
            ->callMethod("GetManagedObjects")
            .onInterface("org.freedesktop.DBus.ObjectManager")
            .withTimeout(30s)
            .storeResultsTo(objects);
        std::set<std::string> busVms, busNames, busImages, jobs;
        for (const auto& [path, interfaces] : objects) {
            if (auto vm = interfaces.find(kVmIface); vm != interfaces.end()) {
                const auto uuid = vm->second.at("UUID").get<std::string>();
                busVms.insert(uuid);
                busNames.insert(uuid + " " + vm->second.at("Name").get<std::string>());
            }
            if (auto image = interfaces.find(kImageIface); image != interfaces.end())
                busImages.insert(image->second.at("Name").get<std::string>());
            if (interfaces.count(kJobIface) != 0)
                jobs.insert(path);
        }
        const auto domains = lines(libvirtd().virsh({"list", "--all", "--uuid"}).out);
        const auto files = m_world->poolFiles();
        const std::set<std::string> pool(files.begin(), files.end());

        EXPECT_EQ(busVms, rowVms) << "bus " << joinedSet(busVms) << " vs store " << joinedSet(rowVms);
        EXPECT_EQ(busNames, rowNames) << "bus " << joinedSet(busNames) << " vs store " << joinedSet(rowNames);
        EXPECT_EQ(domains, rowVms) << "libvirt " << joinedSet(domains) << " vs store " << joinedSet(rowVms);
        EXPECT_EQ(busImages, rowImages) << "bus " << joinedSet(busImages) << " vs store " << joinedSet(rowImages);
        EXPECT_EQ(pool, claimed) << "pool " << joinedSet(pool) << " vs volumes the rows claim " << joinedSet(claimed);
        EXPECT_TRUE(jobs.empty()) << "jobs left: " << joinedSet(jobs);
        const auto boot = bootFiles();
        EXPECT_EQ(boot, m_bootBefore) << "the boot directory changed: " << joinedSet(boot);
    }

protected:
    // KilledThereTheOperationFullyHappensOrLeavesNothing for m_point.
    void TestBody() override;

    void TearDown() override
    {
        E2eFixture::TearDown();
        for (const auto& path : m_images)
            ignoringAnswer([&] { deleteImage(path); });
    }

    // What the boot directory holds (the guest's kernel and initrd): seeds never go there, a crash leaves nothing.
    std::set<std::string> bootFiles()
    {
        std::set<std::string> names;
        for (const auto& entry : std::filesystem::directory_iterator(m_world->bootDir))
            names.insert(entry.path().filename().string());
        return names;
    }

    std::string m_point;
    std::set<std::string> m_bootBefore;
    std::uint64_t m_since = 0;
    std::vector<std::string> m_images;
};

// ---- The scenarios -----------------------------------------------------------------------------------------------

Dict seededSpec()
{
    Dict spec = KillPointE2e::guestSpec();
    spec["users"] = sdbus::Variant(
        std::vector<Dict>{Dict{{"name", sdbus::Variant(std::string("kp"))}, {"sudo", sdbus::Variant(true)}}});
    return spec;
}

void nothing(KillPointE2e&, Context&) {}

// CreateVM (and clone) killed before the VM was ready: no trace of it but the audit line of its roll-back.
Scenario creation(Dict spec)
{
    return {
        nothing,
        [spec](KillPointE2e& t, Context& c) { KillPointE2e::ignoringAnswer([&] { t.client().createVm(c.vm, spec); }); },
        [](KillPointE2e& t, Context& c) {
            EXPECT_FALSE(t.client().findVm(c.vm)) << "the interrupted creation's VM is on the bus";
            t.expectEvent("recover", {c.vm, "creation was interrupted; rolled back"});
        }};
}

Scenario cloning()
{
    return {[](KillPointE2e& t, Context& c) { t.makeVm(c, c.vm); },
            [](KillPointE2e& t, Context& c) {
                KillPointE2e::ignoringAnswer([&] {
                    t.client().proxy(c.path)->callMethod("Clone").onInterface(kVmIface).withTimeout(60s).withArguments(
                        c.other, Dict{});
                });
            },
            [](KillPointE2e& t, Context& c) {
                EXPECT_FALSE(t.client().findVm(c.other)) << "the interrupted clone is on the bus";
                EXPECT_EQ(t.vmState(c.path), "stopped") << "the source VM";
                t.expectEvent("recover", {c.other, "creation was interrupted; rolled back"});
            }};
}

// Delete killed after its Deleting row: start-up finishes it.
Scenario deletion()
{
    return {[](KillPointE2e& t, Context& c) { t.makeVm(c, c.vm, seededSpec()); },
            [](KillPointE2e& t, Context& c) {
                KillPointE2e::ignoringAnswer([&] { t.client().vmCall(c.path, "Delete", {}, 60s); });
            },
            [](KillPointE2e& t, Context& c) {
                EXPECT_FALSE(t.client().findVm(c.vm)) << "the VM whose deletion was interrupted is on the bus";
                t.expectEvent("recover", {c.vm, "deletion was interrupted; finished"});
            }};
}

Scenario renaming()
{
    return {[](KillPointE2e& t, Context& c) { t.makeVm(c, c.vm); },
            [](KillPointE2e& t, Context& c) {
                KillPointE2e::ignoringAnswer([&] {
                    t.client().proxy(c.path)->callMethod("Rename").onInterface(kVmIface).withTimeout(60s).withArguments(
                        c.other, Dict{});
                });
            },
            [](KillPointE2e& t, Context& c) {
                EXPECT_EQ(t.client().vmProperty(c.path, "Name").get<std::string>(), c.other);
                const auto xml = t.libvirtd().virsh({"dumpxml", c.uuid}).out;
                EXPECT_NE(xml.find(">" + c.other + "<"), std::string::npos)
                    << "the domain's metadata does not name the VM " << c.other << ":\n"
                    << xml;
                t.expectEvent("reconcile", {c.other, "a rename from '" + c.vm + "' was interrupted; finished it"});
            }};
}

// SetResources (2 vCPUs, 256 MiB, 2 GiB) killed after its intent row: finished at start-up, in libvirt and the pool.
Scenario resizing()
{
    return {[](KillPointE2e& t, Context& c) { t.makeVm(c, c.vm); },
            [](KillPointE2e& t, Context& c) {
                KillPointE2e::ignoringAnswer([&] {
                    t.client()
                        .proxy(c.path)
                        ->callMethod("SetResources")
                        .onInterface(kVmIface)
                        .withTimeout(60s)
                        .withArguments(Dict{{"vcpus", sdbus::Variant(std::uint32_t{2})},
                                            {"memory_mib", sdbus::Variant(std::uint64_t{256})},
                                            {"disk_gib", sdbus::Variant(std::uint64_t{2})}});
                });
            },
            [](KillPointE2e& t, Context& c) {
                EXPECT_EQ(t.client().vmProperty(c.path, "VCPUs").get<std::uint32_t>(), 2U);
                EXPECT_EQ(t.client().vmProperty(c.path, "MemoryMiB").get<std::uint64_t>(), 256U);
                EXPECT_EQ(t.client().vmProperty(c.path, "DiskGiB").get<std::uint64_t>(), 2U);
                const auto xml = t.libvirtd().virsh({"dumpxml", "--inactive", c.uuid}).out;
                EXPECT_NE(xml.find(">2</vcpu>"), std::string::npos) << xml;
                EXPECT_NE(xml.find("<memory unit='KiB'>262144</memory>"), std::string::npos) << xml;
                const auto disk = qemuImgInfo(t.m_world->poolDir() + "/vm-" + c.uuid + ".qcow2");
                EXPECT_EQ(disk.at("virtual-size").get<std::uint64_t>(), 2 * kGiB) << disk.dump();
                t.expectEvent("reconcile", {c.vm, "a change of its resources was interrupted; finished it"});
            }};
}

std::vector<std::string> libvirtSnapshots(KillPointE2e& t, const std::string& uuid)
{
    const auto set = lines(t.libvirtd().virsh({"snapshot-list", uuid, "--name"}).out);
    return {set.begin(), set.end()};
}

void snapshotCall(KillPointE2e& t, const Context& c, const char* method, const std::string& name)
{
    t.client().proxy(c.path)->callMethod(method).onInterface(kVmIface).withTimeout(60s).withArguments(name, Dict{});
}

// A snapshot operation is one libvirt call: killed after it, the VM's Snapshots (read from libvirt at start-up)
// show what libvirt did; no row records it, so no audit line speaks for it.
Scenario snapshotting(const char* method, std::vector<std::string> expected, const char* action, bool reverted)
{
    return {[method](KillPointE2e& t, Context& c) {
                t.makeVm(c, c.vm);
                if (std::string(method) != "CreateSnapshot")
                    snapshotCall(t, c, "CreateSnapshot", "s1");
                // Written after the snapshot: a revert takes it away.
                writePattern(t.m_world->poolDir() + "/vm-" + c.uuid + ".qcow2", "0xa5", "0", "1M");
            },
            [method](KillPointE2e& t, Context& c) {
                KillPointE2e::ignoringAnswer([&] { snapshotCall(t, c, method, "s1"); });
            },
            [expected, action, reverted](KillPointE2e& t, Context& c) {
                const auto seen = t.client().vmProperty(c.path, "Snapshots").get<std::vector<std::string>>();
                EXPECT_EQ(libvirtSnapshots(t, c.uuid), expected);
                EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()),
                          std::set<std::string>(expected.begin(), expected.end()));
                const std::string disk = t.m_world->poolDir() + "/vm-" + c.uuid + ".qcow2";
                EXPECT_EQ(patternMismatch(disk, reverted ? "0" : "0xa5", "0", "1M"), "")
                    << (reverted ? "the revert was not carried out" : "the disk lost what was written to it");
                t.expectNoEvent(action);
            }};
}

// An import or a publish killed before its image was ready: nothing left, and the name is free again at once.
Scenario filling(bool publish)
{
    return {[publish](KillPointE2e& t, Context& c) {
                if (publish)
                    t.makeVm(c, c.vm);
            },
            [publish](KillPointE2e& t, Context& c) {
                KillPointE2e::ignoringAnswer([&] {
                    if (!publish)
                        t.importImage(c.other);
                    else
                        t.client()
                            .proxy(c.path)
                            ->callMethod("Publish")
                            .onInterface(kVmIface)
                            .withTimeout(60s)
                            .withArguments(c.other, Dict{});
                });
            },
            [](KillPointE2e& t, Context& c) {
                EXPECT_FALSE(t.client().findImage(c.other)) << "the interrupted image is on the bus";
                t.expectEvent("recover", {"image '" + c.other + "'", "import was interrupted; rolled back"});
                // Its name is free: importing it again works (issue 17 defect 1 said AlreadyExists).
                EXPECT_NO_THROW(t.makeImage(c.other));
            }};
}

Scenario imageDeletion()
{
    return {[](KillPointE2e& t, Context& c) { c.imagePath = t.makeImage(c.other); },
            [](KillPointE2e& t, Context& c) { KillPointE2e::ignoringAnswer([&] { t.deleteImage(c.imagePath); }); },
            [](KillPointE2e& t, Context& c) {
                EXPECT_FALSE(t.client().findImage(c.other)) << "the image whose deletion was interrupted";
                t.expectEvent("recover", {"image '" + c.other + "'", "deletion was interrupted; finished"});
            }};
}

// A VM whose expiry comes while hangard is killed at it: carried out at the next start.
Scenario expiry()
{
    return {[](KillPointE2e& t, Context& c) {
                Dict spec = KillPointE2e::guestSpec();
                spec["ttl_sec"] = sdbus::Variant(std::uint64_t{4});
                t.makeVm(c, c.vm, spec);
            },
            nothing, // the expiry timer reaches the point by itself
            [](KillPointE2e& t, Context& c) {
                EXPECT_TRUE(it::waitFor([&] { return !t.client().findVm(c.vm); }, 30s))
                    << "the expired VM is still on the bus";
                t.expectEvent("delete", {c.vm, "expired"});
            }};
}

// Start-up recovery killed after it removed an interrupted creation's domain and volumes, before the row: the next
// start finds the row and nothing under it, and rolls it back all the same.
Scenario recovery()
{
    return {[](KillPointE2e& t, Context& c) {
                // An interrupted creation for the next start to recover: hangard killed at create.defined.
                t.m_world->killHangard();
                t.m_world->startHangard({{kFaultPointVariable, "create.defined"}});
                KillPointE2e::ignoringAnswer([&] { t.client().createVm(c.vm, seededSpec()); });
                if (!it::waitFor([&] { return !t.m_world->hangard->running(); }, 60s))
                    throw std::runtime_error("hangard did not die at create.defined");
                t.m_world->hangard.reset();
            },
            [](KillPointE2e& t, Context& c) {
                try {
                    t.m_world->startHangard({{kFaultPointVariable, c.point}});
                } catch (const std::exception& e) {
                    c.diedStarting = e.what();
                }
            },
            [](KillPointE2e& t, Context& c) {
                EXPECT_FALSE(t.client().findVm(c.vm)) << "the interrupted creation's VM is on the bus";
                t.expectEvent("recover", {c.vm, "creation was interrupted; rolled back"});
            }};
}

const std::map<std::string, Scenario>& scenarios()
{
    static const std::map<std::string, Scenario> table{
        {"create.row-written", creation(seededSpec())},
        {"create.volume-made", creation(seededSpec())},
        {"create.seed-written", creation(seededSpec())},
        {"create.defined", creation(seededSpec())},
        {"create.before-ready", creation(seededSpec())},
        {"clone.row-written", cloning()},
        {"clone.copying", cloning()},
        {"clone.volume-copied", cloning()},
        {"clone.defined", cloning()},
        {"delete.row-written", deletion()},
        {"delete.disk-removed", deletion()},
        {"delete.undefined", deletion()},
        {"rename.row-written", renaming()},
        {"resources.row-written", resizing()},
        {"resources.domain-changed", resizing()},
        {"resources.disk-grown", resizing()},
        {"snapshot-create.taken", snapshotting("CreateSnapshot", {"s1"}, "snapshot-create", false)},
        {"snapshot-revert.reverted", snapshotting("RevertToSnapshot", {"s1"}, "snapshot-revert", true)},
        {"snapshot-delete.deleted", snapshotting("DeleteSnapshot", {}, "snapshot-delete", false)},
        {"import.row-written", filling(false)},
        {"import.copying", filling(false)},
        {"import.volume-filled", filling(false)},
        {"publish.row-written", filling(true)},
        {"publish.volume-copied", filling(true)},
        {"image-delete.row-written", imageDeletion()},
        {"image-delete.volume-removed", imageDeletion()},
        {"expiry.due", expiry()},
        {"recover.cleaned-up", recovery()},
    };
    return table;
}

// ---- The tests ---------------------------------------------------------------------------------------------------

TEST(KillPointList, EveryFaultPointHasAScenarioAndEveryScenarioAPoint)
{
    ASSERT_TRUE(kFaultPointsBuilt) << "hangard is built without fault points (cmake -DHANGAR_FAULT_POINTS=ON)";
    std::set<std::string> points;
    for (const auto name : kFaultPointNames) {
        points.insert(std::string(name));
        EXPECT_EQ(scenarios().count(std::string(name)), 1U) << "fault point " << name << " has no scenario";
    }
    for (const auto& [name, scenario] : scenarios())
        EXPECT_EQ(points.count(name), 1U) << "scenario " << name << " names no fault point";
}

void KillPointE2e::TestBody()
{
    const std::string& point = m_point;
    const auto found = scenarios().find(point);
    ASSERT_NE(found, scenarios().end()) << "fault point " << point << " has no scenario";
    const Scenario& scenario = found->second;
    Context c;
    c.point = point;
    const auto start = Clock::now();

    m_bootBefore = bootFiles();
    m_world->killHangard();
    m_world->startHangard({{kFaultPointVariable, point}});
    client().forgetCompleted();
    ASSERT_NO_THROW(scenario.prepare(*this, c)) << diagnostics();
    m_since = nowUsec();
    scenario.reach(*this, c);

    const std::string logPath = m_world->hangardLogPath(); // a scenario may have started it again
    std::string log;
    if (m_world->hangard) {
        const bool died = it::waitFor([&] { return !m_world->hangard->running(); }, 60s);
        const int status = m_world->hangard->kill();
        m_world->hangard.reset();
        log = it::readFile(logPath);
        ASSERT_TRUE(died) << "hangard did not reach " << point << ":\n" << tail(log);
        EXPECT_EQ(status, 128 + SIGKILL) << "hangard did not die of SIGKILL";
    } else { // died in its start-up, before READY=1
        log = it::readFile(logPath);
        EXPECT_NE(c.diedStarting.find("exited with status " + std::to_string(128 + SIGKILL)), std::string::npos)
            << "hangard did not die of SIGKILL: " << c.diedStarting;
    }
    EXPECT_NE(log.find("fault point " + point + " reached"), std::string::npos) << tail(log);

    m_world->startHangard();
    client().forgetCompleted();
    scenario.verify(*this, c);
    expectEverythingAgrees();
    std::cout << "[          ] " << point << ": killed and recovered in " << secondsSince(start) << " s\n";
}

// KillPointE2e.<point>_KilledThereTheOperationFullyHappensOrLeavesNothing, in the order of the list.
const bool g_registered = [] {
    for (const auto name : kFaultPointNames) {
        std::string test(name);
        std::replace_if(
            test.begin(), test.end(), [](char ch) { return std::isalnum(ch) == 0; }, '_');
        ::testing::RegisterTest("KillPointE2e", (test + "_KilledThereTheOperationFullyHappensOrLeavesNothing").c_str(),
                                nullptr, std::string(name).c_str(), __FILE__, __LINE__,
                                [point = std::string(name)]() -> E2eFixture* { return new KillPointE2e(point); });
    }
    return true;
}();

} // namespace
} // namespace hangar::e2e

#include "E2eWorld.h"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <unistd.h>

namespace hangar::e2e {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// ---- the world ---------------------------------------------------------------------------------------------------

World::World()
{
    auto t = Clock::now();
    buildGuest(bootDir);
    guestBuildSeconds = secondsSince(t);
    const std::string libvirtDir = root.path() + "/libvirt";
    fs::create_directories(libvirtDir);
    libvirtd = std::make_unique<Libvirtd>(libvirtDir);
    const std::string busDir = root.path() + "/bus";
    fs::create_directories(busDir);
    bus = std::make_unique<it::PrivateBus>(busDir);
    // No [Storage] section: the pool is the default one at the default place, as on a fresh install.
    m_hangardConfig = "# hangard.conf of Hangar's end-to-end suite\n"
                      "[Daemon]\n"
                      "stats_interval_sec = 1\n"
                      "[Images]\n"
                      "stall_timeout_sec = 5\n"
                      "copy_workers = 1\n"
                      "[Guest]\n"
                      "boot_dir = " +
                      bootDir + "\n";
    hangard = std::make_unique<HangardProcess>(bus->address(), libvirtd->uri(), stateDir, m_hangardConfig,
                                               root.path() + "/hangard.log");
    client = std::make_unique<BusClient>(bus->address());
}

World::~World()
{
    client.reset();
    if (hangard)
        hangard->stop();
    hangard.reset();
    if (libvirtd)
        libvirtd->stop();
    libvirtd.reset();
    bus.reset();
}

std::vector<std::string> World::hangarctlArgv(const std::vector<std::string>& args) const
{
    // No password agent, whatever stdin is: the daemon's authorizer allows everything anyway.
    std::vector<std::string> argv{it::hangarctlPath(), "--bus=" + bus->address(), "--no-ask-password"};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

RunResult World::hangarctl(const std::vector<std::string>& args, std::chrono::seconds timeout) const
{
    return it::run(hangarctlArgv(args), {}, timeout);
}

std::string World::poolDir()
{
    if (!m_poolDir.empty())
        return m_poolDir;
    const auto r = libvirtd->virsh({"pool-dumpxml", kPoolName});
    const auto begin = r.out.find("<path>");
    const auto end = r.out.find("</path>");
    if (r.exitCode != 0 || begin == std::string::npos || end == std::string::npos)
        throw std::runtime_error(std::string("libvirt has no pool '") + kPoolName +
                                 "' (hangard defines it at start): " + r.err + r.out);
    m_poolDir = r.out.substr(begin + 6, end - begin - 6);
    return m_poolDir;
}

void World::restartHangard()
{
    killHangard();
    startHangard();
}

void World::killHangard()
{
    hangard->kill();
    hangard.reset();
}

void World::startHangard(const std::map<std::string, std::string>& env)
{
    ++m_restarts;
    hangard = std::make_unique<HangardProcess>(bus->address(), libvirtd->uri(), stateDir, m_hangardConfig,
                                               hangardLogPath(), env);
}

std::string World::hangardLogPath() const
{
    return root.path() + "/hangard-restart-" + std::to_string(m_restarts) + ".log";
}

std::vector<std::string> World::poolFiles()
{
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(poolDir()))
        names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

namespace {

std::unique_ptr<World> g_world;
std::string g_worldError;
bool g_worldTried = false;

} // namespace

World* world()
{
    if (!g_worldTried) {
        g_worldTried = true;
        try {
            g_world = std::make_unique<World>();
        } catch (const std::exception& e) {
            g_worldError = e.what();
        }
    }
    return g_world.get();
}

const std::string& worldError()
{
    return g_worldError;
}

World* builtWorld()
{
    return g_world.get();
}

void endWorld()
{
    g_world.reset();
}

// ---- the fixture -------------------------------------------------------------------------------------------------

void E2eFixture::SetUp()
{
    m_world = world();
    if (!m_world)
        FAIL() << "the end-to-end world could not be set up: " << worldError();
}

void E2eFixture::TearDown()
{
    // A test that failed half-way must not leave a guest running (or a disk in use) into the next one.
    for (const auto& path : m_ownVms) {
        try {
            m_world->client->vmCall(path, "Delete", Dict{{"force", sdbus::Variant(true)}}, 60s);
        } catch (const std::exception&) {
        }
    }
}

std::string E2eFixture::exec(const std::string& path, const std::vector<std::string>& argv)
{
    sdbus::ObjectPath job;
    client()
        .proxy(path)
        ->callMethod("Exec")
        .onInterface(kVmIface)
        .withTimeout(60s)
        .withArguments(argv, Dict{})
        .storeResultsTo(job);
    return job;
}

Dict E2eFixture::guestSpec(const std::string& extraCmdline)
{
    std::string cmdline = "console=ttyS0 quiet";
    if (!extraCmdline.empty())
        cmdline += " " + extraCmdline;
    return Dict{{"vcpus", sdbus::Variant(std::uint32_t{1})},
                {"memory_mib", sdbus::Variant(kGuestMemoryMiB)},
                {"disk_gib", sdbus::Variant(std::uint64_t{1})},
                {"description", sdbus::Variant(std::string("Hangar end-to-end test guest"))},
                {"kernel", sdbus::Variant(std::string("vmlinuz"))},
                {"initrd", sdbus::Variant(std::string("initrd.gz"))},
                {"cmdline", sdbus::Variant(cmdline)}};
}

std::string E2eFixture::domainOf(const std::string& path)
{
    return "hangar-" + client().vmProperty(path, "UUID").get<std::string>();
}

std::string E2eFixture::diagnostics(const std::string& domain)
{
    std::string out = "\n--- hangard log (tail) ---\n" + tail(m_world->hangard ? m_world->hangard->log() : "", 3000);
    if (!domain.empty())
        out += "\n--- QEMU log of " + domain + " (tail) ---\n" + tail(m_world->libvirtd->qemuLog(domain), 3000);
    return out;
}

std::string E2eFixture::createVm(const std::string& name, const Dict& spec)
{
    std::string path;
    try {
        path = client().createVm(name, spec);
    } catch (const sdbus::Error& e) {
        throw std::runtime_error("CreateVM " + name + " failed: " + describe(e) + diagnostics());
    }
    m_ownVms.push_back(path);
    return path;
}

std::string E2eFixture::bootVm(const std::string& name, const Dict& spec, bool own)
{
    std::string path;
    try {
        path = client().createVm(name, spec);
    } catch (const sdbus::Error& e) {
        throw std::runtime_error("CreateVM " + name + " with kernel boot failed: " + describe(e) + diagnostics());
    }
    if (own)
        m_ownVms.push_back(path);
    const auto mark = client().mark();
    try {
        client().vmCall(path, "Start");
    } catch (const sdbus::Error& e) {
        throw std::runtime_error("Start " + name + " failed: " + describe(e) + diagnostics(domainOf(path)));
    }
    if (!client().waitState(path, "running", mark, kBootDeadline) && client().state(path) != "running")
        throw std::runtime_error(name + " did not reach running within " + std::to_string(kBootDeadline.count()) +
                                 " s; states seen: " + client().statesSince(path, mark) + diagnostics(domainOf(path)));
    return path;
}

std::string E2eFixture::sharedVm()
{
    if (m_world->sharedVm)
        return *m_world->sharedVm;
    if (!m_world->sharedVmError.empty())
        throw std::runtime_error("the shared VM could not be booted earlier: " + m_world->sharedVmError);
    try {
        m_world->sharedVm = bootVm("e2e-shared", guestSpec(), false);
    } catch (const std::exception& e) {
        m_world->sharedVmError = e.what();
        throw;
    }
    return *m_world->sharedVm;
}

// Read from the domain's pty directly (not through Hangar), so the tests of stopping do not depend on OpenConsole:
// a guest that has shown its marker obeys the ACPI power button.
void E2eFixture::waitGuestUp(const std::string& path)
{
    const std::string domain = domainOf(path);
    const auto start = Clock::now();
    int fd = -1;
    it::waitFor([&] { return (fd = openDomainPty(libvirtd(), domain)) >= 0; }, 10s);
    if (fd < 0)
        throw std::runtime_error("virsh ttyconsole " + domain +
                                 " gave no pty: does the domain have a pty serial console? " +
                                 libvirtd().virsh({"dumpxml", domain}).out);
    const std::string seen = readUntil(fd, kGuestMarker, kMarkerDeadline);
    close(fd);
    if (seen.find(kGuestMarker) == std::string::npos)
        throw std::runtime_error("no " + std::string(kGuestMarker) + " on " + domain + "'s serial console within " +
                                 std::to_string(kMarkerDeadline.count()) + " s; got: " + seen + diagnostics(domain));
    std::cout << "[          ] " << domain << ": guest up " << secondsSince(start) << " s after its pty opened\n";
}

} // namespace hangar::e2e

#include "service/Daemon.h"

#include "auth/AllowAllAuthorizer.h"
#include "auth/PolkitAuthorizer.h"
#include "bus/BusSupport.h"
#include "bus/ManagerObject.h"
#include "core/AlertMonitor.h"
#include "core/AuditLog.h"
#include "core/ImageManager.h"
#include "core/Inventory.h"
#include "core/Jobs.h"
#include "core/LoopThread.h"
#include "core/Quota.h"
#include "core/Reconciler.h"
#include "core/Stats.h"
#include "core/VmManager.h"
#include "osinfo/OsinfoCatalog.h"
#include "provision/IsoSeedBuilder.h"
#include "service/AlertCommandRunner.h"
#include "service/BootDir.h"
#include "service/Logging.h"
#include "service/Loop.h"
#include "service/Reloader.h"
#include "store/SqliteStore.h"
#include "virt/LibvirtHostSource.h"
#include "virt/LibvirtHypervisor.h"
#include "virt/LibvirtStatsSource.h"
#include "virt/LibvirtStorage.h"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sdbus-c++/sdbus-c++.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>

namespace hangar::service {
namespace {

std::unique_ptr<sdbus::IConnection> connectBus(const std::string& bus)
{
    if (bus == "system")
        return sdbus::createSystemBusConnection();
    if (bus == "session")
        return sdbus::createSessionBusConnection();
    return sdbus::createSessionBusConnectionWithAddress(bus);
}

void ensureStateDir(const std::string& dir)
{
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec)
        throw std::runtime_error("cannot create state directory " + dir + ": " + ec.message());
    // Nobody else may list it or read the database (every user's inventory and audit trail; the service user's
    // group, hangar, is also the group that grants guests their rights), but QEMU, running as its own user, must be
    // able to pass through to the storage pool and boot directory inside: 0711, and the database files 0600.
    if (chmod(dir.c_str(), 0711) != 0 && errno == EROFS)
        throw std::runtime_error("state directory " + dir +
                                 " is on a read-only file system; hangard writes its database (hangar.db) and the "
                                 "storage pool there: remount it read-write, or set StateDirectory elsewhere");
    if (chmod(dir.c_str(), 0711) != 0 && errno != EPERM)
        throw std::runtime_error("cannot set the mode of " + dir + ": " + std::strerror(errno));
}

unsigned long long monotonicUsec()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL + static_cast<unsigned long long>(ts.tv_nsec) / 1000;
}

// What SIGHUP may change while running. A new setting is one line here: live (with what applies it) or restartOnly.
void registerSettings(ConfigReloader& reloader, QuotaManager& quotas, ImageManager& images, VmManager& manager,
                      AlertMonitor& alerts, AlertCommandRunner& alertCommand)
{
    reloader.live("[Alerts]", &Config::alerts, [&alerts, &alertCommand](const AlertSettings& settings) {
        alerts.setSettings(settings);
        alertCommand.setSettings(settings);
    });
    reloader.live("[Lifetime]", &Config::lifetime,
                  [&manager](const LifetimeSettings& lifetime) { manager.setLifetimeSettings(lifetime); });
    reloader.live("[Quota] create rate", &Config::createRate,
                  [&manager](const CreateRateSettings& rate) { manager.setCreateRate(rate); });
    reloader.live("[Daemon] log_level", &Config::logLevel, [](const std::string& level) { setLogLevel(level); });
    reloader.live("[Quota] defaults", &Config::quotaDefaults,
                  [&quotas](const QuotaLimits& limits) { quotas.setDefaults(limits); });
    reloader.live("[Images] max_import_gib", &Config::maxImportGiB,
                  [&images](const std::uint64_t& gib) { images.setMaxImportBytes(gib * kGiB); });
    reloader.live("[Images] stall_timeout_sec", &Config::stallTimeoutSec,
                  [&images](const unsigned& sec) { images.setStallTimeout(std::chrono::seconds(sec)); });
    // Each of these is wired into an object built once at start (the connection, the libvirt connections and
    // pool, the database, the worker threads, the sampler's timer): a change waits for the next start.
    reloader.restartOnly("[Daemon] bus", &Config::bus);
    reloader.restartOnly("[Daemon] hypervisor", &Config::hypervisor);
    reloader.restartOnly("[Daemon] state_dir", &Config::stateDir);
    reloader.restartOnly("[Daemon] authorizer", &Config::authorizer);
    reloader.restartOnly("[Daemon] workers", &Config::workers);
    reloader.restartOnly("[Images] copy_workers", &Config::copyWorkers);
    reloader.restartOnly("[Daemon] stats_interval_sec", &Config::statsIntervalSec);
    reloader.restartOnly("[Daemon] domain_type", &Config::domainType);
    reloader.restartOnly("[Daemon] hypervisor_log_dir", &Config::hypervisorLogDir);
    reloader.restartOnly("[Guest] boot_dir", &Config::bootDir);
    reloader.restartOnly("[Storage] pool", &Config::storagePool);
    reloader.restartOnly("[Storage] pool_path", &Config::storagePoolPath);
}

} // namespace

int runDaemon(const Config& config, const std::string& version, std::function<Config()> loadConfig)
{
    ensureStateDir(config.stateDir);
    prepareBootDir(config.bootDir, config.hypervisor.rfind("test:", 0) != 0);
    // Before the loop: its workers may still be identifying an ISO while the loop winds down.
    const osinfo::OsinfoCatalog osCatalog;
    Loop loop(config.workers, config.copyWorkers);
    LoopThread::bind(); // this thread runs the loop: core is checked to be entered from it alone
    store::SqliteStore store(config.stateDir + "/hangar.db");
    if (!store.migrationBackup().empty())
        spdlog::info("store: schema migrated; the database as it was before is in {}", store.migrationBackup());
    for (const char* suffix : {"", "-wal", "-shm"}) // SQLite creates the last two like the first
        if (const std::string file = config.stateDir + "/hangar.db" + suffix;
            chmod(file.c_str(), 0600) != 0 && errno != ENOENT && errno != EPERM)
            throw std::runtime_error("cannot set the mode of " + file + ": " + std::strerror(errno));
    virt::LibvirtStorage storage(config.hypervisor, config.storagePool, config.storagePoolPath);
    virt::LibvirtHypervisor hypervisor(
        config.hypervisor, [&loop](std::function<void()> fn) { loop.post(std::move(fn)); },
        virt::LibvirtOptions{config.domainType, config.bootDir, config.storagePool, config.hypervisorLogDir});

    auto connection = connectBus(config.bus);
    loop.attachBus(*connection);

    std::unique_ptr<Authorizer> authorizer;
    if (effectiveAuthorizer(config) == "polkit") {
        authorizer = std::make_unique<auth::PolkitAuthorizer>(*connection);
        spdlog::info("authorization: polkit decides every state change (actions org.hangar.hangar1.*)");
    } else {
        authorizer = std::make_unique<auth::AllowAllAuthorizer>();
        spdlog::info("authorization: polkit is not asked; every caller of this {} bus is allowed{}", config.bus,
                     config.bus == "session" ? " (a session bus admits only its own user)" : "");
    }

    Inventory inventory;
    AuditLog audit(store, loop);
    JournalEventSink journal;
    audit.addSink(&journal);
    QuotaManager quotas(inventory, store, *authorizer, audit, config.quotaDefaults);
    virt::LibvirtStatsSource statsSource(config.hypervisor);
    StatsSampler stats(inventory, statsSource, loop, std::chrono::seconds(config.statsIntervalSec));
    JobManager jobs(loop, *authorizer);
    ImageManager images(inventory, store, storage, *authorizer, loop, audit, jobs, quotas, config.maxImportGiB * kGiB,
                        osCatalog);
    images.osCatalog().preload(); // read the OS database on a worker now, so the first request finds it loaded
    images.setStallTimeout(std::chrono::seconds(config.stallTimeoutSec));
    VmManager manager(inventory, store, hypervisor, storage, images, *authorizer, loop, audit, quotas, "local",
                      BootDirectory(config.bootDir));
    const provision::IsoSeedBuilder seeds;
    manager.setSeedBuilder(seeds);
    manager.setLifetimeSettings(config.lifetime);
    manager.setCreateRate(config.createRate);
    Reconciler reconciler(inventory, store, hypervisor, storage, images, loop, audit);
    hypervisor.subscribe([&](const HypervisorEvent& event) {
        manager.handleHypervisorEvent(event);
        reconciler.handleHypervisorEvent(event);
    });

    virt::LibvirtHostSource hostSource(config.hypervisor, "local", config.storagePool);
    AlertMonitor alerts(inventory, stats, hostSource, loop, audit, *authorizer, config.alerts);
    JournalAlertSink alertJournal;
    AlertCommandRunner alertCommand(config.alerts);
    alerts.addSink(&alertJournal);
    alerts.addSink(&alertCommand);

    ConfigReloader reloader(config, std::move(loadConfig));
    registerSettings(reloader, quotas, images, manager, alerts, alertCommand);

    std::unique_ptr<bus::ManagerObject> managerObject;
    int exitCode = 0;
    bool ready = false;
    auto notifyReady = [&] {
        const auto counts = inventory.counts();
        sd_notifyf(0, "READY=1\nSTATUS=Serving %u VMs (%u running) on %s", counts.vms, counts.running,
                   config.hypervisor.c_str());
    };

    auto shutdown = [&] {
        spdlog::info("stopping");
        sd_notify(0, "STOPPING=1\nSTATUS=Stopping");
        loop.exit(0);
    };
    loop.onSignal(SIGTERM, shutdown);
    loop.onSignal(SIGINT, shutdown);
    // systemd (Type=notify-reload, 253+) wants RELOADING=1 with the time of the request, then READY=1 once done.
    // Before the first READY=1 the start-up's own READY=1 ends the reload.
    loop.onSignal(SIGHUP, [&] {
        spdlog::info("SIGHUP: reloading the configuration");
        sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=Reloading the configuration", monotonicUsec());
        reloader.reload();
        if (ready)
            notifyReady();
    });
    loop.enableWatchdog();

    sd_notify(0, "STATUS=Reconciling the inventory with the hypervisor");
    reconciler.startup([&](const ReconcileReport& report) {
        try {
            managerObject = std::make_unique<bus::ManagerObject>(
                *connection, manager, images, jobs, quotas, inventory, stats, alerts,
                bus::ManagerInfo{version, config.hypervisor,
                                 [&loop](std::function<void()> fn) { loop.post(std::move(fn)); }});
            inventory.setObserver(managerObject.get());
            images.setObserver(managerObject.get());
            jobs.setObserver(managerObject.get());
            audit.addSink(managerObject.get());
            alerts.addSink(managerObject.get());
            connection->requestName(bus::kBusName);
        } catch (const std::exception& e) {
            spdlog::critical("cannot serve {} on the {} bus: {}", bus::kBusName, config.bus, e.what());
            exitCode = 1;
            loop.exit(1);
            return;
        }
        const auto counts = inventory.counts();
        spdlog::info("serving {} on the {} bus: {} VMs ({} running), hypervisor {}; recovered {} interrupted "
                     "creations and {} deletions, redefined {}, adopted {}, unavailable {}; {} images ({} interrupted "
                     "image operations cleaned up, {} orphan volumes removed), storage pool {}; {} clean-ups failed "
                     "and are retried",
                     bus::kBusName, config.bus, counts.vms, counts.running, config.hypervisor, report.rolledBack,
                     report.finished, report.redefined, report.adopted, report.unavailable, images.all().size(),
                     report.imagesRecovered, report.orphanVolumes, config.storagePool, report.retrying);
        ready = true;
        notifyReady();
    });

    stats.start();
    alerts.start();
    const int r = loop.run();
    alerts.stop();
    stats.stop();
    if (r < 0 && exitCode == 0) {
        spdlog::error("event loop failed: {}", std::strerror(-r));
        exitCode = 1;
    }
    if (r > 0)
        exitCode = r;

    // Tear down in reverse: stop answering, finish running work, then drop what work referenced.
    inventory.setObserver(nullptr);
    images.setObserver(nullptr);
    jobs.setObserver(nullptr);
    managerObject.reset();
    jobs.cancelAll(); // an upload in progress would hold up the workers' end for as long as it has bytes left
    // Copies get a moment to see the cancel. One stuck in a read that never returns (a stalled FUSE or network file)
    // is left behind; it may still use the storage and the caller's fd, so the destructors of those must not run:
    // end the process here. Everything committed is in the WAL; the bus and libvirtd see the connections close.
    if (const std::size_t stuck = loop.stopLongWork(std::chrono::seconds(5)); stuck > 0) {
        // Such a read sleeps uninterruptibly: the kernel keeps this process (and every fd it has) until the read
        // returns, whatever signal comes. Give back what a new hangard needs first: the bus name and the database.
        spdlog::warn("{} image {} stuck in reads of a file that does not answer; releasing the bus name and the "
                     "database and exiting without waiting for them (the process ends when the read returns)",
                     stuck, stuck == 1 ? "copy is" : "copies are");
        try {
            connection->releaseName(bus::kBusName);
        } catch (const sdbus::Error&) {
        }
        store.close();
        spdlog::default_logger()->flush();
        std::_Exit(exitCode);
    }
    loop.stopWorkers();
    try {
        connection->releaseName(bus::kBusName);
    } catch (const sdbus::Error&) { // never owned it, or the bus is gone: nothing to release
    }
    return exitCode;
}

} // namespace hangar::service

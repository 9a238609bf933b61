// hangar-bench: Hangar side by side with libvirt-dbus and the raw libvirt C API, on this machine, in one run.
// For each N it starts every system afresh on its own private bus (raw libvirt: in this process), gives each the
// same N VMs through its own API, runs the scenarios, and at the end prints one table. See docs/performance.md.
#include "HangarSystem.h"
#include "LibvirtDbusSystem.h"
#include "Load.h"
#include "RawLibvirtSystem.h"
#include "Report.h"
#include "Scenarios.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <pwd.h>
#include <sstream>
#include <unistd.h>

namespace hangar::bench {
namespace {

struct Options
{
    std::string hangard = HANGARD_PATH;
    std::string libvirtDbus = "/usr/sbin/libvirt-dbus";
    std::string polkitd = "/usr/lib/polkit-1/polkitd";
    std::string polkitUser; // empty: no polkit scenario
    std::vector<std::size_t> sizes{100, 1000, 10000};
    unsigned budgetSeconds = 540;
    unsigned clients = 16;
    unsigned concurrencySeconds = 10;
    std::size_t pairs = 200;
    bool load = false; // the load scenario alone (Load.h) instead of the comparison
    LoadOptions loadOptions;
    std::size_t loadInventory = 100;
};

const Clock::time_point g_started = Clock::now();

void progress(const std::string& what)
{
    std::fprintf(stderr, "[%6.1f s] %s\n", std::chrono::duration<double>(Clock::now() - g_started).count(),
                 what.c_str());
}

double micros(Clock::duration d)
{
    return std::chrono::duration<double, std::micro>(d).count();
}

std::string loadAverage()
{
    std::istringstream in(readFile("/proc/loadavg"));
    std::string one, five, fifteen;
    in >> one >> five >> fifteen;
    return one + " " + five + " " + fifteen;
}

// The rows of the table, in order.
struct Scenarios
{
    explicit Scenarios(const Options& o)
    {
        const std::string conc =
            std::to_string(o.clients) + " clients x " + std::to_string(o.concurrencySeconds) + " s";
        concThroughput = conc + ": calls/s";
        concLatency = conc + ": per call";
        concErrors = conc + ": errors";
    }
    std::string setup = "setup: create N VMs through the API";
    std::string pingBus = "floor: Peer.Ping to dbus-daemon";
    std::string pingDaemon = "floor: Peer.Ping to the daemon";
    std::string inventory = "inventory read, all VMs";
    std::string inventorySeq = "inventory read, libvirt-dbus 1 call at a time";
    std::string start = "lifecycle: Start";
    std::string stop = "lifecycle: Stop (force)";
    std::string startPolkit = "lifecycle: Start, real polkitd";
    std::string stopPolkit = "lifecycle: Stop (force), real polkitd";
    std::string notifyStart = "notification: Start sent -> running seen";
    std::string notifyStop = "notification: Stop sent -> stopped seen";
    std::string concThroughput, concLatency, concErrors;
    std::string rss = "daemon RSS after the scenarios";
    std::string startupEmpty = "hangard start-up, empty store";
    std::string startup = "hangard start-up, N VMs in store";

    std::vector<std::string> all() const
    {
        return {setup,       pingBus,     pingDaemon, inventory,    inventorySeq, start,
                stop,        startPolkit, stopPolkit, notifyStart,  notifyStop,   concThroughput,
                concLatency, concErrors,  rss,        startupEmpty, startup};
    }
};

class Run
{
public:
    explicit Run(Options options) : m_options(std::move(options)), m_rows(m_options), m_work("hangar-bench-") {}

    int execute()
    {
        for (const auto& s : m_rows.all())
            m_report.declare(s);
        m_notes.push_back("load average (1, 5, 15 min) at the start: " + loadAverage());
        m_deadline = g_started + std::chrono::seconds(m_options.budgetSeconds);
        RawLibvirtSystem raw;
        for (std::size_t n : m_options.sizes) {
            try {
                round(n, raw);
            } catch (const std::exception& e) { // a daemon that would not start: the other rounds still run
                note("N=" + std::to_string(n) + ": the round failed: " + e.what());
            }
        }
        m_notes.push_back("load average (1, 5, 15 min) at the end: " + loadAverage());
        m_notes.push_back(signalOrderNote());
        std::cout << "Latency cells: p50 / p99 (n = samples, shown when under 100). Ratio columns: Hangar's figure "
                     "divided by the other system's (p50 ratio / p99 ratio); above 1 means Hangar takes longer or "
                     "uses more, except for calls/s, where above 1 means Hangar does more.\n\n";
        std::cout << m_report.markdown() << '\n';
        for (const auto& note : m_notes)
            std::cout << "- " << note << '\n';
        return 0;
    }

private:
    void note(const std::string& text)
    {
        progress("note: " + text);
        m_notes.push_back(text);
    }

    // What a round needs after its setup: the concurrency scenario (fixed), and the rest of the previous round's
    // time scaled by N (reads grow with N; the timed scenarios are bounded), with a margin.
    Clock::duration reserveAfterSetup(std::size_t n) const
    {
        const double scale = m_lastRoundN ? static_cast<double>(n) / static_cast<double>(m_lastRoundN) : 1.0;
        return std::chrono::seconds(3 * m_options.concurrencySeconds + 30) +
               std::chrono::duration_cast<Clock::duration>(m_lastRoundRest * scale);
    }

    void round(std::size_t n, RawLibvirtSystem& raw)
    {
        const std::string N = std::to_string(n);
        const std::string dir = m_work.path() + "/n" + N;
        std::filesystem::create_directories(dir + "/hangar");
        std::filesystem::create_directories(dir + "/libvirt-dbus");
        if (Clock::now() + reserveAfterSetup(n) >= m_deadline) {
            for (std::size_t s : {kHangar, kLibvirtDbus, kRaw})
                m_report.set(m_rows.setup, n, s, Cell::ofText("not run: time budget spent"));
            note("N=" + N + " was not run: too little of the time budget was left for it");
            return;
        }
        progress("N=" + N + ": starting hangard and libvirt-dbus, each on its own private bus");
        auto hangar = std::make_unique<HangarSystem>(m_options.hangard, dir + "/hangar");
        m_report.set(m_rows.startupEmpty, n, kHangar, Cell::ofDuration(micros(hangar->lastStartup())));
        auto libvirtDbus = std::make_unique<LibvirtDbusSystem>(m_options.libvirtDbus, dir + "/libvirt-dbus");
        raw.reset();
        const std::array<System*, 3> systems{hangar.get(), libvirtDbus.get(), &raw};

        std::array<bool, 3> ready{};
        const auto setupDeadline = m_deadline - reserveAfterSetup(n);
        for (std::size_t s : {kHangar, kLibvirtDbus, kRaw}) {
            const auto t0 = Clock::now();
            ready[s] = systems[s]->populate(n, setupDeadline);
            const auto took = Clock::now() - t0;
            if (ready[s]) {
                m_report.set(m_rows.setup, n, s, Cell::ofDuration(micros(took)));
            } else {
                m_report.set(m_rows.setup, n, s,
                             Cell::ofText("not finished: " + std::to_string(systems[s]->size()) + " in " +
                                          formatMicros(micros(took))));
                note(systems[s]->name() + " did not finish creating " + N + " VMs within the time budget (" +
                     std::to_string(systems[s]->size()) + " in " + formatMicros(micros(took)) + "): N=" + N +
                     " is not measured for it");
            }
            progress(systems[s]->name() + ": " + std::to_string(systems[s]->size()) + " VMs in " +
                     formatMicros(micros(took)));
        }
        for (std::size_t s : {kHangar, kLibvirtDbus}) {
            const auto settled = waitIdle(*systems[s]->daemonPid(), std::chrono::seconds(30));
            progress(systems[s]->name() + ": idle after " + formatMicros(micros(settled)));
        }
        const auto restStarted = Clock::now();
        Clock::duration concurrencyTime{};

        const auto each = [&](const char* what, const std::function<void(std::size_t, System&)>& fn) {
            for (std::size_t s : {kHangar, kLibvirtDbus, kRaw}) {
                if (!ready[s])
                    continue;
                progress("N=" + N + " " + systems[s]->name() + ": " + what);
                try {
                    fn(s, *systems[s]);
                } catch (const std::exception& e) {
                    note(systems[s]->name() + ", N=" + N + ", " + what + ": failed: " + e.what());
                }
            }
        };

        each("Peer.Ping", [&](std::size_t s, System& sys) {
            if (!sys.busAddress()) {
                m_report.set(m_rows.pingBus, n, s, Cell::ofText("n/a (no bus)"));
                m_report.set(m_rows.pingDaemon, n, s, Cell::ofText("n/a (no daemon)"));
                return;
            }
            m_report.set(m_rows.pingBus, n, s,
                         Cell::ofLatency(pingRoundTrips(*sys.busAddress(), "org.freedesktop.DBus", 2000).summary()));
            m_report.set(m_rows.pingDaemon, n, s,
                         Cell::ofLatency(pingRoundTrips(*sys.busAddress(), *sys.daemonBusName(), 2000).summary()));
        });
        each("inventory read", [&](std::size_t s, System& sys) {
            std::string problem;
            const auto samples = inventoryReads([&] { return sys.readInventory(); }, n, problem);
            m_report.set(m_rows.inventory, n, s, Cell::ofLatency(samples.summary()));
            if (!problem.empty())
                note(sys.name() + ", N=" + N + ", inventory: " + problem);
            if (s == kLibvirtDbus) {
                auto& ld = static_cast<LibvirtDbusSystem&>(sys);
                const auto seq = inventoryReads([&] { return ld.readInventory(1); }, n, problem);
                m_report.set(m_rows.inventorySeq, n, s, Cell::ofLatency(seq.summary()));
                m_report.set(m_rows.inventorySeq, n, kHangar, Cell::ofText("(one call: row above)"));
                m_report.set(m_rows.inventorySeq, n, kRaw, Cell::ofText("(no bus: row above)"));
            }
        });
        each("lifecycle", [&](std::size_t s, System& sys) {
            const auto r = lifecycle(sys, 20, m_options.pairs);
            m_report.set(m_rows.start, n, s, Cell::ofLatency(r.start.summary()));
            m_report.set(m_rows.stop, n, s, Cell::ofLatency(r.stop.summary()));
            if (r.errors)
                note(sys.name() + ", N=" + N + ", lifecycle: " + std::to_string(r.errors) +
                     " errors, first: " + r.firstError);
        });
        each("notification", [&](std::size_t s, System& sys) {
            const auto r = notification(sys, 21, m_options.pairs);
            m_report.set(m_rows.notifyStart, n, s, Cell::ofLatency(r.started.summary()));
            m_report.set(m_rows.notifyStop, n, s, Cell::ofLatency(r.stopped.summary()));
            m_signalBeforeReply[s] += r.signalBeforeReply;
            m_signalCount[s] += r.started.size() + r.stopped.size();
        });
        each("concurrency", [&](std::size_t s, System& sys) {
            const auto t0 = Clock::now();
            const auto r = concurrency(sys, m_options.clients, std::chrono::seconds(m_options.concurrencySeconds));
            concurrencyTime += Clock::now() - t0;
            m_report.set(m_rows.concThroughput, n, s, Cell::ofRate(static_cast<double>(r.ok) / r.seconds));
            m_report.set(m_rows.concLatency, n, s, Cell::ofLatency(r.calls.summary()));
            m_report.set(m_rows.concErrors, n, s, Cell::ofCount(static_cast<double>(r.errors)));
            if (r.errors)
                note(sys.name() + ", N=" + N + ", concurrency: first error: " + r.firstError);
        });
        for (std::size_t s : {kHangar, kLibvirtDbus}) {
            if (!ready[s])
                continue;
            if (const auto rss = rssKiB(*systems[s]->daemonPid()))
                m_report.set(m_rows.rss, n, s, Cell::ofMemoryKiB(static_cast<double>(*rss)));
        }
        m_report.set(m_rows.rss, n, kRaw, Cell::ofText("n/a (in-process)"));
        libvirtDbus.reset();

        if (ready[kHangar]) {
            try {
                progress("N=" + N + " Hangar: restart with " + N + " VMs in its store");
                m_report.set(m_rows.startup, n, kHangar, Cell::ofDuration(micros(hangar->restart())));
                m_report.set(m_rows.startup, n, kLibvirtDbus, Cell::ofText("n/a (no store)"));
                if (!m_options.polkitUser.empty())
                    polkitScenario(n, *hangar);
            } catch (const std::exception& e) {
                note("Hangar, N=" + N + ", restart: failed: " + e.what());
            }
        }
        m_lastRoundRest = Clock::now() - restStarted - concurrencyTime;
        m_lastRoundN = n;
    }

    // Hangar with the authorizer it uses on the system bus: the real polkitd, asked on every call. The client is an
    // unprivileged user in group hangar (root is always authorized) acting on a VM of its own.
    void polkitScenario(std::size_t n, HangarSystem& hangar)
    {
        progress("N=" + std::to_string(n) + " Hangar: lifecycle with the real polkitd, as user " +
                 m_options.polkitUser);
        hangar.startPolkitd(m_options.polkitd);
        hangar.restart("polkit");
        const passwd* pw = getpwnam(m_options.polkitUser.c_str());
        if (!pw)
            throw std::runtime_error("no user " + m_options.polkitUser);
        const RunResult client =
            run({"/usr/bin/setpriv", "--reuid=" + std::to_string(pw->pw_uid), "--regid=" + std::to_string(pw->pw_gid),
                 "--init-groups", "--", std::filesystem::read_symlink("/proc/self/exe").string(),
                 "--polkit-client=" + *hangar.busAddress(), "--pairs=" + std::to_string(m_options.pairs)},
                {}, std::chrono::seconds(120));
        Samples start, stop;
        std::size_t errors = 0;
        std::string other = client.err; // the client's own messages
        std::istringstream lines(client.out);
        for (std::string line; std::getline(lines, line);) {
            std::istringstream fields(line);
            std::string key;
            double value = 0;
            const bool parsed = static_cast<bool>(fields >> key >> value);
            if (parsed && key == "start_us")
                start.addMicros(value);
            else if (parsed && key == "stop_us")
                stop.addMicros(value);
            else if (parsed && key == "errors")
                errors = static_cast<std::size_t>(value);
            else
                other += line + "\n"; // the client's own messages
        }
        if (client.exitCode != 0 || start.size() == 0)
            throw std::runtime_error("the polkit client failed (status " + std::to_string(client.exitCode) +
                                     "): " + other);
        m_report.set(m_rows.startPolkit, n, kHangar, Cell::ofLatency(start.summary()));
        m_report.set(m_rows.stopPolkit, n, kHangar, Cell::ofLatency(stop.summary()));
        if (errors)
            note("Hangar with polkitd, N=" + std::to_string(n) + ": " + std::to_string(errors) + " errors: " + other);
    }

    std::string signalOrderNote() const
    {
        std::ostringstream s;
        const char* names[] = {"Hangar", "libvirt-dbus", "raw libvirt (event before the call returned)"};
        s << "notification seen before the method's reply:";
        for (std::size_t i = 0; i < 3; ++i)
            s << (i ? "," : "") << ' ' << names[i] << ' ' << m_signalBeforeReply[i] << " of " << m_signalCount[i];
        return s.str();
    }

    Options m_options;
    Scenarios m_rows;
    TempDir m_work;
    Report m_report;
    std::vector<std::string> m_notes;
    Clock::time_point m_deadline;
    Clock::duration m_lastRoundRest{};
    std::size_t m_lastRoundN = 0;
    std::array<std::size_t, 3> m_signalBeforeReply{};
    std::array<std::size_t, 3> m_signalCount{};
};

// The load scenario alone: hangard on its own bus with loadInventory VMs stored, then Load.h's clients.
int runLoad(const Options& options)
{
    const TempDir work("hangar-bench-load-");
    std::filesystem::create_directories(work.path() + "/hangar");
    progress("load: starting hangard on a private bus (libvirt's test driver)");
    HangarSystem hangar(options.hangard, work.path() + "/hangar");
    if (!hangar.populate(options.loadInventory, Clock::now() + std::chrono::minutes(5)))
        throw std::runtime_error("could not create the " + std::to_string(options.loadInventory) +
                                 " stored VMs within 5 minutes");
    waitIdle(*hangar.daemonPid(), std::chrono::seconds(30));
    progress("load: " + std::to_string(options.loadOptions.clients) + " clients, " +
             std::to_string(options.loadOptions.warmup.count()) + " s warm-up, " +
             std::to_string(options.loadOptions.duration.count()) + " s measured, " +
             std::to_string(options.loadOptions.idle.count()) + " s idle");
    const std::string before = loadAverage();
    const LoadResult result = load(hangar, options.loadOptions);
    std::cout << loadReport(result, options.loadOptions, options.loadInventory) << '\n';
    std::cout << "- load average (1, 5, 15 min) at the start: " << before << "; at the end: " << loadAverage() << '\n';
    return 0;
}

} // namespace
} // namespace hangar::bench

int main(int argc, char** argv)
{
    using namespace hangar::bench;
    CLI::App app{"hangar-bench: Hangar vs. libvirt-dbus vs. the raw libvirt API, side by side (docs/performance.md)"};
    Options options;
    std::string polkitClientBus;
    app.add_option("--hangard", options.hangard, "hangard binary")->capture_default_str();
    app.add_option("--libvirt-dbus", options.libvirtDbus, "libvirt-dbus binary")->capture_default_str();
    app.add_option("--sizes", options.sizes, "inventory sizes N")->delimiter(',')->capture_default_str();
    app.add_option("--budget", options.budgetSeconds,
                   "seconds this run may take; an N whose setup does not finish in time is reported as not finished")
        ->capture_default_str()
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast); // scripts/bench.sh passes one, a user may too
    app.add_option("--clients", options.clients, "concurrent clients")->capture_default_str();
    app.add_option("--concurrency-seconds", options.concurrencySeconds, "duration of the concurrency scenario")
        ->capture_default_str();
    app.add_option("--pairs", options.pairs, "at most this many start/stop pairs in the sequential scenarios")
        ->capture_default_str();
    app.add_option("--polkit-user", options.polkitUser,
                   "also run the lifecycle scenario against the real polkitd, as this user (in group hangar); needs "
                   "Hangar's polkit actions and rules where polkitd reads them (scripts/bench.sh arranges that in a "
                   "private mount namespace)");
    app.add_option("--polkitd", options.polkitd, "polkitd binary")->capture_default_str();
    app.add_option("--polkit-client", polkitClientBus, "internal: be the polkit scenario's client on this bus");
    app.add_flag("--load", options.load,
                 "run only the load scenario (bench/Load.h): many clients with a mixed workload, errors, fds, RSS");
    app.add_option("--load-clients", options.loadOptions.clients, "clients of the load scenario")
        ->capture_default_str();
    unsigned loadSeconds = 60;
    app.add_option("--load-seconds", loadSeconds, "measured duration of the load scenario")->capture_default_str();
    app.add_option("--load-inventory", options.loadInventory, "VMs stored before the load scenario starts")
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    if (!polkitClientBus.empty())
        return runPolkitClient(polkitClientBus, options.pairs);
    options.loadOptions.duration = std::chrono::seconds(loadSeconds);

    installChildReaper();
    try {
        if (options.load)
            return runLoad(options);
        Run run(options);
        return run.execute();
    } catch (const std::exception& e) {
        std::cerr << "hangar-bench: " << e.what() << '\n';
        return 1;
    }
}

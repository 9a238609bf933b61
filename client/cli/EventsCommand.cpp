// events: the audit log (GetEvents), and with --follow the Event signal after it. The subscription is made before
// the history is read and live events are de-duplicated by id, so nothing falls into the gap between the two.
#include "Commands.h"
#include "Output.h"
#include "Parse.h"
#include "Waiter.h"
#include "common/Format.h"

#include <algorithm>
#include <deque>
#include <grp.h>
#include <iostream>
#include <mutex>
#include <set>
#include <unistd.h>
#include <variant>

namespace hangar::client {
namespace {

using EventRow = sdbus::Struct<uint64_t, uint64_t, uint32_t, std::string, std::string, std::string, std::string,
                               std::string, std::string>;

const std::vector<std::string> kHeaders{"TIME", "SEVERITY", "UID", "ACTION", "VM", "OUTCOME", "MESSAGE"};
// Minimum widths while following, so live lines stay aligned even when the history was short or empty.
const std::vector<std::size_t> kFollowWidths{19, 8, 5, 10, 16, 7, 0};
const std::vector<std::string> kSeverities{"info", "warning", "error"}; // lowest first

std::size_t severityRank(const std::string& severity)
{
    const auto it = std::find(kSeverities.begin(), kSeverities.end(), severity);
    return static_cast<std::size_t>(it - kSeverities.begin()); // an unknown one ranks above error: never hidden
}
// GetEvents' own maximum: catching up after a daemon restart should miss as little as possible.
constexpr std::uint32_t kCatchUpLimit = 10000;

EventRecord fromRow(const EventRow& row)
{
    return EventRecord{row.get<0>(), row.get<1>(), row.get<2>(), row.get<3>(), row.get<4>(),
                       row.get<5>(), row.get<6>(), row.get<7>(), row.get<8>()};
}

nlohmann::json eventJson(const EventRecord& event)
{
    return {{"id", event.id},
            {"time_usec", event.timeUsec},
            {"time", formatIsoTime(event.timeUsec)},
            {"uid", event.uid},
            {"vm_uuid", event.vmUuid},
            {"vm_name", event.vmName},
            {"action", event.action},
            {"outcome", event.outcome},
            {"message", event.message},
            {"severity", event.severity}};
}

std::vector<std::string> eventCells(const EventRecord& event)
{
    return {formatLocalTime(event.timeUsec),
            event.severity,
            std::to_string(event.uid),
            event.action,
            event.vmName.empty() ? "-" : event.vmName,
            event.outcome,
            event.message};
}

Options buildFilter(const EventsOptions& options)
{
    Options filter;
    if (options.vm)
        filter["vm"] = sdbus::Variant(*options.vm);
    if (options.uid)
        filter["uid"] = sdbus::Variant(*options.uid);
    if (options.since)
        filter["since"] = sdbus::Variant(parseSince(*options.since, std::chrono::system_clock::now()));
    if (options.limit)
        filter["limit"] = sdbus::Variant(*options.limit);
    if (options.severity)
        filter["severity"] = sdbus::Variant(*options.severity);
    return filter;
}

std::vector<EventRecord> fetch(ManagerProxy& manager, const Options& filter)
{
    std::vector<EventRecord> events;
    for (const auto& row : manager.GetEvents(filter))
        events.push_back(fromRow(row));
    return events;
}

// Applies --vm, --uid and --severity to live events the way GetEvents applies them to history. A VM is followed by UUID
// once known, so its events keep showing after a rename.
class EventMatcher
{
public:
    explicit EventMatcher(const EventsOptions& options)
        : m_vm(options.vm), m_uid(options.uid), m_minRank(options.severity ? severityRank(*options.severity) : 0)
    {}

    void learnUuid(const std::string& uuid)
    {
        if (!uuid.empty())
            m_uuids.insert(uuid);
    }

    bool matches(const EventRecord& event)
    {
        if (m_uid && event.uid != *m_uid)
            return false;
        if (severityRank(event.severity) < m_minRank)
            return false;
        if (!m_vm)
            return true;
        if (event.vmName == *m_vm || event.vmUuid == *m_vm) {
            learnUuid(event.vmUuid);
            return true;
        }
        return m_uuids.count(event.vmUuid) != 0;
    }

private:
    std::optional<std::string> m_vm;
    std::optional<std::uint32_t> m_uid;
    std::size_t m_minRank;
    std::set<std::string> m_uuids;
};

// The system bus policy (dbus/org.hangar.Hangar1.conf) delivers the Event signal only to root and group
// hangar-admin, because it carries every user's audit trail. Anyone else following would wait in silence, so they
// are told; the check is advisory, as an administrator may have changed the policy.
bool mayReceiveEventSignal(const BusSpec& bus)
{
    if (bus.kind != BusSpec::Kind::System || geteuid() == 0)
        return true;
    std::vector<char> buffer(16384);
    group entry{};
    group* found = nullptr;
    if (getgrnam_r("hangar-admin", &entry, buffer.data(), buffer.size(), &found) != 0 || !found)
        return false;
    if (getegid() == found->gr_gid)
        return true;
    std::vector<gid_t> groups(static_cast<std::size_t>(std::max(getgroups(0, nullptr), 0)));
    int count = getgroups(static_cast<int>(groups.size()), groups.data());
    for (int i = 0; i < count; ++i) {
        if (groups[static_cast<std::size_t>(i)] == found->gr_gid)
            return true;
    }
    return false;
}

struct OwnerChange
{
    std::string newOwner;
};
using Item = std::variant<EventRecord, OwnerChange>;

class EventFollower
{
public:
    EventFollower(Context& context, const EventsOptions& options, Options filter)
        : m_context(context), m_options(options), m_filter(std::move(filter)), m_matcher(options)
    {}
    // The loop thread's handlers point into this object: stop them before the members go.
    ~EventFollower()
    {
        m_context.connection().stopEventLoop();
        m_context.connection().daemonWatch().onChange({});
    }
    EventFollower(const EventFollower&) = delete;
    EventFollower& operator=(const EventFollower&) = delete;

    ExitCode run();

private:
    void enqueue(Item item);
    void resolveVm();
    void print(const EventRecord& event);
    void catchUp();

    Context& m_context;
    const EventsOptions& m_options;
    Options m_filter;
    EventMatcher m_matcher;
    Waiter m_waiter; // blocks SIGINT/SIGTERM before the event loop thread exists
    std::mutex m_mutex;
    std::deque<Item> m_queue; // guarded by m_mutex
    std::unique_ptr<ManagerProxy> m_manager;
    std::vector<std::size_t> m_widths;
    std::uint64_t m_lastId = 0;
    std::uint64_t m_lastTime = 0;
};

void EventFollower::enqueue(Item item)
{
    std::lock_guard lock(m_mutex);
    m_queue.push_back(std::move(item));
    m_waiter.notify();
}

void EventFollower::resolveVm()
{
    if (!m_options.vm)
        return;
    try {
        VmProxy vm(m_context.connection().bus(), m_manager->GetVM(*m_options.vm));
        m_matcher.learnUuid(vm.UUID());
    } catch (const sdbus::Error& e) {
        if (isUnreachable(e))
            throw;
        // No live VM of that name (yet, or any more): match by name and UUID as events arrive.
    }
}

void EventFollower::print(const EventRecord& event)
{
    if (m_context.json()) {
        printJson(std::cout, eventJson(event), false); // flushes: one object per line, as it happens
    } else {
        Table::printRow(std::cout, eventCells(event), m_widths);
        std::cout.flush();
    }
    m_lastId = std::max(m_lastId, event.id);
    m_lastTime = std::max(m_lastTime, event.timeUsec);
}

void EventFollower::catchUp()
{
    Options filter = m_filter;
    filter["limit"] = sdbus::Variant(kCatchUpLimit);
    if (m_lastTime != 0)
        filter["since"] = sdbus::Variant(m_lastTime);
    try {
        for (const auto& event : fetch(*m_manager, filter)) {
            if (event.id > m_lastId && m_matcher.matches(event))
                print(event);
        }
    } catch (const sdbus::Error& e) {
        printError("cannot read the events missed while hangard was away: " + describe(e));
    }
}

ExitCode EventFollower::run()
{
    Connection& connection = m_context.connection();
    if (!mayReceiveEventSignal(connection.spec()))
        printError("note: on the system bus only root and members of group hangar-admin receive new events as they "
                   "happen; others see them by running `hangarctl events` again");
    m_manager = std::make_unique<ManagerProxy>(connection.bus(), [this](const EventRecord& event) { enqueue(event); });
    connection.daemonWatch().onChange([this](const std::string& newOwner) { enqueue(OwnerChange{newOwner}); });
    connection.startEventLoop();

    std::vector<EventRecord> history;
    try {
        history = fetch(*m_manager, m_filter);
        resolveVm();
    } catch (const sdbus::Error& e) {
        return m_context.reportError("read events", e);
    }

    Table table(kHeaders);
    for (const auto& event : history) {
        m_matcher.matches(event); // learns the UUIDs of the VM being followed
        table.addRow(eventCells(event));
    }
    m_widths = table.widths();
    for (std::size_t i = 0; i < m_widths.size(); ++i)
        m_widths[i] = std::max(m_widths[i], kFollowWidths[i]);
    if (!m_context.json())
        Table::printRow(std::cout, kHeaders, m_widths);
    for (const auto& event : history)
        print(event);
    std::cout.flush();

    const std::string bus = connection.spec().describe();
    while (m_waiter.wait() != Waiter::Wake::Signal) {
        std::deque<Item> items;
        {
            std::lock_guard lock(m_mutex);
            items.swap(m_queue);
        }
        for (const auto& item : items) {
            if (const auto* event = std::get_if<EventRecord>(&item)) {
                if (event->id > m_lastId && m_matcher.matches(*event))
                    print(*event);
            } else if (std::get<OwnerChange>(item).newOwner.empty()) {
                printError("hangard left " + bus + "; waiting for it to come back");
            } else {
                printError("hangard is back on " + bus);
                catchUp();
            }
        }
    }
    return ExitCode::Ok;
}

} // namespace

ExitCode runEvents(Context& context, const EventsOptions& options)
{
    Options filter = buildFilter(options); // before connecting: a bad --since is a usage error either way
    context.useFlagNames(kEventsFlags);
    if (options.follow) {
        EventFollower follower(context, options, filter);
        return follower.run();
    }

    std::vector<EventRecord> events;
    try {
        events = fetch(context.connection().manager(), filter);
    } catch (const sdbus::Error& e) {
        return context.reportError("read events", e);
    }
    if (context.json()) {
        nlohmann::json array = nlohmann::json::array();
        for (const auto& event : events)
            array.push_back(eventJson(event));
        printJson(std::cout, array, true);
        return ExitCode::Ok;
    }
    if (events.empty()) {
        std::cout << "No events." << std::endl;
        return ExitCode::Ok;
    }
    Table table(kHeaders);
    for (const auto& event : events)
        table.addRow(eventCells(event));
    table.print(std::cout);
    std::cout.flush();
    return ExitCode::Ok;
}

} // namespace hangar::client

#include "bus/BusSupport.h"

#include "core/Uuid.h"
#include "core/Validation.h"

#include <fmt/format.h>
#include <unordered_map>

namespace hangar::bus {
namespace {

std::string describeSignature(const std::string& sig)
{
    static const std::map<std::string, std::string> names{
        {"b", "boolean"},     {"y", "byte"},      {"n", "int16"},          {"q", "uint16"}, {"i", "int32"},
        {"u", "uint32"},      {"x", "int64"},     {"t", "uint64"},         {"d", "double"}, {"s", "string"},
        {"o", "object path"}, {"g", "signature"}, {"h", "file descriptor"}};
    auto it = names.find(sig);
    return it == names.end() ? sig : fmt::format("{} ({})", sig, it->second);
}

} // namespace

std::string vmPath(const std::string& uuid)
{
    return kVmPathPrefix + uuidLabel(uuid);
}

std::string imagePath(const std::string& id)
{
    return kImagePathPrefix + uuidLabel(id);
}

std::string jobPath(std::uint64_t id)
{
    return kJobPathPrefix + std::to_string(id);
}

sdbus::Error toBusError(const Error& error)
{
    return sdbus::Error(std::string(kErrorPrefix) + std::string(errorCodeName(error.code())), error.what());
}

namespace {

// The uid behind each unique bus name that has called. Asking the bus is a blocking round trip to dbus-daemon
// (sd-bus augments the message's credentials with GetConnectionCredentials); a unique name is never reused while
// the bus runs and its uid cannot change, so it is asked once per client connection. Loop thread only.
std::unordered_map<std::string, std::uint32_t>& knownCallers()
{
    static std::unordered_map<std::string, std::uint32_t> uids;
    return uids;
}
constexpr std::size_t kMaxKnownCallers = 65536; // only if NameOwnerChanged were lost: start over, never grow unbounded

} // namespace

Caller currentCaller(sdbus::IObject& object)
{
    const auto* message = object.getCurrentlyProcessedMessage();
    Caller caller;
    caller.busName = message->getSender();
    auto& uids = knownCallers();
    if (auto it = uids.find(caller.busName); it != uids.end()) {
        caller.uid = it->second;
        return caller;
    }
    caller.uid = message->getCredsUid();
    if (uids.size() >= kMaxKnownCallers)
        uids.clear();
    if (!caller.busName.empty() && caller.busName.front() == ':') // unique names only: well-known ones move
        uids.emplace(caller.busName, caller.uid);
    return caller;
}

void forgetCaller(const std::string& busName)
{
    knownCallers().erase(busName);
}

sdbus::Slot forgetCallersAsTheyLeave(sdbus::IConnection& connection)
{
    return connection.addMatch(
        "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',member='NameOwnerChanged',"
        "path='/org/freedesktop/DBus',arg0namespace=':'",
        [](sdbus::Message& message) {
            std::string name, oldOwner, newOwner;
            message >> name >> oldOwner >> newOwner;
            if (newOwner.empty())
                forgetCaller(name);
        });
}

OptionReader::OptionReader(const Options& options, std::string_view what) : m_options(options), m_what(what) {}

void OptionReader::takeAuthOptions(Caller& caller)
{
    if (auto noInteraction = take<bool>("auth.no_user_interaction"))
        caller.allowInteraction = !*noInteraction;
}

void OptionReader::checkType(const std::string& key, const sdbus::Variant& value, const std::string& expected) const
{
    const std::string given = value.peekValueType();
    if (given != expected)
        throw Error(ErrorCode::InvalidArgument, fmt::format("{} key '{}' must be of type {}, got {}", m_what, key,
                                                            describeSignature(expected), describeSignature(given)));
}

void OptionReader::finish() const
{
    for (const auto& [key, value] : m_options) {
        if (m_allowed.count(key) == 0)
            throw Error(ErrorCode::InvalidArgument, fmt::format("unknown {} key {}; allowed keys: {}", m_what,
                                                                quoteForMessage(key), fmt::join(m_allowed, ", ")));
    }
}

void readOptions(const Options& options, Caller& caller, std::string* description)
{
    OptionReader reader(options, "option");
    reader.takeAuthOptions(caller);
    if (description)
        *description = reader.take<std::string>("description").value_or("");
    reader.finish();
}

std::map<std::string, sdbus::Variant> statsDict(const VmStats& s)
{
    std::map<std::string, sdbus::Variant> out;
    out.emplace("sampled_at_usec", sdbus::Variant(static_cast<std::uint64_t>(s.sampledAtUsec)));
    putIfSet(out, "cpu_time_ns", s.cpuTimeNs);
    putIfSet(out, "cpu_percent", s.cpuPercent);
    putIfSet(out, "memory_used_bytes", s.memoryUsedBytes);
    putIfSet(out, "memory_available_bytes", s.memoryAvailableBytes);
    putIfSet(out, "disk_read_bytes_per_sec", s.diskReadBytesPerSec);
    putIfSet(out, "disk_write_bytes_per_sec", s.diskWriteBytesPerSec);
    putIfSet(out, "disk_read_ops_per_sec", s.diskReadOpsPerSec);
    putIfSet(out, "disk_write_ops_per_sec", s.diskWriteOpsPerSec);
    putIfSet(out, "net_rx_bytes_per_sec", s.netRxBytesPerSec);
    putIfSet(out, "net_tx_bytes_per_sec", s.netTxBytesPerSec);
    return out;
}

} // namespace hangar::bus

// VmObject's guest command methods (Exec, AddUser, InstallPackages) and the properties that go with them: reading
// their arguments into core's types is all that happens here (core/VmGuestCommands does the rest).
#include "bus/ReplyBoundary.h"
#include "bus/VmObject.h"

namespace hangar::bus {
namespace {

sdbus::ObjectPath toJobPath(std::uint64_t id)
{
    return sdbus::ObjectPath(jobPath(id));
}

// stdin as ay (any bytes) or s (text); taken out of options, so the reader sees only the keys it knows.
std::string takeInput(Options& options)
{
    auto it = options.find("stdin");
    if (it == options.end())
        return {};
    const std::string type = it->second.peekValueType();
    std::string input;
    if (type == "ay") {
        const auto bytes = it->second.get<std::vector<std::uint8_t>>();
        input.assign(bytes.begin(), bytes.end());
    } else if (type == "s") {
        input = it->second.get<std::string>();
    } else {
        throw Error(ErrorCode::InvalidArgument, "option stdin must be of type ay or s, got " + type);
    }
    options.erase(it);
    return input;
}

ProvisionedUser readUser(const Options& user)
{
    OptionReader reader(user, "user key");
    ProvisionedUser spec;
    const auto name = reader.take<std::string>("name");
    if (!name)
        throw Error(ErrorCode::InvalidArgument, "user name is required");
    spec.name = *name;
    spec.sshAuthorizedKeys =
        reader.take<std::vector<std::string>>("ssh_authorized_keys").value_or(std::vector<std::string>{});
    spec.sudo = reader.take<bool>("sudo").value_or(false);
    spec.passwordHash = reader.take<std::string>("passwd").value_or("");
    spec.shell = reader.take<std::string>("shell").value_or("");
    reader.finish();
    return spec;
}

} // namespace

void VmObject::Exec(sdbus::Result<sdbus::ObjectPath>&& result, std::vector<std::string> argv,
                    std::map<std::string, sdbus::Variant> options)
{
    asyncMethod(std::move(result), m_calls, [&](const Reply<sdbus::ObjectPath>& reply) {
        Caller caller = currentCaller(getObject());
        ExecOptions exec;
        exec.input = takeInput(options);
        OptionReader reader(options, "option");
        reader.takeAuthOptions(caller);
        exec.timeoutSec = reader.take<std::uint32_t>("timeout_sec").value_or(ExecOptions::kDefaultTimeoutSec);
        reader.finish();
        m_manager.exec(caller, m_uuid, std::move(argv), std::move(exec), reply.done<std::uint64_t>(toJobPath));
    });
}

void VmObject::AddUser(sdbus::Result<sdbus::ObjectPath>&& result, std::map<std::string, sdbus::Variant> user,
                       std::map<std::string, sdbus::Variant> options)
{
    asyncMethod(std::move(result), m_calls, [&](const Reply<sdbus::ObjectPath>& reply) {
        Caller caller = currentCaller(getObject());
        readOptions(options, caller);
        m_manager.addUser(caller, m_uuid, readUser(user), reply.done<std::uint64_t>(toJobPath));
    });
}

void VmObject::InstallPackages(sdbus::Result<sdbus::ObjectPath>&& result, std::vector<std::string> names,
                               std::map<std::string, sdbus::Variant> options)
{
    asyncMethod(std::move(result), m_calls, [&](const Reply<sdbus::ObjectPath>& reply) {
        Caller caller = currentCaller(getObject());
        readOptions(options, caller);
        m_manager.installPackages(caller, m_uuid, std::move(names), reply.done<std::uint64_t>(toJobPath));
    });
}

bool VmObject::AgentConnected()
{
    return property([&] { return vm().agentConnected; });
}

std::vector<std::string> VmObject::AddedUsers()
{
    return property([&] { return vm().record.addedUsers; });
}

std::vector<std::string> VmObject::InstalledPackages()
{
    return property([&] { return vm().record.installedPackages; });
}

} // namespace hangar::bus

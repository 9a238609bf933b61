// LibvirtHypervisor's GuestAgent role: commands in the guest through the QEMU guest agent, with guest-exec and
// guest-exec-status sent through virDomainQemuAgentCommand (libvirt-qemu) as JSON, and whether an agent is there
// read from the live definition's agent channel. Drivers without an agent (the test driver) and guests where no
// agent answers give Error(NotSupported) with one message, so callers see the same thing on every host.
#include "core/Base64.h"
#include "virt/DomainXml.h"
#include "virt/GuestAgentChannel.h"
#include "virt/LibvirtCall.h"
#include "virt/LibvirtHypervisor.h"
#include "virt/XmlSupport.h"

#include <libvirt/libvirt-qemu.h>
#include <nlohmann/json.hpp>

namespace hangar::virt {
namespace {

// Long enough for a busy guest to answer; guest-exec and guest-exec-status return at once in a healthy one.
constexpr int kAgentTimeoutSec = 10;

Error noAgent(const std::string& uuid, const std::string& why)
{
    return Error(ErrorCode::NotSupported,
                 "the guest agent (qemu-guest-agent) is not connected in the guest of domain " + uuid +
                     ": install and start it in the guest to run commands there (" + why + ")");
}

// One agent command on a running domain; its "return" member.
nlohmann::json agentCommand(const Call& call, const nlohmann::json& command)
{
    const auto dom = call.lookup();
    int state = 0;
    int reason = 0;
    if (virDomainGetState(dom.get(), &state, &reason, 0) < 0)
        call.fail();
    if (toDomainState(state) != DomainState::Running)
        throw Error(ErrorCode::Busy, "cannot run a command in domain " + call.uuid() + ": the domain is not running");
    const CString answer(virDomainQemuAgentCommand(dom.get(), command.dump().c_str(), kAgentTimeoutSec, 0));
    if (!answer) {
        const auto failure = lastFailure();
        switch (failure.code) {
        case VIR_ERR_AGENT_UNRESPONSIVE:   // no agent listening in the guest, or one that does not answer
        case VIR_ERR_ARGUMENT_UNSUPPORTED: // the domain has no agent channel
        case VIR_ERR_NO_SUPPORT:           // a driver without agents (test:///)
        case VIR_ERR_AGENT_UNSYNCED:
            throw noAgent(call.uuid(), failure.message);
        default:
            call.fail();
        }
    }
    try {
        return nlohmann::json::parse(answer.get()).at("return");
    } catch (const nlohmann::json::exception& e) {
        throw Error(ErrorCode::BackendFailure,
                    "the guest agent of domain " + call.uuid() + " gave an answer that cannot be read: " + e.what());
    }
}

// Decoded and cut to kMaxCapturedOutput; truncated is set when anything was cut (here or by the agent).
std::string output(const nlohmann::json& status, const char* key, bool& truncated)
{
    if (!status.contains(key))
        return {};
    auto bytes = base64Decode(status.at(key).get<std::string>());
    if (!bytes)
        throw Error(ErrorCode::BackendFailure, std::string("the guest agent sent ") + key + " that is not base64");
    if (bytes->size() > kMaxCapturedOutput) {
        bytes->resize(kMaxCapturedOutput);
        truncated = true;
    }
    return std::move(*bytes);
}

// Whether the live definition's agent channel says an agent is connected in the guest.
bool agentConnectedFromXml(const std::string& domainXml)
{
    const auto doc = xml::parseUntrusted(domainXml, "domain.xml");
    if (!doc)
        return false;
    const xmlNodePtr devices = xml::child(xmlDocGetRootElement(doc.get()), "devices");
    for (xmlNodePtr c = devices ? devices->children : nullptr; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || xml::sv(c->name) != "channel")
            continue;
        const xmlNodePtr target = xml::child(c, "target");
        if (target && xml::attribute(target, "name") == kGuestAgentChannel)
            return xml::attribute(target, "state") == "connected";
    }
    return false;
}

bool hasAgentChannel(const std::string& domainXml)
{
    const auto doc = xml::parseUntrusted(domainXml, "domain.xml");
    const xmlNodePtr devices = doc ? xml::child(xmlDocGetRootElement(doc.get()), "devices") : nullptr;
    for (xmlNodePtr c = devices ? devices->children : nullptr; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && xml::sv(c->name) == "channel")
            if (const xmlNodePtr target = xml::child(c, "target");
                target && xml::attribute(target, "name") == kGuestAgentChannel)
                return true;
    return false;
}

} // namespace

void ensureAgentChannel(virDomainPtr dom) noexcept
{
    try {
        const CString xml(virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE));
        if (!xml || hasAgentChannel(xml.get()))
            return;
        const std::string channel =
            "<channel type='unix'><target type='virtio' name='" + std::string(kGuestAgentChannel) + "'/></channel>";
        if (virDomainAttachDeviceFlags(dom, channel.c_str(), VIR_DOMAIN_AFFECT_CONFIG) < 0)
            logger()->warn("cannot add the guest agent channel to a domain: {}", lastFailure().message);
    } catch (const std::exception& e) {
        logger()->warn("cannot add the guest agent channel to a domain: {}", e.what());
    }
}

bool LibvirtHypervisor::agentConnected(const std::string& uuid)
{
    const Call call = domainCall(*m_connection, uuid, "read the definition of");
    const auto dom = call.lookup();
    const CString xml(virDomainGetXMLDesc(dom.get(), 0));
    if (!xml)
        call.fail();
    return agentConnectedFromXml(xml.get());
}

std::int64_t LibvirtHypervisor::guestExec(const std::string& uuid, const GuestCommand& command)
{
    if (command.argv.empty())
        throw Error(ErrorCode::InvalidArgument, "a command needs at least the program to run");
    const Call call = domainCall(*m_connection, uuid, "run a command in");
    nlohmann::json arguments{{"path", command.argv[0]},
                             {"arg", std::vector<std::string>(command.argv.begin() + 1, command.argv.end())},
                             {"capture-output", true}};
    if (!command.input.empty())
        arguments["input-data"] = base64Encode(command.input);
    const auto answer = agentCommand(call, {{"execute", "guest-exec"}, {"arguments", arguments}});
    try {
        return answer.at("pid").get<std::int64_t>();
    } catch (const nlohmann::json::exception& e) {
        throw Error(ErrorCode::BackendFailure, "the guest agent of domain " + uuid + " gave no pid: " + e.what());
    }
}

GuestCommandStatus LibvirtHypervisor::guestExecStatus(const std::string& uuid, std::int64_t pid)
{
    const Call call = domainCall(*m_connection, uuid, "read the state of a command in");
    const auto status = agentCommand(call, {{"execute", "guest-exec-status"}, {"arguments", {{"pid", pid}}}});
    GuestCommandStatus out;
    try {
        out.exited = status.at("exited").get<bool>();
        if (!out.exited)
            return out;
        out.exitCode = status.value("exitcode", 0);
        if (status.contains("signal"))
            out.signal = status.at("signal").get<int>();
        out.outTruncated = status.value("out-truncated", false);
        out.errTruncated = status.value("err-truncated", false);
        out.out = output(status, "out-data", out.outTruncated);
        out.err = output(status, "err-data", out.errTruncated);
    } catch (const nlohmann::json::exception& e) {
        throw Error(ErrorCode::BackendFailure,
                    "the guest agent of domain " + uuid + " reported a state that cannot be read: " + e.what());
    }
    return out;
}

} // namespace hangar::virt

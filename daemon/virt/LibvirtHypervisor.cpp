// LibvirtHypervisor's domains: define and undefine, the run-state transitions, metadata, the listing, console and
// display. Its snapshots are in virt/LibvirtSnapshots.cpp; both halves make their calls through virt/LibvirtCall.h.
#include "virt/LibvirtHypervisor.h"

#include "core/DriverLimits.h"
#include "core/HypervisorLog.h"
#include "virt/ConsoleBridge.h"
#include "virt/DomainXml.h"
#include "virt/EventRelay.h"
#include "virt/GuestAgentChannel.h"
#include "virt/LibvirtCall.h"
#include "virt/LibvirtConnection.h"
#include "virt/LibvirtSnapshots.h"
#include "virt/LibvirtSupport.h"

#include <cstdlib>
#include <fcntl.h>
#include <initializer_list>
#include <optional>
#include <utility>

namespace hangar::virt {
namespace {

const std::string kNamespace(kMetadataNamespace);
const std::string kPrefix(kMetadataPrefix);
// The states in which a domain has a running instance to shut down, reboot or destroy.
constexpr std::initializer_list<DomainState> kActive{
    DomainState::Running, DomainState::Paused, DomainState::ShuttingDown, DomainState::Crashed, DomainState::Suspended};

// Changes the persistent definition, and the running one too when the domain runs, so the change neither waits
// for the next boot nor is lost at it.
void setMetadata(const Call& call, virDomainPtr dom, int type, const char* value, const char* key, const char* nsUri)
{
    const int active = virDomainIsActive(dom);
    call.check(active);
    unsigned flags = VIR_DOMAIN_AFFECT_CONFIG;
    if (active == 1)
        flags |= VIR_DOMAIN_AFFECT_LIVE;
    if (virDomainSetMetadata(dom, type, value, key, nsUri, flags) == 0)
        return;
    // Stopped between the two calls: the live definition is gone, the persistent one is all there is to change.
    if (active == 1 && lastFailure().code == VIR_ERR_OPERATION_INVALID &&
        virDomainSetMetadata(dom, type, value, key, nsUri, VIR_DOMAIN_AFFECT_CONFIG) == 0)
        return;
    call.fail();
}

// What listDomains reports of one domain; nullopt when it was undefined since the listing.
std::optional<DomainInfo> describeDomain(const Call& call, virDomainPtr dom)
{
    DomainInfo info;
    info.uuid = call.uuid();
    int state = 0;
    int reason = 0;
    if (virDomainGetState(dom, &state, &reason, 0) < 0) {
        if (lastFailure().code == VIR_ERR_NO_DOMAIN)
            return std::nullopt; // undefined since the listing
        call.fail();
    }
    info.state = toDomainState(state);
    const CString metadata(virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, kNamespace.c_str(), 0));
    if (metadata) {
        info.record = parseMetadataXml(metadata.get(), info.uuid);
        if (!info.record)
            logger()->warn("domain {} has a Hangar metadata block that cannot be read", info.uuid);
    } else if (const int code = lastFailure().code; code == VIR_ERR_NO_DOMAIN) {
        return std::nullopt;
    } else if (code != VIR_ERR_NO_DOMAIN_METADATA) {
        call.fail();
    }
    try {
        info.snapshots = snapshotNames(call, dom);
    } catch (const Error& e) {
        if (e.code() == ErrorCode::NotFound)
            return std::nullopt;
        throw;
    }
    return info;
}

// libvirt's NAT network when the host has it running, else QEMU's user-mode networking, which needs nothing from
// the host: a network that exists but is not active (dnsmasq or the bridge could not start, as in many containers)
// would keep the guest from starting at all.
GuestNetwork chooseNetwork(virConnectPtr conn)
{
    const std::string name(kDefaultNetwork);
    const NetworkPtr network(virNetworkLookupByName(conn, name.c_str()));
    if (!network) {
        logger()->debug("no network '{}' ({}): guests get user-mode networking", name, lastFailure().message);
        return GuestNetwork::User;
    }
    if (virNetworkIsActive(network.get()) != 1) {
        logger()->debug("network '{}' is not active: guests get user-mode networking", name);
        return GuestNetwork::User;
    }
    return GuestNetwork::Default;
}

} // namespace

LibvirtHypervisor::LibvirtHypervisor(std::string uri, std::function<void(std::function<void()>)> postToLoop,
                                     LibvirtOptions options)
    : m_uri(std::move(uri)), m_options(std::move(options))
{
    if (!postToLoop)
        throw Error(ErrorCode::InvalidArgument, "LibvirtHypervisor needs a postToLoop function");
    if (const auto driver = uriDriver(m_uri); driver != "qemu" && driver != "test")
        throw Error(ErrorCode::NotSupported,
                    "libvirt URI '" + m_uri + "' uses driver '" + driver + "'; Hangar supports qemu and test");
    chooseDomainType(m_options.domainType, "qemu"); // refuse a bad setting now, not at the first define
    m_relay = std::make_shared<EventRelay>(std::move(postToLoop));
    m_consoles = std::make_unique<ConsoleRegistry>(
        [relay = m_relay](const std::string& uuid, std::uint64_t session, bool present) {
            HypervisorEvent event{HypervisorEvent::Kind::ConsoleChanged, uuid, DomainState::Running};
            event.session = session;
            event.present = present;
            relay->post(event);
        });
    m_connection = LibvirtConnection::create(m_uri, m_relay);
}

LibvirtHypervisor::~LibvirtHypervisor()
{
    m_relay->close();
    m_consoles->closeAll(); // their streams keep the connection open otherwise
    m_connection->shutdown();
}

std::string LibvirtHypervisor::uri() const
{
    return m_uri;
}

bool LibvirtHypervisor::connected() const
{
    return m_connection->connected();
}

void LibvirtHypervisor::subscribe(std::function<void(const HypervisorEvent&)> sink)
{
    m_relay->setSink(std::move(sink));
}

void LibvirtHypervisor::define(const VmRecord& vm)
{
    const Call call = domainCall(*m_connection, vm.uuid, "define");
    DomainXmlOptions options;
    options.domainType = chooseDomainType(m_options.domainType, call.session().domainType());
    options.bootDir = m_options.bootDir;
    options.network = chooseNetwork(call.conn());
    options.storagePool = m_options.storagePool;
    const auto xml = buildDomainXml(vm, options);

    // virDomainDefineXML would silently redefine an existing domain with this UUID; define must not.
    if (const DomainPtr existing{virDomainLookupByUUIDString(call.conn(), vm.uuid.c_str())})
        throw Error(ErrorCode::AlreadyExists, "a domain with UUID " + vm.uuid + " already exists");
    if (lastFailure().code != VIR_ERR_NO_DOMAIN)
        call.fail();
    const auto name = domainName(vm.uuid);
    if (const DomainPtr existing{virDomainLookupByName(call.conn(), name.c_str())})
        throw Error(ErrorCode::AlreadyExists, "a domain named " + name + " already exists");
    if (lastFailure().code != VIR_ERR_NO_DOMAIN)
        call.fail();

    const DomainPtr dom(virDomainDefineXML(call.conn(), xml.c_str()));
    if (!dom)
        call.fail();
    logger()->debug("defined domain {} for VM '{}' (type {}, {} networking)", name, vm.name, options.domainType,
                    options.network == GuestNetwork::Default ? "libvirt's default" : "user-mode");
}

void LibvirtHypervisor::undefine(const std::string& uuid)
{
    const Call call = domainCall(*m_connection, uuid, "undefine");
    const auto dom = call.lookup();
    // Undefining a running domain would leave it running as a transient domain that Hangar no longer tracks.
    const int active = virDomainIsActive(dom.get());
    call.check(active);
    if (active == 1)
        throw Error(ErrorCode::Busy, "cannot undefine domain " + uuid + ": it is running; stop it first");

    // Drivers accept different subsets of the clean-up flags (the test driver has no NVRAM); try the fullest first.
    for (const unsigned flags :
         {VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA | VIR_DOMAIN_UNDEFINE_NVRAM,
          VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA}) {
        if (virDomainUndefineFlags(dom.get(), flags) == 0)
            return;
        const int code = lastFailure().code;
        if (code != VIR_ERR_INVALID_ARG && code != VIR_ERR_NO_SUPPORT)
            call.fail();
    }
    call.check(virDomainUndefine(dom.get()));
}

void LibvirtHypervisor::start(const std::string& uuid)
{
    const Call call = domainCall(*m_connection, uuid, "start");
    const auto dom = call.lookup();
    ensureAgentChannel(dom.get());
    call.checkTransition(virDomainCreate(dom.get()), dom.get(), {DomainState::Stopped, DomainState::Crashed});
}

void LibvirtHypervisor::shutdown(const std::string& uuid)
{
    const Call call = domainCall(*m_connection, uuid, "shut down");
    const auto dom = call.lookup();
    call.checkTransition(virDomainShutdown(dom.get()), dom.get(), kActive);
}

void LibvirtHypervisor::destroy(const std::string& uuid)
{
    const Call call = domainCall(*m_connection, uuid, "destroy");
    const auto dom = call.lookup();
    call.checkTransition(virDomainDestroy(dom.get()), dom.get(), kActive);
}

void LibvirtHypervisor::reboot(const std::string& uuid)
{
    const Call call = domainCall(*m_connection, uuid, "reboot");
    const auto dom = call.lookup();
    call.checkTransition(virDomainReboot(dom.get(), 0), dom.get(), kActive);
}

void LibvirtHypervisor::suspend(const std::string& uuid)
{
    const Call call = domainCall(*m_connection, uuid, "suspend");
    const auto dom = call.lookup();
    call.checkTransition(virDomainSuspend(dom.get()), dom.get(), {DomainState::Running, DomainState::ShuttingDown});
}

void LibvirtHypervisor::resume(const std::string& uuid)
{
    const Call call = domainCall(*m_connection, uuid, "resume");
    const auto dom = call.lookup();
    call.checkTransition(virDomainResume(dom.get()), dom.get(), {DomainState::Paused});
}

void LibvirtHypervisor::setResources(const std::string& uuid, std::uint32_t vcpus, std::uint64_t memoryMiB)
{
    const Call call = domainCall(*m_connection, uuid, "change the resources of");
    const auto dom = call.lookup();
    const int active = virDomainIsActive(dom.get());
    call.check(active);
    if (active == 1)
        throw Error(ErrorCode::Busy,
                    "cannot change the resources of domain " + uuid + ": it is running; stop it first");
    // The current value may never exceed the maximum: growing sets the maximum first, shrinking the current value.
    const unsigned config = VIR_DOMAIN_AFFECT_CONFIG;
    const int maxVcpus = virDomainGetVcpusFlags(dom.get(), config | VIR_DOMAIN_VCPU_MAXIMUM);
    call.check(maxVcpus);
    const auto setVcpus = [&](unsigned flags) { call.check(virDomainSetVcpusFlags(dom.get(), vcpus, config | flags)); };
    if (vcpus > static_cast<unsigned>(maxVcpus)) {
        setVcpus(VIR_DOMAIN_VCPU_MAXIMUM);
        setVcpus(0);
    } else {
        setVcpus(0);
        setVcpus(VIR_DOMAIN_VCPU_MAXIMUM);
    }
    const unsigned long maxKiB = virDomainGetMaxMemory(dom.get());
    if (maxKiB == 0)
        call.fail();
    const auto kib = static_cast<unsigned long>(memoryMiB * 1024);
    const auto setMemory = [&](unsigned flags) { call.check(virDomainSetMemoryFlags(dom.get(), kib, config | flags)); };
    if (kib > maxKiB) {
        setMemory(VIR_DOMAIN_MEM_MAXIMUM);
        setMemory(0);
    } else {
        setMemory(0);
        setMemory(VIR_DOMAIN_MEM_MAXIMUM);
    }
}

DomainState LibvirtHypervisor::state(const std::string& uuid)
{
    const Call call = domainCall(*m_connection, uuid, "get the state of");
    int state = 0;
    int reason = 0;
    call.check(virDomainGetState(call.lookup().get(), &state, &reason, 0));
    return toDomainState(state);
}

void LibvirtHypervisor::updateMetadata(const VmRecord& vm)
{
    const Call call = domainCall(*m_connection, vm.uuid, "update the metadata of");
    const auto xml = buildMetadataXml(vm);
    const auto dom = call.lookup();
    // The metadata block first: it is what the inventory is rebuilt from.
    setMetadata(call, dom.get(), VIR_DOMAIN_METADATA_ELEMENT, xml.c_str(), kPrefix.c_str(), kNamespace.c_str());
    setMetadata(call, dom.get(), VIR_DOMAIN_METADATA_TITLE, vm.name.c_str(), nullptr, nullptr);
    const auto& description = vm.spec.description;
    setMetadata(call, dom.get(), VIR_DOMAIN_METADATA_DESCRIPTION, description.empty() ? nullptr : description.c_str(),
                nullptr, nullptr);
}

std::vector<DomainInfo> LibvirtHypervisor::listDomains()
{
    const Call call(*m_connection, {}, "list domains");
    virDomainPtr* array = nullptr;
    const int count = virConnectListAllDomains(call.conn(), &array, 0);
    call.check(count);
    const std::unique_ptr<virDomainPtr, FreeDeleter> owner(array);
    std::vector<DomainPtr> domains;
    domains.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i)
        domains.emplace_back(array[i]);

    std::vector<DomainInfo> result;
    for (const auto& dom : domains) {
        char uuid[VIR_UUID_STRING_BUFLEN];
        if (virDomainGetUUIDString(dom.get(), uuid) < 0)
            call.fail();
        if (auto info = describeDomain(Call(call, uuid, "list"), dom.get()))
            result.push_back(std::move(*info));
    }
    return result;
}

UniqueFd LibvirtHypervisor::openConsole(const std::string& uuid, bool force)
{
    const Call call = domainCall(*m_connection, uuid, "open the console of");
    const auto dom = call.lookup();
    refuseOnTestDriver(m_uri, "open a guest's serial console (hangarctl console)");
    auto claim = m_consoles->claim(uuid, force);
    StreamPtr stream(virStreamNew(call.conn(), VIR_STREAM_NONBLOCK));
    if (!stream)
        call.fail();
    // Without force libvirt refuses while anyone else (virsh console, say) holds the console; with it, libvirt
    // ends that session, as it ends ours when someone else forces.
    if (virDomainOpenConsole(dom.get(), nullptr, stream.get(), force ? VIR_DOMAIN_CONSOLE_FORCE : 0) < 0) {
        const auto failure = lastFailure();
        if (!force && failure.code == VIR_ERR_OPERATION_FAILED)
            throw Error(ErrorCode::Busy, "the console of domain " + uuid + " is in use: " + failure.message +
                                             "; open it with force to take it over");
        call.fail();
    }
    return claim.attach(std::move(stream));
}

UniqueFd LibvirtHypervisor::openGraphics(const std::string& uuid)
{
    const Call call = domainCall(*m_connection, uuid, "open the display of");
    const auto dom = call.lookup();
    refuseOnTestDriver(m_uri, "hand over a guest's VNC display (hangarctl vnc)");
    // QEMU accepts the socket as a new VNC client (QMP add_client), so there is no port to reach and no
    // address to trust: the fd is the connection.
    UniqueFd fd(virDomainOpenGraphicsFD(dom.get(), 0, 0));
    if (!fd)
        call.fail();
    fcntl(fd.get(), F_SETFD, FD_CLOEXEC);
    return fd;
}

std::string LibvirtHypervisor::graphicsAddress(const std::string& uuid)
{
    const Call call = domainCall(*m_connection, uuid, "read the definition of");
    const auto dom = call.lookup();
    // The live definition: the port libvirt allocated (autoport) appears only there.
    const CString xml(virDomainGetXMLDesc(dom.get(), 0));
    if (!xml)
        call.fail();
    return graphicsAddressFromXml(xml.get());
}

UniqueFd LibvirtHypervisor::openLog(const std::string& uuid)
{
    // The domain must exist: a UUID that libvirt does not know names no log.
    const Call call = domainCall(*m_connection, uuid, "find the log of");
    static_cast<void>(call.lookup());
    refuseOnTestDriver(m_uri, "show a guest's hypervisor log, as it keeps none (hangarctl logs)");
    const std::string dir =
        hypervisorLogDir(m_uri, m_options.logDir, [](const char* name) { return std::getenv(name); });
    if (dir.empty())
        throw Error(ErrorCode::NotSupported,
                    "the log of a guest on " + m_uri +
                        " is not on this machine; set [Daemon] hypervisor_log_dir to where it can be read");
    return openLogFile(dir, domainName(uuid));
}

} // namespace hangar::virt

#include "bus/JobObject.h"

#include "bus/ReplyBoundary.h"

namespace hangar::bus {
namespace {

constexpr const char* kInterface = org::hangar::Hangar1::Job_adaptor::INTERFACE_NAME;

} // namespace

JobObject::JobObject(sdbus::IConnection& connection, JobManager& jobs, const Job& job)
    : AdaptorInterfaces(connection, jobPath(job.id)), m_jobs(jobs), m_job(job)
{
    registerAdaptor();
    emitInterfacesAddedSignal({kInterface});
}

JobObject::~JobObject()
{
    if (!m_calls.retired())
        emitInterfacesRemovedSignal({kInterface});
    unregisterAdaptor();
}

void JobObject::progressChanged(const Job& job)
{
    m_job = job;
    emitPropertiesChangedSignal(kInterface, std::vector<std::string>{"Progress", "Rate", "ExpectedEndTime"});
}

void JobObject::complete(const Job& job, bool success, const std::string& message, std::function<void()> onIdle)
{
    m_job = job;
    if (m_job.result)
        emitPropertiesChangedSignal(kInterface, std::vector<std::string>{"Result"});
    emitCompleted(success, message);
    emitInterfacesRemovedSignal({kInterface});
    m_calls.retire(std::move(onIdle));
}

std::string JobObject::Operation()
{
    return property([&] { return m_job.operation; });
}
double JobObject::Progress()
{
    return property([&] { return m_job.progress; });
}
bool JobObject::ProgressValid()
{
    return property([&] { return m_job.progressValid; });
}
uint64_t JobObject::Bytes()
{
    return property([&] { return m_job.totalBytes; });
}
uint64_t JobObject::Rate()
{
    return property([&] { return m_job.rate; });
}
uint64_t JobObject::StartTime()
{
    return property([&] { return static_cast<uint64_t>(m_job.startUsec); });
}
uint64_t JobObject::ExpectedEndTime()
{
    return property([&] { return static_cast<uint64_t>(m_job.expectedEndUsec); });
}
uint32_t JobObject::StartedByUID()
{
    return property([&] { return m_job.startedBy; });
}
bool JobObject::Cancelable()
{
    return property([&] { return m_job.cancelable; });
}

std::map<std::string, sdbus::Variant> JobObject::Result()
{
    return property([&] {
        std::map<std::string, sdbus::Variant> dict;
        if (!m_job.result)
            return dict;
        const GuestCommandStatus& r = *m_job.result;
        auto bytes = [](const std::string& s) { return std::vector<std::uint8_t>(s.begin(), s.end()); };
        dict.emplace("exit_code", sdbus::Variant(std::int32_t{r.exitCode}));
        putIfSet(dict, "signal", r.signal);
        dict.emplace("stdout", sdbus::Variant(bytes(r.out)));
        dict.emplace("stderr", sdbus::Variant(bytes(r.err)));
        dict.emplace("stdout_truncated", sdbus::Variant(r.outTruncated));
        dict.emplace("stderr_truncated", sdbus::Variant(r.errTruncated));
        return dict;
    });
}

std::vector<sdbus::ObjectPath> JobObject::Objects()
{
    return property([&] {
        std::vector<sdbus::ObjectPath> paths;
        for (const auto& object : m_job.objects)
            paths.emplace_back(object.kind == hangar::JobTarget::Kind::Image ? imagePath(object.id)
                                                                             : vmPath(object.id));
        return paths;
    });
}

void JobObject::Cancel(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> options)
{
    asyncMethod(std::move(result), m_calls, [&](const Reply<>& reply) {
        Caller caller = currentCaller(getObject());
        readOptions(options, caller);
        m_jobs.cancel(caller, m_job.id, reply.done());
    });
}

} // namespace hangar::bus

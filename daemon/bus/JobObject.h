// The D-Bus face of one job: org.hangar.Hangar1.Job at /org/hangar/Hangar1/job/<n>. It keeps a copy of core's job,
// refreshed on every change, because it may outlive the job by a reply or two. ManagerObject creates it as core
// announces the job and retires it when the job completes (Completed, then InterfacesRemoved; destroyed once no call
// on it awaits its reply).
#pragma once

#include "bus/BusSupport.h"
#include "core/Jobs.h"
#include "hangar/dbus/org.hangar.Hangar1.Job.adaptor.h"

#include <sdbus-c++/sdbus-c++.h>

namespace hangar::bus {

class JobObject final : public sdbus::AdaptorInterfaces<org::hangar::Hangar1::Job_adaptor, sdbus::ManagedObject_adaptor,
                                                        sdbus::Properties_adaptor>
{
public:
    JobObject(sdbus::IConnection& connection, JobManager& jobs, const Job& job);
    ~JobObject();
    JobObject(const JobObject&) = delete;
    JobObject& operator=(const JobObject&) = delete;
    JobObject(JobObject&&) = delete;
    JobObject& operator=(JobObject&&) = delete;

    void progressChanged(const Job& job);
    // Announces job's Result (if it has one), sends Completed, then announces the object's removal; onIdle as for
    // VmObject::retire.
    void complete(const Job& job, bool success, const std::string& message, std::function<void()> onIdle);

private:
    void Cancel(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> options) override;

    std::string Operation() override;
    double Progress() override;
    bool ProgressValid() override;
    uint64_t Bytes() override;
    uint64_t Rate() override;
    uint64_t StartTime() override;
    uint64_t ExpectedEndTime() override;
    uint32_t StartedByUID() override;
    std::vector<sdbus::ObjectPath> Objects() override;
    bool Cancelable() override;
    std::map<std::string, sdbus::Variant> Result() override;

    JobManager& m_jobs;
    Job m_job;
    InFlightCalls m_calls;
};

} // namespace hangar::bus

// libFuzzer target: hangard.conf (service/Config.h loadConfig, also what SIGHUP reloads). Findings: a crash, a
// sanitizer report, or a failure other than the std::runtime_error with a message that loadConfig documents (an
// exception of another type would end hangard at start-up, or fail the reload, without saying what was wrong); and a
// configuration it accepts that breaks its own ranges.
// Input: the file's text.
#include "FuzzSupport.h"
#include "service/Config.h"

#include <cstddef>
#include <cstdint>
#include <sys/mman.h>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace hangar;
    const int fd = memfd_create("hangard.conf", MFD_CLOEXEC);
    if (fd < 0)
        fuzz::finding("memfd_create failed");
    if (size > 0 && write(fd, data, size) != static_cast<ssize_t>(size))
        fuzz::finding("write to the memfd failed");
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    try {
        const service::Config config = service::loadConfig(path, {});
        if (config.workers < 1 || config.workers > 64 || config.copyWorkers < 1 || config.statsIntervalSec < 1)
            fuzz::finding("accepted a configuration out of its ranges");
        if (config.bootDir.empty() || config.storagePoolPath.empty())
            fuzz::finding("accepted a configuration without a boot directory or pool path");
    } catch (const Error& e) {
        fuzz::finding(std::string("a hangar::Error, not the documented std::runtime_error: ") + e.what());
    } catch (const std::runtime_error& e) {
        if (std::string_view(e.what()).empty())
            fuzz::finding("a refusal without a message");
    } catch (const std::exception& e) {
        fuzz::finding(std::string("an exception other than std::runtime_error: ") + e.what());
    }
    close(fd);
    return 0;
}

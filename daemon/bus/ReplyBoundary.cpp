#include "bus/ReplyBoundary.h"

#include <spdlog/spdlog.h>

namespace hangar::bus {

sdbus::Error busErrorOfCurrentException()
{
    try {
        throw;
    } catch (const Error& e) {
        return toBusError(e);
    } catch (const sdbus::Error& e) {
        return e;
    } catch (const std::exception& e) {
        return toBusError(Error(ErrorCode::BackendFailure, e.what()));
    } catch (...) {
        return toBusError(Error(ErrorCode::BackendFailure, "unexpected failure of an unknown kind"));
    }
}

void logUnsentReply(const std::exception& e) noexcept
{
    spdlog::warn("could not answer a D-Bus call: {}", e.what());
}

} // namespace hangar::bus

#include "core/Error.h"

namespace hangar {

std::string_view errorCodeName(ErrorCode code)
{
    switch (code) {
    case ErrorCode::NotFound:
        return "NotFound";
    case ErrorCode::InvalidArgument:
        return "InvalidArgument";
    case ErrorCode::AlreadyExists:
        return "AlreadyExists";
    case ErrorCode::PermissionDenied:
        return "PermissionDenied";
    case ErrorCode::QuotaExceeded:
        return "QuotaExceeded";
    case ErrorCode::Busy:
        return "Busy";
    case ErrorCode::NotSupported:
        return "NotSupported";
    case ErrorCode::BackendFailure:
        return "BackendFailure";
    case ErrorCode::Cancelled:
        return "Cancelled";
    case ErrorCode::RateLimited:
        return "RateLimited";
    }
    return "BackendFailure";
}

Error asError(const std::exception& e)
{
    if (const auto* he = dynamic_cast<const Error*>(&e))
        return *he;
    return Error(ErrorCode::BackendFailure, e.what());
}

} // namespace hangar

// The one error type of Hangar's core. Every failure that reaches a client is a hangar::Error with a code from
// the closed set below; the bus layer maps each code once to an org.hangar.Hangar1.Error.* name. Messages say what
// was wrong and what is allowed, because they are shown to users as they are.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace hangar {

enum class ErrorCode
{
    NotFound,
    InvalidArgument,
    AlreadyExists,
    PermissionDenied,
    QuotaExceeded,
    Busy,
    NotSupported,
    BackendFailure,
    Cancelled,
    RateLimited, // too many requests of one kind in a short time; the message says how long to wait
};

// The D-Bus error name suffix of a code ("NotFound", ...).
std::string_view errorCodeName(ErrorCode code);

class Error : public std::runtime_error
{
public:
    Error(ErrorCode code, const std::string& message) : std::runtime_error(message), m_code(code) {}
    ErrorCode code() const noexcept { return m_code; }

private:
    ErrorCode m_code;
};

// What a failure caught from a lower layer means to a client: a hangar::Error as it is, anything else (libvirt's,
// the standard library's) a BackendFailure carrying its words.
Error asError(const std::exception& e);

} // namespace hangar

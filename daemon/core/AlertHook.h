// The parts of the alert_command hook that need no process: splitting the configured command line into argv
// (it is never given to a shell) and the environment that carries the alert to it. service/AlertCommandRunner
// spawns it. See docs/alerts.md for the rules written out for administrators.
#pragma once

#include "core/AlertPolicy.h"

#include <string>
#include <string_view>
#include <vector>

namespace hangar {

// Splits a command line into words the way a shell would for plain words and quotes, and nothing more: words are
// separated by spaces and tabs; '...' keeps everything inside literally; "..." keeps everything except \" and \\,
// which stand for " and \; a backslash outside quotes makes the next character literal. No variables, globs,
// redirections or pipes: $, *, |, > are ordinary characters. The first word must be an absolute path (no PATH
// lookup). Throws std::invalid_argument saying what is wrong (an open quote, a trailing backslash, a relative
// program). An empty or blank line gives an empty argv (no hook).
std::vector<std::string> splitCommandLine(std::string_view line);

// "NAME=value" strings for the hook: HANGAR_ALERT_ID, _SEVERITY (the alert's: warning or error; info once cleared,
// as the Alert signal), _STATE (raised or cleared), _SUBJECT, _MESSAGE, _KIND, _HOST, _VM_UUID (empty unless a
// VM's), _RAISED_AT_USEC, plus a fixed PATH and LANG=C.UTF-8 (nothing else of the daemon's environment leaks in).
std::vector<std::string> alertEnvironment(const AlertChange& change);

} // namespace hangar

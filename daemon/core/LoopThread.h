// core is single-threaded by design: the event loop's thread owns every Inventory, catalogue and pipeline, and work
// that blocks runs on workers that never touch them (core/Executor.h). LoopThread makes that checked rather than
// promised: the service binds the loop's thread once at start-up, and the Inventory's mutators and the operation
// pipeline's entry points call assertOnLoop(), which aborts with a message naming the caller when entered from any
// other thread. It is a thread-id compare, so it stays on in every build type (CI builds RelWithDebInfo, which
// defines NDEBUG and would compile an assert() away). Unbound (unit tests, tools), the first thread that enters core
// becomes the loop thread.
#pragma once

namespace hangar {

class LoopThread
{
public:
    // The calling thread is the loop thread from now on (the service calls it once, before anything runs).
    static void bind();
    // Aborts with a message naming `where` if called off the loop thread.
    static void assertOnLoop(const char* where);
};

} // namespace hangar

#include "JobFollower.h"

#include "common/Format.h"

#include <algorithm>
#include <iostream>
#include <sys/ioctl.h>
#include <unistd.h>

namespace hangar::client {
namespace {

using Clock = std::chrono::steady_clock;

// Every job's Completed signal: the rule is in place before the job exists, so its path need not be known yet.
constexpr const char* kCompletedRule = "type='signal',sender='org.hangar.Hangar1',interface='org.hangar.Hangar1.Job',"
                                       "member='Completed',path_namespace='/org/hangar/Hangar1/job'";
// Every job's PropertiesChanged: a command in a guest announces its Result this way just before Completed.
constexpr const char* kChangedRule = "type='signal',sender='org.hangar.Hangar1',interface='org.freedesktop.DBus."
                                     "Properties',member='PropertiesChanged',path_namespace='/org/hangar/Hangar1/job'";
// A terminal is redrawn often enough for the bar to move smoothly; a pipe or log gets a line a second.
constexpr std::chrono::milliseconds kBarInterval{250};
constexpr std::chrono::seconds kLineInterval{1};
// After Cancel, hangard removes what the job made and then sends Completed; past this, hangarctl stops waiting.
constexpr std::chrono::seconds kCancelWait{60};
// No word of the job for this long: read its properties, in case its signals do not reach us.
constexpr std::chrono::seconds kQuietProbe{5};
// A job found gone is given this long for its Completed, sent before the removal, to be dispatched to us.
constexpr std::chrono::seconds kGoneGrace{2};

// The object (or its interface) is not there any more: the job ended, or the image is gone.
bool objectGone(const sdbus::Error& error)
{
    const std::string& name = error.getName();
    return exitCodeFor(error) == ExitCode::NotFound || name == "org.freedesktop.DBus.Error.UnknownInterface" ||
           name == "org.freedesktop.DBus.Error.UnknownMethod" || name == "org.freedesktop.DBus.Error.UnknownProperty";
}

std::size_t terminalWidth()
{
    winsize size{};
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0)
        return size.ws_col;
    return 80;
}

// The progress on stderr: a bar redrawn in place on a terminal, a plain line a second otherwise, nothing with --json.
// No escape sequences: a shorter line is padded with blanks over the longer one before it.
class Display
{
public:
    enum class Mode
    {
        None,
        Bar,
        Lines
    };

    Display(Mode mode, std::string label)
        : m_mode(mode), m_label(std::move(label)), m_sinceUsec(currentTimeUsec()), m_started(Clock::now())
    {}
    ~Display() { clear(); }
    Display(const Display&) = delete;
    Display& operator=(const Display&) = delete;

    Clock::duration interval() const
    {
        return m_mode == Mode::Bar ? Clock::duration(kBarInterval) : Clock::duration(kLineInterval);
    }

    void show(const JobStatus& status)
    {
        const std::uint64_t now = currentTimeUsec();
        if (m_mode == Mode::Bar) {
            // One column short of the width: writing the last column makes some terminals wrap at once.
            // The bouncing block moves with time, not with redraws, which signals make irregular.
            const auto tick = static_cast<unsigned>((Clock::now() - m_started) / kBarInterval);
            const std::string line =
                progressBarLine(m_label, status, now, m_sinceUsec, std::max<std::size_t>(terminalWidth(), 2) - 1, tick);
            std::cerr << '\r' << line << std::string(m_drawn > line.size() ? m_drawn - line.size() : 0, ' ')
                      << std::flush;
            m_drawn = std::max(m_drawn, line.size());
        } else if (m_mode == Mode::Lines) {
            const auto at = Clock::now();
            if (m_lastLine && at - *m_lastLine < kLineInterval)
                return;
            m_lastLine = at;
            std::cerr << progressLogLine(m_label, status, now, m_sinceUsec) << std::endl;
        }
    }

    // Before anything else is written to the terminal, and at the end.
    void clear()
    {
        if (m_drawn == 0)
            return;
        std::cerr << '\r' << std::string(m_drawn, ' ') << '\r' << std::flush;
        m_drawn = 0;
    }

private:
    Mode m_mode;
    std::string m_label;
    std::uint64_t m_sinceUsec;
    Clock::time_point m_started;
    std::size_t m_drawn = 0; // columns of the longest line on screen since the last clear
    std::optional<Clock::time_point> m_lastLine;
};

} // namespace

JobFollower::JobFollower(Context& context, std::string label, std::string imageName)
    : m_context(context), m_label(std::move(label)), m_imageName(std::move(imageName))
{}

JobFollower::~JobFollower()
{
    if (!m_loopStarted)
        return; // never connected, or failed before the subscriptions: nothing to undo
    m_context.connection().stopEventLoop();
    m_context.connection().daemonWatch().onChange({});
}

// How the end of the job cannot be missed, whenever it comes:
// - The Completed match covers every job path and, like the InterfacesRemoved and NameOwnerChanged subscriptions,
//   is in place before the call that creates the job is sent. hangard sends Completed before it removes the job
//   object, and signals are dispatched in the order they were sent, so a job whose removal we saw without a
//   Completed before it never sent one.
// - The event loop runs on its own thread, so a job that ends while the call is still returning has its Completed
//   queued for us, recorded under its path until we know which path is ours.
// - Right after the call, the job's properties are read once (the start of the progress display). If the job object
//   is already gone, its Completed is on its way (or was never sent): we give it kGoneGrace, then decide from the
//   image the job was filling: State "ready" means the job succeeded (hangard sets it only on a complete image), no
//   image means it failed or was cancelled (hangard removes the image of a failed job).
void JobFollower::subscribe()
{
    Connection& connection = m_context.connection();
    m_manager = std::make_unique<ManagerProxy>(connection.bus(), ManagerProxy::EventHandler{},
                                               [this](const sdbus::ObjectPath& path) {
                                                   std::lock_guard lock(m_mutex);
                                                   if (!m_job.empty() && path != m_job)
                                                       return;
                                                   m_removed.insert(path);
                                                   m_news = true;
                                                   m_waiter.notify();
                                               });
    m_completedMatch = connection.bus().addMatch(kCompletedRule, [this](sdbus::Message& message) {
        Completion completion;
        try {
            message >> completion.success >> completion.message;
        } catch (const sdbus::Error&) {
            return; // not the signature of the Job interface: not hangard's
        }
        const sdbus::ObjectPath path(message.getPath());
        std::lock_guard lock(m_mutex);
        if (!m_job.empty() && path != m_job)
            return;
        m_completed[path] = completion;
        m_news = true;
        m_waiter.notify();
    });
    m_resultMatch = connection.bus().addMatch(kChangedRule, [this](sdbus::Message& message) {
        std::string interface;
        std::map<std::string, sdbus::Variant> changed;
        try {
            message >> interface >> changed;
        } catch (const sdbus::Error&) {
            return;
        }
        auto it = changed.find("Result");
        if (it == changed.end())
            return;
        std::lock_guard lock(m_mutex);
        m_results[sdbus::ObjectPath(message.getPath())] = it->second.get<std::map<std::string, sdbus::Variant>>();
    });
    // DaemonWatch's verdict is sticky: a hangard that came back has lost the job.
    connection.daemonWatch().onChange([this](const std::string&) {
        std::lock_guard lock(m_mutex);
        m_news = true;
        m_waiter.notify();
    });
    connection.startEventLoop();
    m_loopStarted = true;
}

JobOutcome JobFollower::run(const std::function<sdbus::ObjectPath()>& start)
{
    subscribe();
    const sdbus::ObjectPath job = start();
    {
        std::lock_guard lock(m_mutex);
        m_job = job;
        std::erase_if(m_completed, [&job](const auto& entry) { return entry.first != job; });
        std::erase_if(m_removed, [&job](const auto& path) { return path != job; });
    }
    m_lastHeard = Clock::now();
    m_jobProxy = std::make_unique<JobProxy>(
        m_context.connection().bus(), job,
        [this](const std::map<std::string, sdbus::Variant>& changed, const std::vector<std::string>&) {
            std::lock_guard lock(m_mutex);
            applyJobProperties(m_status, changed);
            m_news = true;
            m_waiter.notify();
        });
    readJob();

    Display::Mode mode = Display::Mode::Lines;
    if (m_context.json())
        mode = Display::Mode::None;
    else if (isatty(STDERR_FILENO))
        mode = Display::Mode::Bar;
    Display display(mode, m_label);
    auto cancelDeadline = Clock::time_point::max();
    for (;;) {
        if (auto end = outcome())
            return *end;
        JobStatus status;
        {
            std::lock_guard lock(m_mutex);
            status = m_status;
        }
        display.show(status);

        auto wakeAt = std::min({Clock::now() + display.interval(), cancelDeadline, m_lastHeard + kQuietProbe});
        if (m_goneSince)
            wakeAt = std::min(wakeAt, *m_goneSince + kGoneGrace);
        switch (m_waiter.wait(wakeAt)) {
        case Waiter::Wake::Signal:
            display.clear();
            if (auto end = onInterrupt(cancelDeadline))
                return *end;
            break;
        case Waiter::Wake::Timeout:
            if (Clock::now() >= cancelDeadline)
                return {JobEnd::Interrupted, "hangard did not confirm the cancellation within " +
                                                 formatDuration(static_cast<std::uint64_t>(kCancelWait.count())) +
                                                 "; the job may still be running there"};
            if (!m_goneSince && Clock::now() >= m_lastHeard + kQuietProbe)
                readJob();
            break;
        case Waiter::Wake::Notified:
            break;
        }
    }
}

void JobFollower::readJob()
{
    m_lastHeard = Clock::now();
    try {
        const auto properties = m_jobProxy->GetAll(kJobInterface);
        std::lock_guard lock(m_mutex);
        applyJobProperties(m_status, properties);
        m_statusRead = true;
    } catch (const sdbus::Error& e) {
        if (isUnreachable(e)) {
            std::lock_guard lock(m_mutex);
            m_daemonGone = true;
        } else if (objectGone(e) && !m_goneSince) {
            m_goneSince = Clock::now();
        }
        // Anything else: the signals still tell, and the job is read again after the next quiet spell.
    }
}

std::optional<JobOutcome> JobFollower::outcome()
{
    bool removed = false;
    {
        std::lock_guard lock(m_mutex);
        if (m_news) {
            m_news = false;
            m_lastHeard = Clock::now();
        }
        if (auto it = m_completed.find(m_job); it != m_completed.end())
            return outcomeFromCompleted(it->second.success, it->second.message, m_cancelRequested);
        if (m_daemonGone || m_context.connection().daemonWatch().goneSeen())
            return JobOutcome{JobEnd::DaemonGone, "hangard left " + m_context.connection().spec().describe() +
                                                      " while the job ran; what became of it is unknown"};
        removed = m_removed.count(m_job) != 0;
    }
    if (removed || (m_goneSince && Clock::now() >= *m_goneSince + kGoneGrace))
        return judgeByImage();
    return std::nullopt;
}

std::map<std::string, sdbus::Variant> JobFollower::result()
{
    std::lock_guard lock(m_mutex);
    auto it = m_results.find(m_job);
    return it == m_results.end() ? std::map<std::string, sdbus::Variant>{} : it->second;
}

JobOutcome JobFollower::judgeByImage()
{
    if (m_imageName.empty()) // a command in a guest leaves nothing behind to judge it by
        return {JobEnd::Failed, "the job ended before hangarctl learned how"};
    std::optional<std::string> state;
    try {
        ImageProxy image(m_context.connection().bus(), m_context.connection().imagePath(m_imageName));
        state = image.State();
    } catch (const sdbus::Error& e) {
        if (isUnreachable(e))
            return {JobEnd::DaemonGone, "hangard cannot be reached to learn how the job ended: " + describe(e)};
        if (!objectGone(e))
            return {JobEnd::Failed, "the job ended, and image '" + m_imageName + "' cannot be read: " + describe(e)};
    }
    return outcomeFromImage(state, m_cancelRequested);
}

std::optional<JobOutcome> JobFollower::onInterrupt(Clock::time_point& cancelDeadline)
{
    if (m_cancelRequested)
        return JobOutcome{JobEnd::Interrupted,
                          "stopped waiting for the cancellation; the job may still be running in hangard"};
    bool known = false;
    bool cancelable = false;
    {
        std::lock_guard lock(m_mutex);
        known = m_statusRead;
        cancelable = m_status.cancelable;
    }
    const std::string follow = "hangarctl image show " + m_imageName + " shows how it ends";
    if (known && !cancelable)
        return JobOutcome{JobEnd::Interrupted, "this job cannot be cancelled; it goes on in hangard (" + follow + ")"};

    std::cerr << "Cancelling the job (Ctrl-C again stops waiting for it)..." << std::endl;
    try {
        m_jobProxy->Cancel(m_context.authOptions());
    } catch (const sdbus::Error& e) {
        if (!objectGone(e)) {
            m_context.reportError("cancel the job", e);
            return JobOutcome{JobEnd::Interrupted, "the job was not cancelled; it goes on in hangard (" + follow + ")"};
        }
        // Already over: its Completed, or its image, says how it ended.
    }
    m_cancelRequested = true;
    cancelDeadline = Clock::now() + kCancelWait;
    return std::nullopt;
}

} // namespace hangar::client

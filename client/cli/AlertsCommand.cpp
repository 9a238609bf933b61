// alerts: the resource alerts active now (GetAlerts), oldest first. The thresholds are hangard.conf's [Alerts].
#include "Commands.h"
#include "Output.h"
#include "common/Format.h"

#include <iostream>

namespace hangar::client {

ExitCode runAlerts(Context& context)
{
    std::vector<sdbus::Struct<std::string, std::string, std::string, std::string, uint64_t>> alerts;
    try {
        alerts = context.connection().manager().GetAlerts();
    } catch (const sdbus::Error& e) {
        return context.reportError("read alerts", e);
    }
    if (context.json()) {
        nlohmann::json array = nlohmann::json::array();
        for (const auto& a : alerts)
            array.push_back({{"id", a.get<0>()},
                             {"severity", a.get<1>()},
                             {"subject", a.get<2>()},
                             {"message", a.get<3>()},
                             {"raised_at_usec", a.get<4>()},
                             {"raised_at", formatIsoTime(a.get<4>())}});
        printJson(std::cout, array, true);
        return ExitCode::Ok;
    }
    if (alerts.empty()) {
        std::cout << "No active alerts." << std::endl;
        return ExitCode::Ok;
    }
    Table table({"RAISED", "SEVERITY", "SUBJECT", "MESSAGE"});
    for (const auto& a : alerts)
        table.addRow({formatLocalTime(a.get<4>()), a.get<1>(), a.get<2>(), a.get<3>()});
    table.print(std::cout);
    std::cout.flush();
    return ExitCode::Ok;
}

} // namespace hangar::client

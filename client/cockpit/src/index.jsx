// Entry point: PatternFly's stylesheet, the page's own, and the App (or a console when the location says so).
import "@patternfly/patternfly/patternfly.css";
import "./hangar.css";

import { createRoot } from "react-dom/client";
import { App } from "./App.jsx";

/* global cockpit */

document.addEventListener("DOMContentLoaded", () => {
    cockpit.translate();
    createRoot(document.getElementById("app")).render(<App />);
});

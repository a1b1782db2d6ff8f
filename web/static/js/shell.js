// @ts-check
// Loaded by every page (web/templates/base.html): the header's display settings.

import { initDisplaySettings } from "./a11y.js";

initDisplaySettings();

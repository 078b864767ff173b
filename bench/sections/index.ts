/** Every section, in the order `npm run bench` runs them. */
import type { Section } from "../section.js";
import { contentionSection } from "./contention.js";
import { coreSection } from "./core.js";
import { scaleSection } from "./scale.js";

export const SECTIONS: readonly Section[] = [coreSection, contentionSection, scaleSection];

/** Every section, in the order `npm run bench` runs them. */
import type { Section } from "../section.js";
import { contentionSection } from "./contention.js";
import { coreSection } from "./core.js";
import { langgraphSection } from "./langgraph.js";
import { scaleSection } from "./scale.js";

export const SECTIONS: readonly Section[] = [langgraphSection, coreSection, contentionSection, scaleSection];

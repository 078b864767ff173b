/** Every section, in the order `npm run bench` runs them. */
import type { Section } from "../section.js";
import { contentionSection } from "./contention.js";
import { coreSection } from "./core.js";
import { httpSection } from "./http.js";
import { langgraphSection } from "./langgraph.js";
import { peerSection } from "./peer.js";
import { postgresSection } from "./postgres.js";
import { scaleSection } from "./scale.js";

export const SECTIONS: readonly Section[] = [
  langgraphSection,
  coreSection,
  contentionSection,
  httpSection,
  peerSection,
  scaleSection,
  postgresSection,
];

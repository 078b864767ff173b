/** Types of lanes.js (the page ships plain ES modules; this lets the tests import the layout). */
export interface LanePlacement {
  lane: number;
  through: number[];
  joining: number[];
  continues: boolean;
  width: number;
  tip: boolean;
  fork: boolean;
}

export declare class LaneLayout {
  place(node: { id: string; parentId: string | null }): LanePlacement;
}

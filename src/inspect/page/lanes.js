// Lays out a checkpoint lineage as lanes, like `git log --graph`, one page at a time. Nodes arrive newest first
// (checkpoint ids are time-ordered, so every child comes before its parent): a node continues the lane that waits for
// it as a parent, or opens a new lane when nothing waits for it (a tip: no child yet). When several lanes wait for
// the same node, it is a fork point: its children branched from it, and those lanes join it.

export class LaneLayout {
  constructor() {
    /** lanes[i] = the checkpoint id lane i waits for next (its last node's parent), or null when the lane is free. */
    this.lanes = [];
  }

  /**
   * Places one node `{ id, parentId }` and returns how to draw its row: `lane` (its column), `through` (lanes that
   * pass by), `joining` (lanes of its children that end here), `continues` (whether its lane goes on below), `width`
   * (lanes in use), `tip` and `fork`.
   */
  place(node) {
    const joining = [];
    this.lanes.forEach((waitsFor, i) => {
      if (waitsFor === node.id) joining.push(i);
    });
    let lane = joining[0];
    if (lane === undefined) {
      lane = this.lanes.indexOf(null);
      if (lane < 0) lane = this.lanes.push(null) - 1;
    }
    const through = [];
    this.lanes.forEach((waitsFor, i) => {
      if (waitsFor !== null && !joining.includes(i)) through.push(i);
    });
    for (const i of joining) this.lanes[i] = null;
    this.lanes[lane] = node.parentId ?? null;
    const width = Math.max(this.lanes.length, lane + 1);
    while (this.lanes.length > 0 && this.lanes[this.lanes.length - 1] === null) this.lanes.pop();
    return {
      lane,
      through,
      joining,
      continues: node.parentId != null,
      width,
      tip: joining.length === 0,
      fork: joining.length > 1,
    };
  }
}

/**
 * The lineage tree's layout (src/inspect/page/lanes.js), fed newest first one node at a time as the page's pages
 * arrive: tips open lanes, a fork point joins its children's lanes, lanes are reused once free, and page boundaries
 * change nothing.
 */
import { describe, expect, it } from "vitest";
import { LaneLayout, type LanePlacement } from "../../src/inspect/page/lanes.js";

type Node = { id: string; parentId: string | null };

/** A tree from "child<parent" pairs, listed newest first. */
function nodes(spec: string): Node[] {
  return spec.split(" ").map((pair) => {
    const [id, parentId] = pair.split("<");
    return { id: id!, parentId: parentId ?? null };
  });
}

function layout(list: Node[]): Map<string, LanePlacement> {
  const l = new LaneLayout();
  return new Map(list.map((n) => [n.id, l.place(n)]));
}

describe("lineage lanes", () => {
  it("a straight lineage is one lane: one tip, no fork", () => {
    const p = layout(nodes("c<b b<a a"));
    expect([...p.values()].map((x) => x.lane)).toEqual([0, 0, 0]);
    expect([...p.values()].filter((x) => x.tip)).toHaveLength(1);
    expect(p.get("a")).toMatchObject({ continues: false, fork: false });
  });

  it("two runs from one checkpoint: two tips in two lanes that join at the fork point", () => {
    // head h (fork branch) and the old branch's tip y both descend from f.
    const p = layout(nodes("h<g g<f y<x x<f f<e e"));
    expect(p.get("h")).toMatchObject({ lane: 0, tip: true });
    expect(p.get("y")).toMatchObject({ lane: 1, tip: true, through: [0] });
    expect(p.get("f")).toMatchObject({ lane: 0, fork: true, joining: [0, 1] });
    expect(p.get("e")).toMatchObject({ lane: 0, through: [], width: 1 });
  });

  it("three branches, one forked from a branch: each tip its own lane, freed lanes reused", () => {
    const p = layout(nodes("t3<b2 t2<b1 t1<r b2<b1 b1<r r"));
    expect([p.get("t3")!.lane, p.get("t2")!.lane, p.get("t1")!.lane]).toEqual([0, 1, 2]);
    expect(p.get("b1")).toMatchObject({ fork: true, joining: [0, 1] });
    expect(p.get("r")).toMatchObject({ fork: true, joining: [0, 2], lane: 0 });
    // After b1 joined lane 1 into lane 0, a new tip takes the free lane 1 rather than a fourth one.
    const l = new LaneLayout();
    for (const n of nodes("t2<b1 t1<b1")) l.place(n);
    l.place({ id: "b1", parentId: "r" });
    expect(l.place({ id: "late", parentId: "r" })).toMatchObject({ lane: 1, tip: true });
  });

  it("placing page by page gives the same layout as all at once", () => {
    const list = nodes("h<g g<f y<x x<w w<f f<e e<d d");
    const whole = layout(list);
    const l = new LaneLayout();
    const paged = new Map<string, LanePlacement>();
    for (const page of [list.slice(0, 2), list.slice(2, 5), list.slice(5)])
      for (const n of page) paged.set(n.id, l.place(n));
    expect(paged).toEqual(whole);
  });
});

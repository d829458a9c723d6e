#!/usr/bin/env python3
"""maps/generate.py — writes the shipped example maps (maps/*.json) in the data contract's shape.

Each map is {"name", "description", "width", "height", "terrain_data": [{"x", "y",
"terrainType", "height", "isBlocked"}, ...] (row-major: y then x), "spawn_point": {"x", "y"},
"goal_point": {"x", "y"}, "wave_config": {"waves": [{"waveNumber", "enemies": [{"type",
"count", "spawnInterval"}]}]}}. Terrain types: 0 grass, 1 dirt, 2 stone, 3 water (walkers
cannot cross), 4 rock. Enemy types: grunt, runner, brute, flyer. spawnInterval is in ms.

The output is deterministic (no randomness, no clock): running it again rewrites identical
files. It checks each map with the same rules as core/map_validate.c (the C test
tests/core/test_map.c checks them again with the real validator).

Usage: python3 maps/generate.py [OUTDIR]   (default: the folder of this script)
"""
import collections
import json
import os
import sys

GRASS, DIRT, STONE, WATER, ROCK = 0, 1, 2, 3, 4
ENEMY_TYPES = ("grunt", "runner", "brute", "flyer")


class Grid:
    def __init__(self, width, height):
        self.width = width
        self.height = height
        self.terrain = [[GRASS] * width for _ in range(height)]
        self.elev = [[0] * width for _ in range(height)]
        self.blocked = [[0] * width for _ in range(height)]

    def set(self, x, y, terrain, blocked=None):
        if 0 <= x < self.width and 0 <= y < self.height:
            self.terrain[y][x] = terrain
            if blocked is not None:
                self.blocked[y][x] = blocked

    def wall(self, x0, y0, x1, y1, terrain=ROCK):
        """Blocked rectangle, inclusive corners."""
        for y in range(y0, y1 + 1):
            for x in range(x0, x1 + 1):
                self.set(x, y, terrain, 1)

    def clear(self, x, y, terrain=DIRT):
        self.set(x, y, terrain, 0)

    def walkable(self, x, y):
        return (0 <= x < self.width and 0 <= y < self.height and not self.blocked[y][x]
                and self.terrain[y][x] != WATER)

    def distance(self, a, b):
        """Walker BFS steps from a to b, or None."""
        seen = {a: 0}
        q = collections.deque([a])
        while q:
            x, y = q.popleft()
            if (x, y) == b:
                return seen[(x, y)]
            for nx, ny in ((x, y - 1), (x + 1, y), (x, y + 1), (x - 1, y)):
                if (nx, ny) not in seen and self.walkable(nx, ny):
                    seen[(nx, ny)] = seen[(x, y)] + 1
                    q.append((nx, ny))
        return None


def hills(grid, scale):
    """Deterministic gentle elevation (0..scale) from integer arithmetic only."""
    for y in range(grid.height):
        for x in range(grid.width):
            v = (x * 7 + y * 13) % 31 + (x * y) % 17
            grid.elev[y][x] = (v * scale) // 46


def waves(n, plan):
    """plan(i) -> list of (type, count, interval_ms) for wave i (1-based)."""
    out = []
    for i in range(1, n + 1):
        out.append({"waveNumber": i,
                    "enemies": [{"type": t, "count": c, "spawnInterval": iv}
                                for (t, c, iv) in plan(i)]})
    return out


def meadow():
    g = Grid(20, 20)
    hills(g, 3)
    spawn, goal = (0, 10), (19, 10)
    # A dirt track and a few obstacles: a pond and two rock outcrops.
    for x in range(20):
        g.set(x, 10, DIRT)
    for (x, y) in ((6, 4), (7, 4), (6, 5), (7, 5), (8, 5), (7, 6)):
        g.set(x, y, WATER, 0)
    g.wall(12, 13, 13, 15, ROCK)
    g.wall(4, 14, 4, 16, ROCK)
    for x in range(3, 17, 4):
        g.set(x, 2, STONE)

    def plan(i):
        groups = [("grunt", 5 + 3 * i, 1200)]
        if i >= 3:
            groups.append(("runner", 2 * i, 900))
        return groups
    return g, spawn, goal, {
        "name": "Meadow",
        "description": "A gentle 20x20 field with a pond and two rock outcrops. Five easy "
                       "waves of grunts and runners: a first map.",
    }, waves(5, plan)


def canyon():
    g = Grid(40, 30)
    hills(g, 6)
    for y in range(30):
        for x in range(40):
            g.set(x, y, DIRT if (x + y) % 5 else STONE)
    spawn, goal = (1, 1), (38, 28)
    # Serpentine: horizontal cliff walls, gap alternating right and left.
    for i, y in enumerate(range(5, 30, 5)):
        g.wall(0, y, 39, y, STONE)
        gap = range(35, 39) if i % 2 == 0 else range(1, 5)
        for x in gap:
            g.clear(x, y, DIRT)
    # A stream in the second bend (walkers go around its end).
    for x in range(10, 30):
        g.set(x, 8, WATER, 0)
    # Boulders inside the bends.
    for (x, y) in ((20, 2), (21, 2), (8, 13), (30, 17), (31, 17), (15, 22), (25, 26)):
        g.wall(x, y, x, y, ROCK)

    def plan(i):
        groups = [("grunt", 8 + 4 * i, 1000)]
        if i >= 2:
            groups.append(("runner", 3 * i, 700))
        if i >= 4:
            groups.append(("brute", i - 2, 2500))
        if i >= 6:
            groups.append(("flyer", 2 * (i - 5), 1500))
        return groups
    return g, spawn, goal, {
        "name": "Canyon",
        "description": "A 40x30 winding canyon: five switchbacks between stone cliffs and a "
                       "stream. Ten waves bring every enemy type.",
    }, waves(10, plan)


def fortress():
    n = 100
    g = Grid(n, n)
    hills(g, 12)
    spawn, goal = (0, 0), (50, 50)
    # A river from north to south (x 20..22) with two fords.
    for y in range(n):
        for x in range(20, 23):
            g.set(x, y, WATER, 0)
    for y in (30, 70):
        for x in range(20, 23):
            g.set(x, y, DIRT)
    # Three concentric square walls around the goal, each with one gate, gates rotating.
    rings = ((12, (62, 50)), (24, (50, 26)), (36, (14, 50)))
    for r, gate in rings:
        x0, y0, x1, y1 = 50 - r, 50 - r, 50 + r, 50 + r
        g.wall(x0, y0, x1, y0, STONE)
        g.wall(x0, y1, x1, y1, STONE)
        g.wall(x0, y0, x0, y1, STONE)
        g.wall(x1, y0, x1, y1, STONE)
        g.clear(*gate, DIRT)
    # Rock fields scattered deterministically in the outer ground.
    for y in range(n):
        for x in range(n):
            if (x * 31 + y * 17) % 97 == 0 and g.terrain[y][x] == GRASS and \
                    not g.blocked[y][x] and (x, y) not in (spawn, goal):
                g.wall(x, y, x, y, ROCK)
    # The inner keep paved in stone.
    for y in range(40, 61):
        for x in range(40, 61):
            if not g.blocked[y][x]:
                g.set(x, y, STONE)

    def plan(i):
        groups = [("grunt", min(1000, 10 + 5 * i), 800)]
        if i >= 2:
            groups.append(("runner", 4 * i, 500))
        if i >= 5:
            groups.append(("brute", 2 * i, 2000))
        if i >= 8:
            groups.append(("flyer", 3 * i, 1200))
        if i % 10 == 0:
            groups.append(("brute", i, 300))  # a boss rush every tenth wave
        return groups
    return g, spawn, goal, {
        "name": "Fortress",
        "description": "A 100x100 fortress: a river with two fords and three walled rings "
                       "around the keep. Thirty waves; the benchmark map.",
    }, waves(30, plan)


def check(g, spawn, goal, wave_list):
    assert 20 <= g.width <= 100 and 20 <= g.height <= 100
    assert g.walkable(*spawn) and g.walkable(*goal) and spawn != goal
    d = g.distance(spawn, goal)
    assert d is not None, "spawn not connected to goal"
    assert 1 <= len(wave_list) <= 100
    for i, w in enumerate(wave_list):
        assert w["waveNumber"] == i + 1
        assert 1 <= len(w["enemies"]) <= 16
        for e in w["enemies"]:
            assert e["type"] in ENEMY_TYPES
            assert 1 <= e["count"] <= 1000
            assert 0 <= e["spawnInterval"] <= 600000
    return d


def write(path, g, spawn, goal, meta, wave_list):
    """Pretty top level, one tile per line (diff-friendly), keys in the contract's order."""
    tiles = []
    for y in range(g.height):
        for x in range(g.width):
            tiles.append(json.dumps({"x": x, "y": y, "terrainType": g.terrain[y][x],
                                     "height": g.elev[y][x], "isBlocked": bool(g.blocked[y][x])},
                                    separators=(",", ":")))
    head = {"name": meta["name"], "description": meta["description"],
            "width": g.width, "height": g.height}
    lines = ["{"]
    for k, v in head.items():
        lines.append("  %s: %s," % (json.dumps(k), json.dumps(v)))
    lines.append('  "terrain_data": [')
    lines.append(",\n".join("    " + t for t in tiles))
    lines.append("  ],")
    lines.append('  "spawn_point": %s,' % json.dumps({"x": spawn[0], "y": spawn[1]}))
    lines.append('  "goal_point": %s,' % json.dumps({"x": goal[0], "y": goal[1]}))
    lines.append('  "wave_config": {')
    lines.append('    "waves": [')
    lines.append(",\n".join("      " + json.dumps(w, separators=(", ", ": ")) for w in wave_list))
    lines.append("    ]")
    lines.append("  }")
    lines.append("}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    for fname, make in (("meadow.json", meadow), ("canyon.json", canyon),
                        ("fortress.json", fortress)):
        g, spawn, goal, meta, wave_list = make()
        d = check(g, spawn, goal, wave_list)
        path = os.path.join(outdir, fname)
        write(path, g, spawn, goal, meta, wave_list)
        json.load(open(path))  # well-formed
        print("%s: %dx%d, %d waves, path length %d" % (fname, g.width, g.height, len(wave_list), d))


if __name__ == "__main__":
    main()

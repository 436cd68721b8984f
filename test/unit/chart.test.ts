// The benchmarks' SVG chart builder: well-formed output, escaped text, empty series and lone points drawn honestly.
import { describe, expect, it } from "vitest";
import { type Chart, escapeXml, svgChart, wrap } from "../../bench/chart.ts";
import { chartTarget } from "../../bench/report.ts";

/**
 * Checks that every tag is closed in order and that no text holds a bare `<` or `&` (an unescaped label):
 * returns the first problem, or undefined.
 */
function wellFormedProblem(svg: string): string | undefined {
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/y;
  let i = 0;
  while (i < svg.length) {
    const lt = svg.indexOf("<", i);
    const text = svg.slice(i, lt === -1 ? svg.length : lt);
    if (/&(?!(?:amp|lt|gt|quot|apos);)/.test(text)) return `bare & in text "${text}"`;
    if (lt === -1) break;
    tag.lastIndex = lt;
    const m = tag.exec(svg);
    if (!m) return `malformed tag at ${lt}: ${svg.slice(lt, lt + 60)}`;
    const [, closing, name, attrs, selfClosing] = m;
    if (/&(?!(?:amp|lt|gt|quot|apos);)/.test(attrs!)) return `bare & in attributes of <${name}>`;
    if (closing) {
      const open = stack.pop();
      if (open !== name) return `</${name}> closes <${open}>`;
    } else if (!selfClosing) stack.push(name!);
    i = tag.lastIndex;
  }
  return stack.length ? `unclosed <${stack.join("> <")}>` : undefined;
}

/** The `points` of every polyline, as [x, y] pairs. */
function polylines(svg: string): Array<Array<[number, number]>> {
  return [...svg.matchAll(/<polyline points="([^"]*)"/g)].map((m) =>
    m[1]!.split(" ").map((p) => p.split(",").map(Number) as [number, number]),
  );
}

const twoPanels = (
  latency: Chart["panels"][number]["series"],
  rss: Chart["panels"][number]["series"],
): Chart => ({
  title: "bench soak: 2,000 events/s",
  subtitle: "RSS bounded",
  xLabel: "time (s)",
  panels: [
    {
      yLabel: "latency (ms, log scale)",
      log: true,
      series: latency,
      rules: [{ y: 4.1, label: "goal 4.1 ms" }],
    },
    { yLabel: "engine RSS (MB)", series: rss },
  ],
});

describe("svgChart", () => {
  it("draws each series as a polyline inside its panel, with the axis labels, legend and rules", () => {
    const svg = svgChart(
      twoPanels(
        [
          {
            label: "p99",
            points: [
              [1, 3],
              [2, 40],
              [3, 5],
            ],
          },
          {
            label: "p50",
            points: [
              [1, 1],
              [2, 2],
              [3, 1.5],
            ],
            dashed: true,
          },
        ],
        [
          {
            label: "engine RSS",
            points: [
              [1, 100],
              [2, 120],
              [3, 110],
            ],
          },
        ],
      ),
    );
    expect(wellFormedProblem(svg)).toBeUndefined();
    expect(svg.startsWith("<svg xmlns=")).toBe(true);
    const lines = polylines(svg);
    expect(lines).toHaveLength(3);
    for (const l of lines) expect(l).toHaveLength(3);
    // The p99 line peaks at x=2 (smaller y is higher), and the RSS panel lies below the latency panel.
    const [p99, p50, rss] = lines as [
      Array<[number, number]>,
      Array<[number, number]>,
      Array<[number, number]>,
    ];
    expect(p99[1]![1]).toBeLessThan(p99[0]![1]);
    expect(Math.min(...rss.map((p) => p[1]))).toBeGreaterThan(Math.max(...p99.map((p) => p[1])));
    expect(p50.every((p, i) => p[0] === p99[i]![0])).toBe(true);
    expect(svg).toContain('stroke-dasharray="6 4"');
    for (const text of [
      "latency (ms, log scale)",
      "engine RSS (MB)",
      "time (s)",
      ">p99<",
      ">p50<",
      ">engine RSS<",
      "goal 4.1 ms",
      "RSS bounded",
    ]) {
      expect(svg).toContain(text);
    }
    expect(svg).not.toContain("no samples");
  });

  it("wraps a long title and subtitle into lines instead of running off the chart", () => {
    const words = (n: number, w: string) => Array.from({ length: n }, (_, i) => `${w}${i}`).join(" ");
    const svg = svgChart({
      title: words(30, "title"),
      subtitle: words(60, "config"),
      xLabel: "t",
      panels: [
        {
          yLabel: "y",
          series: [
            {
              label: "a",
              points: [
                [0, 1],
                [1, 2],
              ],
            },
          ],
        },
      ],
    });
    expect(wellFormedProblem(svg)).toBeUndefined();
    const titles = [...svg.matchAll(/<text [^>]*font-weight="bold">([^<]*)</g)].map((m) => m[1]!);
    const subtitles = [...svg.matchAll(/<text [^>]*fill="#444444">([^<]*)</g)].map((m) => m[1]!);
    expect(titles.length).toBeGreaterThan(1);
    expect(subtitles.length).toBeGreaterThan(1);
    expect(titles.join(" ")).toBe(words(30, "title"));
    expect(subtitles.join(" ")).toBe(words(60, "config"));
    for (const line of [...titles, ...subtitles]) expect(line.length).toBeLessThanOrEqual(155);
    expect(wrap("a-very-long-word and more", 5)).toEqual(["a-very-long-word", "and", "more"]);
  });

  it("is deterministic", () => {
    const chart = twoPanels(
      [
        {
          label: "p99",
          points: [
            [0.5, 1.25],
            [1.5, 2.5],
          ],
        },
      ],
      [],
    );
    expect(svgChart(chart)).toBe(svgChart(chart));
  });

  it("escapes text", () => {
    expect(escapeXml(`a<b & "c" 'd'>`)).toBe("a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;");
    const svg = svgChart({
      title: 'runs <fast> & "well"',
      xLabel: "t",
      panels: [
        {
          yLabel: "y <ms>",
          series: [
            {
              label: "a&b",
              points: [
                [0, 1],
                [1, 2],
              ],
            },
          ],
        },
      ],
    });
    expect(wellFormedProblem(svg)).toBeUndefined();
    expect(svg).toContain("runs &lt;fast&gt; &amp; &quot;well&quot;");
    expect(svg).toContain("a&amp;b");
    expect(svg).not.toContain("<fast>");
  });

  it('says "no samples" for a panel with nothing to draw and for a series without points', () => {
    const svg = svgChart(
      twoPanels([{ label: "p99", points: [] }], [{ label: "engine RSS", points: [[1, 0]] }]),
    );
    expect(wellFormedProblem(svg)).toBeUndefined();
    expect(polylines(svg)).toHaveLength(0);
    // The latency panel is empty; the RSS panel has one point and says nothing of the kind.
    expect(svg.match(/>no samples</g)).toHaveLength(1);
    expect(svg).toContain(">p99 (no samples)<");
    expect(svg).toContain(">engine RSS<");

    const none = svgChart({ title: "nothing", xLabel: "t", panels: [{ yLabel: "y", series: [] }] });
    expect(wellFormedProblem(none)).toBeUndefined();
    expect(none).toContain(">no samples<");
  });

  it("draws a lone point as a dot, also on a log axis and between gaps", () => {
    const one = svgChart(
      twoPanels([{ label: "p99", points: [[5, 2]] }], [{ label: "engine RSS", points: [[5, 90]] }]),
    );
    expect(wellFormedProblem(one)).toBeUndefined();
    expect(polylines(one)).toHaveLength(0);
    expect(one.match(/<circle /g)).toHaveLength(2);
    expect(one).not.toContain("no samples");
    expect(one).not.toMatch(/NaN|Infinity/);

    // A 0 on the log axis (a window without samples) breaks the line rather than dropping to -∞.
    const gap = svgChart(
      twoPanels(
        [
          {
            label: "p99",
            points: Array.from(
              { length: 100 },
              (_, i) => [i, i === 50 || i === 52 ? 0 : 1 + i] as [number, number],
            ),
          },
        ],
        [],
      ),
    );
    expect(wellFormedProblem(gap)).toBeUndefined();
    expect(polylines(gap).map((l) => l.length)).toEqual([50, 47]);
    expect(gap.match(/<circle /g)).toHaveLength(1); // the point at x=51, alone between the gaps
    expect(gap).not.toMatch(/NaN|Infinity/);
  });
});

describe("chartTarget", () => {
  it("puts the chart beside --json FILE, where --chart says, or nowhere", () => {
    expect(chartTarget("/tmp/soak.json", undefined)).toBe("/tmp/soak.svg");
    expect(chartTarget("figures", undefined)).toBe("figures.svg");
    expect(chartTarget("-", undefined)).toBeUndefined();
    expect(chartTarget(undefined, undefined)).toBeUndefined();
    expect(chartTarget("-", "run.svg")).toBe("run.svg");
    expect(chartTarget("a.json", "b.svg")).toBe("b.svg");
    expect(() => chartTarget(undefined, "-")).toThrow(/--chart needs a file/);
  });
});

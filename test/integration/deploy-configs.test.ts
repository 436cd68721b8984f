// Everything under deploy/ is checked: nats-server configs with `nats-server -t` (the ones 2.9 can read), and the
// compose, Kubernetes, Prometheus and Grafana files parsed and checked against each other and against the engine.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { findNatsServer } from "../../streams/index.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const DEPLOY = join(ROOT, "deploy");
const NATS_DIR = join(DEPLOY, "nats");

/** Config files that are not whole server configs: each is checked through the files that include it. */
const FRAGMENTS: Record<string, string[]> = {
  "permissions.conf": ["accounts.conf", "accounts-nkeys.conf"],
};
/** Needs a newer server than this machine's 2.9.10; checked as production-2.9.conf plus the 2.10+ line. */
const NEEDS_2_10: Record<string, string> = {
  "production.conf": "sync_interval is a 2.10+ option; 2.9 stops at it with `unknown field`",
};
/** The metrics the dashboard must show (the engine registers them in actors/host/metrics.ts). */
const METRICS = [
  "cairn_events_applied_total",
  "cairn_events_rejected_total",
  "cairn_apply_latency_seconds",
  "cairn_consumer_lag",
  "cairn_hunts_active",
  "cairn_gc_pause_seconds",
  "cairn_event_loop_delay_seconds",
  "cairn_native_index_bytes",
];

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

function natsTest(file: string): { ok: boolean; output: string } {
  const r = spawnSync(findNatsServer(), ["-t", "-c", file], { encoding: "utf8" });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}`.trim() };
}

type Yaml = Record<string, unknown>;

/** The parts of the Kubernetes manifests the checks read. */
interface Probe {
  httpGet?: { path: string; port: string | number };
  tcpSocket?: { port: string | number };
}
interface Container {
  args: string[];
  env: { name: string; value: string }[];
  ports: { name: string; containerPort: number }[];
  readinessProbe: Probe;
  livenessProbe?: Probe;
}
interface Manifest {
  kind: string;
  spec: {
    replicas?: number;
    selector: Record<string, unknown> & { matchLabels?: Record<string, string> };
    template?: { spec: { containers: Container[] } };
    ports?: { port: number }[];
  };
}
interface HelmValues {
  config: {
    cluster: Yaml;
    jetstream: { enabled: boolean; fileStore: Yaml; merge: { sync_interval?: string } };
  };
}
interface Dashboard {
  panels: { targets: { expr: string }[] }[];
  templating: { list: { name: string; current: { value: string } }[] };
}
const readYaml = (path: string) => parseYaml(readFileSync(path, "utf8")) as Yaml;

describe("nats-server configs (nats-server -t on this machine's server)", () => {
  let tmp: string;
  let certDir: string;
  const confs = walk(NATS_DIR).filter((f) => f.endsWith(".conf"));
  const name = (f: string) => relative(NATS_DIR, f);

  /** A copy of `file` in the temp dir with its TLS files pointing at a throw-away self-signed pair. */
  function withTestTls(file: string, transform: (text: string) => string = (t) => t): string {
    let text = transform(readFileSync(file, "utf8"));
    text = text.replace(/"\/etc\/nats\/tls\/([a-z-]+)\.pem"/g, (_, base: string) =>
      JSON.stringify(join(certDir, base.endsWith("key") ? "key.pem" : "cert.pem")),
    );
    // 2.9 joins include paths onto the including file's directory: keep them relative, from the copy's place.
    text = text.replace(/include\s+"([^"]+)"/g, (_, inc: string) => {
      return `include "${relative(tmp, join(dirname(file), inc))}"`;
    });
    const copy = join(tmp, `${name(file).replaceAll("/", "_")}`);
    writeFileSync(copy, text);
    return copy;
  }

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), "cairn-test-deploy-"));
    certDir = join(tmp, "tls");
    execFileSync("mkdir", ["-p", certDir]);
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "1",
      ].concat([
        "-subj",
        "/CN=localhost",
        "-keyout",
        join(certDir, "key.pem"),
        "-out",
        join(certDir, "cert.pem"),
      ]),
      { stdio: "ignore" },
    );
  });

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("finds the configs it is meant to check", () => {
    expect(confs.map(name).sort()).toEqual(
      expect.arrayContaining([
        "single.conf",
        "accounts.conf",
        "accounts-nkeys.conf",
        "partitions.conf",
        "production.conf",
        "production-2.9.conf",
        "cluster/node-1.conf",
        "cluster/node-2.conf",
        "cluster/node-3.conf",
      ]),
    );
    const version = execFileSync(findNatsServer(), ["--version"], { encoding: "utf8" });
    expect(version).toMatch(/v2\.\d+\.\d+/);
  });

  it("accepts every config this server can read (TLS files replaced by a test pair)", () => {
    const checked: string[] = [];
    for (const file of confs) {
      const n = name(file);
      if (n in FRAGMENTS || n in NEEDS_2_10) continue;
      const text = readFileSync(file, "utf8");
      const target = text.includes("/etc/nats/tls/") ? withTestTls(file) : file;
      const r = natsTest(target);
      expect(r.ok, `${n}: ${r.output}`).toBe(true);
      checked.push(n);
    }
    expect(checked.length).toBe(
      confs.length - Object.keys(FRAGMENTS).length - Object.keys(NEEDS_2_10).length,
    );
  });

  it("checks each fragment through the configs that include it", () => {
    for (const [fragment, includers] of Object.entries(FRAGMENTS)) {
      expect(natsTest(join(NATS_DIR, fragment)).ok, `${fragment} is not a whole config`).toBe(false);
      for (const inc of includers) {
        expect(readFileSync(join(NATS_DIR, inc), "utf8")).toContain(`include "${fragment}"`);
        expect(natsTest(join(NATS_DIR, inc)).ok).toBe(true);
      }
    }
  });

  it("keeps production.conf = production-2.9.conf + sync_interval, and 2.9 refuses only that line", () => {
    const prod = join(NATS_DIR, "production.conf");
    const refused = natsTest(withTestTls(prod));
    const version = execFileSync(findNatsServer(), ["--version"], { encoding: "utf8" });
    if (/v2\.9\./.test(version)) {
      expect(refused.ok).toBe(false);
      expect(refused.output).toContain('unknown field "sync_interval"');
      expect(NEEDS_2_10["production.conf"]).toContain("sync_interval");
    } else {
      expect(refused.ok, refused.output).toBe(true);
    }
    const without = withTestTls(prod, (t) => t.replace(/^\s*sync_interval:.*\n/m, ""));
    const r = natsTest(without);
    expect(r.ok, r.output).toBe(true);
    // Same settings apart from sync_interval (comments may differ).
    const settings = (f: string) =>
      readFileSync(join(NATS_DIR, f), "utf8")
        .split("\n")
        .map((l) => l.replace(/#.*$/, "").trimEnd())
        .filter((l) => l.trim() !== "" && !/^\s*sync_interval:/.test(l));
    expect(settings("production.conf")).toEqual(settings("production-2.9.conf"));
    expect(readFileSync(prod, "utf8")).toMatch(/^\s*sync_interval:\s*always/m);
  });

  it("keeps JetStream in CAIRN alone, and gives every other role its own account, imports and inbox prefix", () => {
    const permissions = readFileSync(join(NATS_DIR, "permissions.conf"), "utf8");
    /** The text of `NAME = { ... }` or `NAME = [ ... ]` in permissions.conf, comments removed. */
    const block = (name: string) => {
      const start = permissions.indexOf(`${name} = `);
      expect(start, name).toBeGreaterThanOrEqual(0);
      const open = permissions[permissions.indexOf("=", start) + 2]!;
      const close = open === "{" ? "}" : "]";
      let depth = 0;
      let i = permissions.indexOf(open, start);
      for (; i < permissions.length; i++) {
        if (permissions[i] === open) depth++;
        if (permissions[i] === close && --depth === 0) break;
      }
      return permissions
        .slice(start, i + 1)
        .split("\n")
        .map((l) => l.replace(/#.*$/, ""))
        .join("\n");
    };
    const subscribeAllow = (name: string) =>
      [
        ...(/subscribe:\s*\{\s*allow:\s*\[([^\]]*)\]/s.exec(block(name))?.[1] ?? "").matchAll(/"([^"]+)"/g),
      ].map((m) => m[1]);
    for (const [role, prefix] of [
      ["PUBLISHER", "_INBOX.cairn-publisher"],
      ["SUBSCRIBER", "_INBOX.cairn-subscriber"],
      ["VIEWER", "_INBOX.viewer"],
    ] as const) {
      const perms = block(`${role}_PERMISSIONS`);
      // No role outside CAIRN reaches the JetStream API beyond its read-only subjects, or another's inbox.
      expect(perms, role).not.toMatch(
        /"\$JS\.API\.>"|"\$JS\.API\.(STREAM|CONSUMER)\.(CREATE|DELETE|PURGE|UPDATE)/,
      );
      expect(perms, role).not.toMatch(/"\$KV\.|"cairn\.snapshot|"_INBOX\.>"|"_R_/);
      const inboxes = subscribeAllow(`${role}_PERMISSIONS`).filter((s) => s!.startsWith("_INBOX"));
      expect(inboxes, role).toEqual([`${prefix}.>`]);
      // Every import comes from CAIRN, and every subject it imports is one CAIRN exports to it.
      const imports = [...block(`${role}_IMPORTS`).matchAll(/account: CAIRN, subject: "([^"]+)"/g)].map(
        (m) => m[1],
      );
      expect(imports.length, role).toBeGreaterThan(0);
      const account = `${role}S`;
      for (const subject of imports) {
        const line = block("CAIRN_EXPORTS")
          .split("\n")
          .find((l) => l.includes(`"${subject}"`));
        expect(line, `${role} imports ${subject}`).toMatch(
          new RegExp(`accounts: \\[[^\\]]*\\b${account}\\b`),
        );
      }
    }
    // The engine answers cross-account requests on _R_ (server-made) subjects, and nobody else may.
    expect(subscribeAllow("ENGINE_PERMISSIONS")).toContain("hunt.*.public.*");
    expect(block("ENGINE_PERMISSIONS")).toContain('"_R_.>"');
    for (const file of ["accounts.conf", "accounts-nkeys.conf"]) {
      const text = readFileSync(join(NATS_DIR, file), "utf8").replace(/#.*$/gm, "");
      expect(text.match(/jetstream: enabled/g), file).toHaveLength(1);
      expect(text, file).toMatch(/CAIRN \{\s*jetstream: enabled/);
      for (const [account, role] of [
        ["PUBLISHERS", "PUBLISHER"],
        ["SUBSCRIBERS", "SUBSCRIBER"],
        ["VIEWERS", "VIEWER"],
      ]) {
        const body = new RegExp(`${account} \\{([\\s\\S]*?)\\n  \\}`).exec(text)?.[1] ?? "";
        expect(body, `${file} ${account}`).toContain(`permissions: $${role}_PERMISSIONS`);
        expect(body, `${file} ${account}`).toContain(`imports: $${role}_IMPORTS`);
      }
      expect(text, file).toMatch(
        /user: "viewer", password: "", permissions: \$VIEWER_PERMISSIONS, allowed_connection_types: \["WEBSOCKET"\]/,
      );
    }
    // Viewers come in over WebSocket as the anonymous `viewer`: without TLS only in the laptop example.
    const ws = (f: string) =>
      /^websocket \{([\s\S]*?)^\}/m.exec(readFileSync(join(NATS_DIR, f), "utf8"))?.[1] ?? "";
    expect(ws("accounts.conf")).toMatch(/no_auth_user: "viewer"/);
    expect(ws("accounts.conf")).toMatch(/listen: "127\.0\.0\.1:/);
    for (const f of ["production.conf", "production-2.9.conf"]) {
      expect(ws(f), f).toMatch(/no_auth_user: "viewer"/);
      expect(ws(f), f).toMatch(/tls \{/);
      expect(ws(f), f).not.toMatch(/no_tls/);
    }
  });

  it("wires the 3 local cluster nodes to each other on distinct loopback ports", () => {
    const nodes = [1, 2, 3].map((i) => readFileSync(join(NATS_DIR, `cluster/node-${i}.conf`), "utf8"));
    const field = (t: string, re: RegExp) => re.exec(t)?.[1];
    const clusterListens = nodes.map((t) => field(t, /cluster\s*\{[^}]*?listen:\s*(\S+)/s));
    const clientListens = nodes.map((t) => field(t, /^listen:\s*(\S+)/m));
    const names = nodes.map((t) => field(t, /^server_name:\s*(\S+)/m));
    const stores = nodes.map((t) => field(t, /store_dir:\s*"([^"]+)"/));
    for (const values of [clusterListens, clientListens, names, stores]) {
      expect(new Set(values).size).toBe(3);
      for (const v of values) expect(v).toBeTruthy();
    }
    for (const l of [...clusterListens, ...clientListens]) expect(l).toMatch(/^127\.0\.0\.1:\d+$/);
    for (const t of nodes) {
      const routes = [...t.matchAll(/nats-route:\/\/(\S+)/g)].map((m) => m[1]).sort();
      expect(routes).toEqual([...clusterListens].sort());
    }
    const run = spawnSync("sh", ["-n", join(NATS_DIR, "cluster/run.sh")]);
    expect(run.status).toBe(0);
  });
});

describe("compose, Kubernetes, Prometheus and Grafana files", () => {
  const compose = readYaml(join(DEPLOY, "docker-compose.yml"));
  const services = compose.services as Record<string, Yaml>;
  // `cairn serve --help` is its own usage lines plus the shared NATS flags of bin/cli.ts.
  const serveUsage = ["bin/commands/serve.ts", "bin/cli.ts"]
    .map((f) => readFileSync(join(ROOT, f), "utf8"))
    .join("\n");

  /** Flags passed to `cairn serve` must be flags it knows. */
  /** Every flag after `serve` must be one cairn serve documents (node's own flags come before the script). */
  function expectKnownServeFlags(args: string[]) {
    for (const flag of args.slice(args.indexOf("serve") + 1).filter((a) => a.startsWith("--"))) {
      expect(serveUsage, `cairn serve has no ${flag}`).toContain(`"  ${flag} `);
    }
  }

  it("parses every YAML and JSON file under deploy/", () => {
    const files = walk(DEPLOY).filter((f) => /\.(ya?ml|json)$/.test(f));
    expect(files.length).toBeGreaterThanOrEqual(7);
    for (const f of files) {
      const text = readFileSync(f, "utf8");
      if (f.endsWith(".json")) expect(() => JSON.parse(text), f).not.toThrow();
      else for (const doc of parseAllDocuments(text)) expect(doc.errors, f).toEqual([]);
    }
  });

  it("compose: 3 NATS nodes clustered with JetStream, 2 engines on all three with R3, Prometheus, Grafana", () => {
    const nats = Object.keys(services).filter((s) => /^nats-\d$/.test(s));
    const engines = Object.keys(services).filter((s) => /^engine-\d$/.test(s));
    expect(nats).toHaveLength(3);
    expect(engines).toHaveLength(2);
    for (const n of nats) {
      const cmd = (services[n]!.command as string[]).join(" ");
      expect(cmd).toContain("-js");
      expect(cmd).toContain("--cluster_name cairn");
      for (const other of nats.filter((o) => o !== n)) expect(cmd).toContain(`nats://${other}:6222`);
    }
    for (const e of engines) {
      const args = services[e]!.command as string[];
      expect(args.slice(0, 4)).toEqual(["node", "--max-semi-space-size=32", "bin/cairn.js", "serve"]);
      expect(args[args.indexOf("--nats") + 1]).toBe(nats.map((n) => `nats://${n}:4222`).join(","));
      expect(args[args.indexOf("--replicas") + 1]).toBe("3");
      expect(args[args.indexOf("--metrics-port") + 1]).toBe("9464");
      expectKnownServeFlags(args);
    }
    expect(services.prometheus).toBeDefined();
    expect(services.grafana).toBeDefined();
    // Every file the compose mounts exists.
    for (const svc of Object.values(services)) {
      for (const v of (svc.volumes as string[] | undefined) ?? []) {
        const src = v.split(":")[0]!;
        if (src.startsWith(".")) expect(() => statSync(join(DEPLOY, src)), v).not.toThrow();
      }
    }
  });

  it("prometheus.yml scrapes both engines' /metrics on 9464", () => {
    const prom = readYaml(join(DEPLOY, "prometheus.yml"));
    const jobs = prom.scrape_configs as { job_name: string; metrics_path?: string; static_configs: Yaml[] }[];
    const job = jobs.find((j) => j.job_name === "cairn-engine")!;
    expect(job.metrics_path ?? "/metrics").toBe("/metrics");
    const targets = job.static_configs.flatMap((c) => c.targets as string[]);
    const engines = Object.keys(services).filter((s) => /^engine-\d$/.test(s));
    expect(targets.sort()).toEqual(engines.map((e) => `${e}:9464`).sort());
  });

  it("k8s: 2 engines with readiness on /healthz:9464, liveness, NATS_URL at the Helm chart's service; a metrics Service", () => {
    const docs = parseAllDocuments(readFileSync(join(DEPLOY, "k8s/engine.yaml"), "utf8")).map(
      (d) => d.toJS() as Manifest,
    );
    const deployment = docs.find((d) => d.kind === "Deployment")!;
    const service = docs.find((d) => d.kind === "Service")!;
    expect(deployment.spec.replicas).toBe(2);
    const c = deployment.spec.template!.spec.containers[0]!;
    const portOf = (p: string | number | undefined) =>
      typeof p === "number" ? p : c.ports.find((x) => x.name === p)?.containerPort;
    expect(c.readinessProbe.httpGet?.path).toBe("/healthz");
    expect(portOf(c.readinessProbe.httpGet?.port)).toBe(9464);
    expect(c.livenessProbe).toBeDefined();
    expect(portOf(c.livenessProbe?.httpGet?.port ?? c.livenessProbe?.tcpSocket?.port)).toBe(9464);
    const natsUrl = c.env.find((e) => e.name === "NATS_URL")?.value;
    // The chart's client Service is named after the release ("nats"), in the namespace of nats-values.yaml.
    expect(natsUrl).toMatch(/^nats:\/\/nats\.[a-z0-9-]+\.svc\.cluster\.local:4222$/);
    expect(c.args.slice(0, 4)).toEqual(["node", "--max-semi-space-size=32", "bin/cairn.js", "serve"]);
    expect(c.args[c.args.indexOf("--replicas") + 1]).toBe("3");
    expectKnownServeFlags(c.args);
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
    expect(service.spec.ports?.[0]?.port).toBe(9464);
  });

  it("k8s: the NATS Helm values run 3 JetStream servers on file storage", () => {
    const v = readYaml(join(DEPLOY, "k8s/nats-values.yaml")) as unknown as HelmValues;
    expect(v.config.cluster).toMatchObject({ enabled: true, replicas: 3 });
    expect(v.config.jetstream.enabled).toBe(true);
    expect(v.config.jetstream.fileStore).toMatchObject({ enabled: true, pvc: { enabled: true } });
    expect(v.config.jetstream.merge.sync_interval).toBe("always");
  });

  it("grafana: the dashboard shows every engine metric, each one registered by the engine, from the provisioned data source", () => {
    const text = readFileSync(join(DEPLOY, "grafana/cairn.json"), "utf8");
    const dash = JSON.parse(text) as Dashboard;
    const exprs = dash.panels.flatMap((p) => p.targets.map((t) => t.expr)).join("\n");
    for (const m of METRICS) expect(exprs, m).toContain(m);
    expect(exprs).toMatch(
      /histogram_quantile\(0\.5, sum by \(le\) \(rate\(cairn_apply_latency_seconds_bucket/,
    );
    expect(exprs).toMatch(
      /histogram_quantile\(0\.99, sum by \(le\) \(rate\(cairn_apply_latency_seconds_bucket/,
    );
    expect(exprs).toMatch(
      /histogram_quantile\(0\.99, sum by \(le, kind\) \(rate\(cairn_gc_pause_seconds_bucket/,
    );
    expect(exprs).toMatch(/sum by \(code\) \(rate\(cairn_events_rejected_total/);
    const registered = readFileSync(join(ROOT, "actors/host/metrics.ts"), "utf8");
    const used = new Set(
      [...exprs.matchAll(/\b(cairn_[a-z_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, "")),
    );
    for (const m of used) expect(registered, `${m} is not registered by the engine`).toContain(`"${m}"`);
    const ds = readYaml(join(DEPLOY, "grafana/provisioning/datasources/prometheus.yml")) as {
      datasources: { uid: string }[];
    };
    const dsVar = dash.templating.list.find((t) => t.name === "datasource");
    expect(ds.datasources[0]?.uid).toBe(dsVar?.current.value);
    const provider = readYaml(join(DEPLOY, "grafana/provisioning/dashboards/cairn.yml")) as {
      providers: { options: { path: string } }[];
    };
    const mount = (services.grafana!.volumes as string[]).find((v) => v.startsWith("./grafana/cairn.json:"))!;
    expect(mount.split(":")[1]!.startsWith(provider.providers[0]!.options.path)).toBe(true);
  });
});

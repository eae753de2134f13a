/**
 * CPU and memory in use, from either source Kubernetes offers: the metrics
 * API (metrics.k8s.io, served by metrics-server) or the kubelet's summary API
 * (/stats/summary through the apiserver's node proxy). Pure parsing here.
 */

export interface Usage {
  readonly cpuCores?: number;
  readonly memoryBytes?: number;
}

const BINARY: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/** A Kubernetes quantity ("250m", "12Mi", "1.5Gi", "123456n", "1e3") as a number; undefined when malformed. */
export function parseQuantity(quantity: string | undefined): number | undefined {
  if (quantity === undefined) return undefined;
  const m = /^([+-]?\d+(?:\.\d+)?)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$/.exec(
    quantity.trim(),
  );
  if (!m) return undefined;
  const base = Number(m[1]);
  if (m[2]) return base * 10 ** Number(m[2].slice(1));
  const suffix = m[3] ?? "";
  return base * (BINARY[suffix] ?? DECIMAL[suffix] ?? 1);
}

/** metrics.k8s.io/v1beta1 PodMetrics (the fields used). */
export interface PodMetrics {
  readonly containers?: readonly {
    readonly name: string;
    readonly usage?: Readonly<Record<string, string>>;
  }[];
}

export function usageFromMetrics(metrics: PodMetrics): Map<string, Usage> {
  const out = new Map<string, Usage>();
  for (const c of metrics.containers ?? []) {
    const cpu = parseQuantity(c.usage?.cpu);
    const memory = parseQuantity(c.usage?.memory);
    out.set(c.name, {
      ...(cpu !== undefined ? { cpuCores: round(cpu) } : {}),
      ...(memory !== undefined ? { memoryBytes: Math.round(memory) } : {}),
    });
  }
  return out;
}

/** The kubelet's /stats/summary (the fields used). */
export interface Summary {
  readonly pods?: readonly {
    readonly podRef: { readonly name: string; readonly namespace: string };
    readonly containers?: readonly {
      readonly name: string;
      readonly cpu?: { readonly usageNanoCores?: number };
      readonly memory?: { readonly workingSetBytes?: number };
    }[];
  }[];
}

/** Usage per container of one pod, from a node's summary; undefined when the pod is not in it. */
export function usageFromSummary(
  summary: Summary,
  namespace: string,
  pod: string,
): Map<string, Usage> | undefined {
  const entry = summary.pods?.find((p) => p.podRef.namespace === namespace && p.podRef.name === pod);
  if (!entry) return undefined;
  const out = new Map<string, Usage>();
  for (const c of entry.containers ?? []) {
    const nano = c.cpu?.usageNanoCores;
    const ws = c.memory?.workingSetBytes;
    out.set(c.name, {
      ...(nano !== undefined ? { cpuCores: round(nano / 1e9) } : {}),
      ...(ws !== undefined ? { memoryBytes: ws } : {}),
    });
  }
  return out;
}

/** Cores to 6 decimals (a microcore): enough for a homelab's idle containers, short to read. */
function round(cores: number): number {
  return Math.round(cores * 1e6) / 1e6;
}

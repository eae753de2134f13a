import { describe, expect, it } from "vitest";
import { buildBackendObjects, ownedBy } from "./backend-service.ts";
import { buildIngressRoute } from "./route-spec.ts";

const labels = { "app.kubernetes.io/managed-by": "shardgate" };

describe("buildBackendObjects", () => {
  it("makes a host name an ExternalName Service", () => {
    const b = buildBackendObjects("nas", "apps", ["https://nas.home.arpa:5001"]);
    expect(b.service).toEqual({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "shardgate-nas", namespace: "apps", labels },
      spec: {
        type: "ExternalName",
        externalName: "nas.home.arpa",
        ports: [{ name: "https", port: 5001, protocol: "TCP", targetPort: 5001 }],
      },
    });
    expect(b.endpointSlice).toBeUndefined();
    expect(b.reference).toEqual({ name: "shardgate-nas", port: 5001, scheme: "https" });
  });

  it("makes IP addresses a selector-less Service with an EndpointSlice whose port name matches", () => {
    const b = buildBackendObjects("web", "apps", ["http://10.0.0.5:3000", "http://10.0.0.6:3000"]);
    expect(b.service.spec).toEqual({
      type: "ClusterIP",
      ports: [{ name: "http", port: 3000, protocol: "TCP", targetPort: 3000 }],
    });
    expect(b.endpointSlice).toMatchObject({
      metadata: {
        name: "shardgate-web",
        labels: {
          ...labels,
          "kubernetes.io/service-name": "shardgate-web",
          "endpointslice.kubernetes.io/managed-by": "shardgate",
        },
      },
      addressType: "IPv4",
      endpoints: [
        { addresses: ["10.0.0.5"], conditions: { ready: true, serving: true } },
        { addresses: ["10.0.0.6"], conditions: { ready: true, serving: true } },
      ],
      ports: [{ name: "http", port: 3000, protocol: "TCP" }],
    });
    expect(buildBackendObjects("v6", "apps", ["http://[fd00::5]:80"]).endpointSlice?.addressType).toBe(
      "IPv6",
    );
  });

  it("uses ExternalName for loopback, which the apiserver refuses in EndpointSlices", () => {
    const b = buildBackendObjects("local", "apps", ["http://127.0.0.1:8080"]);
    expect(b.service.spec).toMatchObject({ type: "ExternalName", externalName: "127.0.0.1" });
    expect(b.endpointSlice).toBeUndefined();
  });

  it.each([
    [["http://a.home.arpa", "http://b.home.arpa"], "single name"],
    [["http://a.home.arpa", "http://10.0.0.1"], "not both"],
    [["http://10.0.0.1:80", "http://10.0.0.2:81"], "one scheme and port"],
    [["http://10.0.0.1", "https://10.0.0.2"], "one scheme and port"],
    [["http://10.0.0.1:80/app"], "no path"],
    [["tcp://10.0.0.1:80"], "only http and https"],
    [["http://169.254.1.1"], "link-local"],
    [["http://10.0.0.1", "http://[fd00::1]"], "IPv4 or IPv6"],
    [["not a url"], "not a URL"],
  ])("refuses %j (%s)", (urls, message) => {
    expect(() => buildBackendObjects("x", "apps", urls)).toThrow(message);
  });

  it("owner reference points at the IngressRoute", () => {
    const { service } = buildBackendObjects("nas", "apps", ["http://nas.home.arpa"]);
    expect(ownedBy(service, { name: "shardgate-nas", uid: "u-1" }).metadata.ownerReferences).toEqual([
      {
        apiVersion: "traefik.io/v1alpha1",
        kind: "IngressRoute",
        name: "shardgate-nas",
        uid: "u-1",
        controller: true,
      },
    ]);
  });
});

describe("buildIngressRoute with backends", () => {
  it("routes to the managed Service", () => {
    const { object, backend } = buildIngressRoute(
      { name: "nas", host: "nas.home.arpa", backends: ["https://nas.home.arpa:5001"] },
      "apps",
    );
    expect(object.spec.routes).toEqual([
      {
        kind: "Rule",
        match: "Host(`nas.home.arpa`)",
        services: [{ name: "shardgate-nas", port: 5001, scheme: "https" }],
      },
    ]);
    expect(backend?.service.metadata.name).toBe("shardgate-nas");
  });

  it("needs exactly one of backends and kubernetes_service", () => {
    expect(() =>
      buildIngressRoute(
        { name: "a", host: "a", backends: ["http://10.0.0.1"], kubernetes_service: { name: "s", port: 80 } },
        "apps",
      ),
    ).toThrow(/not both/);
    expect(() => buildIngressRoute({ name: "a", host: "a" }, "apps")).toThrow(/backends/);
  });
});

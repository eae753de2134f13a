/**
 * Reusable pieces of the McpShard schema that mirror core Kubernetes types
 * (env, envFrom, resources, volumes, tolerations). Only the fields a shard
 * needs are modelled: the CRD is generated from these schemas, so every field
 * here is one `kubectl explain` can describe and the apiserver validates.
 */
import { z } from "zod";

/** A CEL rule the apiserver checks on an object; `message` is what `kubectl apply` prints when it fails. */
export interface CelRule {
  readonly rule: string;
  readonly message: string;
}

/**
 * The `.meta()` that puts CEL rules into the generated CRD: the one place
 * that spells the extension's key (x-kubernetes-validations), with the rules typed.
 */
export function celRules(...rules: CelRule[]): { "x-kubernetes-validations": CelRule[] } {
  return { "x-kubernetes-validations": rules };
}

export const dnsLabel = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a DNS label: lower-case letters, digits and '-'");

export const secretKeySelector = z
  .object({
    name: z.string().min(1).describe("Name of the Secret in the shard's namespace."),
    key: z.string().min(1).describe("Key within the Secret."),
  })
  .describe("A key of a Secret in the shard's namespace.");

const configMapKeySelector = z
  .object({
    name: z.string().min(1).describe("Name of the ConfigMap in the shard's namespace."),
    key: z.string().min(1).describe("Key within the ConfigMap."),
  })
  .describe("A key of a ConfigMap in the shard's namespace.");

export const envVar = z
  .object({
    name: z
      .string()
      .min(1)
      .regex(/^[-._a-zA-Z][-._a-zA-Z0-9]*$/, "must be a valid environment variable name")
      .describe("Environment variable name."),
    value: z.string().optional().describe("Literal value. Exactly one of value and valueFrom."),
    valueFrom: z
      .object({
        secretKeyRef: secretKeySelector.optional().describe("Take the value from a Secret key."),
        configMapKeyRef: configMapKeySelector.optional().describe("Take the value from a ConfigMap key."),
      })
      .meta(
        celRules({
          rule: "has(self.secretKeyRef) != has(self.configMapKeyRef)",
          message: "valueFrom needs exactly one of secretKeyRef and configMapKeyRef",
        }),
      )
      .optional()
      .describe("Take the value from a Secret or ConfigMap key."),
  })
  .meta(
    celRules({
      rule: "!(has(self.value) && has(self.valueFrom))",
      message: "set value or valueFrom, not both",
    }),
  )
  .describe("An environment variable of the shard's container.");

export const envFromSource = z
  .object({
    prefix: z.string().optional().describe("Prefix added to every variable name."),
    secretRef: z
      .object({ name: z.string().min(1).describe("Secret name.") })
      .optional()
      .describe("Every key of this Secret becomes a variable."),
    configMapRef: z
      .object({ name: z.string().min(1).describe("ConfigMap name.") })
      .optional()
      .describe("Every key of this ConfigMap becomes a variable."),
  })
  .meta(
    celRules({
      rule: "has(self.secretRef) != has(self.configMapRef)",
      message: "envFrom needs exactly one of secretRef and configMapRef",
    }),
  )
  .describe("A Secret or ConfigMap whose keys all become environment variables.");

/**
 * Resource quantities: a string ("500m", "128Mi") or a number (1, 0.5), as in
 * a Pod. Not x-kubernetes-int-or-string, which refuses 0.5, so the schema
 * keeps any value (CEL cannot be declared on an untyped node); the operator
 * validates with this schema and reports anything else as InvalidSpec.
 */
/** The apiserver's quantity syntax; checked here so a typo becomes InvalidSpec, not a failing apply. */
const QUANTITY_PATTERN = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?$/;

export const quantity = z
  .union([z.string().regex(QUANTITY_PATTERN, "must be a quantity such as 100m, 128Mi or 1"), z.number()])
  .meta({ "x-kubernetes-preserve-unknown-fields": true })
  .describe("A resource quantity such as 100m, 128Mi, 1 or 0.5.");

export const resources = z
  .object({
    requests: z
      .record(z.string(), quantity)
      .optional()
      .describe("Minimum resources, e.g. {cpu: 50m, memory: 64Mi}."),
    limits: z.record(z.string(), quantity).optional().describe("Maximum resources, e.g. {memory: 256Mi}."),
  })
  .describe("Compute resources of the shard's container.");

export const toleration = z
  .object({
    key: z.string().optional().describe("Taint key the toleration applies to; empty matches all keys."),
    operator: z.enum(["Exists", "Equal"]).optional().describe("Exists or Equal. @default Equal"),
    value: z.string().optional().describe("Taint value to match with operator Equal."),
    effect: z
      .enum(["NoSchedule", "PreferNoSchedule", "NoExecute"])
      .optional()
      .describe("Taint effect to match; empty matches all effects."),
    tolerationSeconds: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe("How long a NoExecute taint is tolerated."),
  })
  .meta(
    celRules({
      rule: "!has(self.operator) || self.operator != 'Exists' || !has(self.value)",
      message: "a toleration with operator Exists must not set value",
    }),
  )
  .describe("A pod toleration.");

export const volume = z
  .object({
    name: dnsLabel.describe("Volume name, referenced by volumeMounts."),
    hostPath: z
      .object({
        path: z.string().min(1).describe("Directory on the node."),
        type: z
          .enum(["", "DirectoryOrCreate", "Directory", "FileOrCreate", "File"])
          .optional()
          .describe("hostPath type check."),
      })
      .optional()
      .describe("A directory on the node (single-node homelabs; e.g. Traefik's dynamic config dir)."),
    nfs: z
      .object({
        server: z.string().min(1).describe("NFS server host name or address."),
        path: z.string().min(1).describe("Exported path."),
        readOnly: z.boolean().optional().describe("Mount read-only."),
      })
      .optional()
      .describe("An NFS export."),
    persistentVolumeClaim: z
      .object({
        claimName: z.string().min(1).describe("Name of an existing PVC in the shard's namespace."),
        readOnly: z.boolean().optional().describe("Mount read-only."),
      })
      .optional()
      .describe("An existing PersistentVolumeClaim."),
    configMap: z
      .object({ name: z.string().min(1).describe("ConfigMap name.") })
      .optional()
      .describe("A ConfigMap as files."),
    secret: z
      .object({ secretName: z.string().min(1).describe("Secret name.") })
      .optional()
      .describe("A Secret as files."),
    emptyDir: z
      .object({ sizeLimit: quantity.optional().describe("Size limit, e.g. 64Mi.") })
      .optional()
      .describe("Scratch space that lives as long as the pod (the root filesystem is read-only)."),
  })
  .meta(
    celRules({
      rule: "[has(self.hostPath), has(self.nfs), has(self.persistentVolumeClaim), has(self.configMap), has(self.secret), has(self.emptyDir)].filter(x, x).size() == 1",
      message:
        "a volume needs exactly one source: hostPath, nfs, persistentVolumeClaim, configMap, secret or emptyDir",
    }),
  )
  .describe("A pod volume. Exactly one source must be set.");

export const volumeMount = z
  .object({
    name: dnsLabel.describe("Name of a volume in volumes."),
    mountPath: z.string().startsWith("/").describe("Absolute path in the container."),
    readOnly: z.boolean().optional().describe("Mount read-only."),
    subPath: z.string().optional().describe("Sub-path of the volume to mount."),
  })
  .describe("Where a volume is mounted in the shard's container.");

export const condition = z
  .object({
    type: z.string().describe("Condition type: Ready, Available or Verified."),
    status: z.enum(["True", "False", "Unknown"]).describe("True, False or Unknown."),
    reason: z.string().describe("CamelCase reason for the last transition."),
    message: z.string().describe("Human-readable message."),
    lastTransitionTime: z.string().describe("When the status last changed (RFC 3339)."),
    observedGeneration: z.number().int().optional().describe("The spec generation this condition is about."),
  })
  .describe("A status condition.");

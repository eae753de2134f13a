{{/* Full name prefix of every object. */}}
{{- define "shardgate.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "shardgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 50 | trimSuffix "-" -}}
{{- end -}}

{{- define "shardgate.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Labels of every object; pass (dict "ctx" $ "component" "gateway"). */}}
{{- define "shardgate.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
{{ include "shardgate.selectorLabels" . }}
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "shardgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "shardgate.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/part-of: shardgate
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/*
Pods that may talk to shards: the operator's NetworkPolicies admit only pods
with this label (the gateway calls shards, the operator verifies them).
*/}}
{{- define "shardgate.shardClientLabel" -}}
shardgate.dev/shard-client: "true"
{{- end -}}

{{- define "shardgate.gatewaySessionSecretName" -}}
{{- default (printf "%s-gateway-session" (include "shardgate.fullname" .)) .Values.gateway.sessionSecret.existingSecret -}}
{{- end -}}

{{- define "shardgate.gatewayIdentityKeySecretName" -}}
{{- default (printf "%s-gateway-identity-key" (include "shardgate.fullname" .)) .Values.gateway.identityKey.existingSecret -}}
{{- end -}}

{{- define "shardgate.gatewayApiKeysSecretName" -}}
{{- default (printf "%s-gateway-api-keys" (include "shardgate.fullname" .)) .Values.gateway.apiKeys.existingSecret -}}
{{- end -}}

{{- define "shardgate.gatewayServiceName" -}}
{{- printf "%s-gateway" (include "shardgate.fullname" .) -}}
{{- end -}}

{{- define "shardgate.traefikShardServiceAccount" -}}
{{- printf "%s-traefik-shard" (include "shardgate.fullname" .) -}}
{{- end -}}

{{- define "shardgate.traefikRouteNamespace" -}}
{{- default .Release.Namespace .Values.traefikShard.routeNamespace -}}
{{- end -}}

{{/* The same pod-level scheduling and security blocks for every component; pass (dict "ctx" $ "values" .Values.gateway). */}}
{{- define "shardgate.podCommon" -}}
{{- with .ctx.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .ctx.Values.podSecurityContext | nindent 2 }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
What the gateway reads from mounted Secrets at start: a change must roll its
pods (it does not reload them). The chart's own values, and for Secrets the
user manages (existingSecret), their data as the cluster has it at upgrade
time (lookup; empty under `helm template`). The chart-made session and
identity-key Secrets keep their values across upgrades and so are left out.
*/}}
{{- define "shardgate.gatewayChecksum" -}}
{{- $gw := .Values.gateway -}}
{{- $existing := dict -}}
{{- range $name := list $gw.apiKeys.existingSecret $gw.sessionSecret.existingSecret $gw.identityKey.existingSecret -}}
{{- if $name -}}
{{- $secret := lookup "v1" "Secret" $.Release.Namespace $name -}}
{{- $_ := set $existing $name (($secret | default dict).data | default dict) -}}
{{- end -}}
{{- end -}}
{{- dict "apiKeys" $gw.apiKeys "sessionSecret" $gw.sessionSecret "identityKey" $gw.identityKey "existing" $existing | toJson | sha256sum -}}
{{- end }}

{{- define "shardgate.gatewayActivitySecretName" -}}
{{- default (printf "%s-gateway-activity" (include "shardgate.fullname" .)) .Values.gateway.activity.postgres.existingSecret -}}
{{- end -}}

{{/* Namespaces the Watchman shard reads: the list, or the release namespace. */}}
{{- define "shardgate.watchmanNamespaces" -}}
{{- if .Values.watchmanShard.namespaces }}{{ join "," .Values.watchmanShard.namespaces }}{{ else }}{{ .Release.Namespace }}{{ end -}}
{{- end }}

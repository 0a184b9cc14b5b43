{{/* Chart name, at most 63 characters. */}}
{{- define "tcpemu.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: the release name if it already contains the chart name, else
<release>-<chart>. Kept to 52 characters: StatefulSet pods add "-N" and the
controller-revision-hash label adds 11 more.
*/}}
{{- define "tcpemu.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "tcpemu.headlessName" -}}
{{- printf "%s-headless" (include "tcpemu.fullname" .) }}
{{- end }}

{{- define "tcpemu.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tcpemu.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "tcpemu.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "tcpemu.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "tcpemu.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Resources and restricted securityContext of a helm test container. */}}
{{- define "tcpemu.testContainer" -}}
resources:
  requests:
    cpu: 10m
    memory: 16Mi
  limits:
    cpu: 100m
    memory: 64Mi
securityContext:
  readOnlyRootFilesystem: true
  allowPrivilegeEscalation: false
  capabilities:
    drop:
      - ALL
{{- end }}

{{/*
The proxies' settings, checked: names, ports and Service ports unique, no
port shared with gRPC, metrics or the toxiproxy API, and proxyUpstreamAllow
set (tcpemud allows loopback upstreams only by default). Renders nothing.
*/}}
{{- define "tcpemu.checkProxies" -}}
{{- $taken := dict "50051" "grpc" "9464" "metrics" }}
{{- if .Values.toxiproxyApi.enabled }}
{{- $_ := set $taken (toString .Values.toxiproxyApi.port) "toxiproxyApi.port" }}
{{- end }}
{{- $names := dict }}
{{- $servicePorts := dict }}
{{- range .Values.proxies }}
{{- $port := toString .port }}
{{- if hasKey $taken $port }}
{{- fail (printf "proxies: %s: port %s is taken by %s" .name $port (get $taken $port)) }}
{{- end }}
{{- $_ := set $taken $port (printf "proxy %s" .name) }}
{{- $servicePort := toString (.servicePort | default .port) }}
{{- if hasKey $servicePorts $servicePort }}
{{- fail (printf "proxies: %s: servicePort %s is taken by proxy %s" .name $servicePort (get $servicePorts $servicePort)) }}
{{- end }}
{{- $_ := set $servicePorts $servicePort .name }}
{{- if hasKey $names .name }}
{{- fail (printf "proxies: the name %s is given twice" .name) }}
{{- end }}
{{- $_ := set $names .name true }}
{{- end }}
{{- if .Values.toxiproxyApi.enabled }}
{{- if or (eq (int .Values.toxiproxyApi.port) 50051) (eq (int .Values.toxiproxyApi.port) 9464) }}
{{- fail (printf "toxiproxyApi.port %d is taken by gRPC or metrics" (int .Values.toxiproxyApi.port)) }}
{{- end }}
{{- end }}
{{- if and .Values.proxies (not .Values.proxyUpstreamAllow) }}
{{- fail "proxies: set proxyUpstreamAllow to the CIDRs (and ports) of their upstreams (tcpemud --proxy_upstream_allow; its default is loopback only)" }}
{{- end }}
{{- end }}

{{/* The name of a proxy's container port (an IANA service name, <= 15). */}}
{{- define "tcpemu.proxyPortName" -}}
{{- printf "proxy-%d" (int .port) }}
{{- end }}

{{/* toxiproxy's JSON config of the proxies: [{name, listen, upstream, enabled}]. */}}
{{- define "tcpemu.proxiesJson" -}}
{{- $list := list }}
{{- range .Values.proxies }}
{{- $enabled := true }}
{{- if hasKey . "enabled" }}
{{- $enabled = .enabled }}
{{- end }}
{{- $list = append $list (dict "name" .name "listen" (printf "0.0.0.0:%d" (int .port)) "upstream" .upstream "enabled" $enabled) }}
{{- end }}
{{- toPrettyJson $list }}
{{- end }}

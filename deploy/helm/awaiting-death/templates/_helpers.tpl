{{/* Names: "<release>-awaiting-death", or the release name when it already says so. */}}
{{- define "ad.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "ad.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ad.labels" -}}
{{ include "ad.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "ad.image" -}}
{{- printf "%s:%s" .repository (toString .tag) -}}
{{- end -}}

{{/* The Secret a key comes from: the component's own, else the shared one, else the
placeholder Secret the chart makes. */}}
{{- define "ad.secretName" -}}
{{- $root := index . 0 -}}{{- $own := index . 1 -}}
{{- if $own -}}{{ $own }}{{- else if $root.Values.existingSecret -}}{{ $root.Values.existingSecret }}{{- else -}}{{ include "ad.fullname" $root }}-secrets{{- end -}}
{{- end -}}

{{/* The environment of every app container: the same variables as the Kustomize base's
ConfigMap and Secret. */}}
{{- define "ad.env" -}}
{{- $v := .Values -}}
- name: ALLOWED_HOSTS
  value: {{ printf "%s,localhost" $v.host | quote }}
- name: CSRF_TRUSTED_ORIGINS
  value: {{ printf "%s://%s" $v.scheme $v.host | quote }}
- name: SITE_URL
  value: {{ printf "%s://%s" $v.scheme $v.host | quote }}
- name: MEDIA_ROOT
  value: {{ $v.media.mountPath | quote }}
{{- range $name, $value := $v.config }}
- name: {{ $name }}
  value: {{ toString $value | quote }}
{{- end }}
{{- if $v.s3.enabled }}
- name: STORAGE_BACKEND
  value: s3
- name: AWS_STORAGE_BUCKET_NAME
  value: {{ required "s3.bucket is required with s3.enabled" $v.s3.bucket | quote }}
- name: AWS_S3_REGION_NAME
  value: {{ $v.s3.region | quote }}
- name: AWS_S3_ENDPOINT_URL
  value: {{ $v.s3.endpointUrl | quote }}
- name: AWS_S3_ADDRESSING_STYLE
  value: {{ $v.s3.addressingStyle | quote }}
{{- if $v.s3.existingSecret }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ $v.s3.existingSecret }}
      key: {{ $v.s3.accessKeyIdKey }}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $v.s3.existingSecret }}
      key: {{ $v.s3.secretAccessKeyKey }}
{{- end }}
{{- end }}
- name: SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "ad.secretName" (list . $v.secretKey.existingSecret) }}
      key: {{ $v.secretKey.key }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "ad.secretName" (list . $v.postgresql.existingSecret) }}
      key: {{ $v.postgresql.urlKey }}
- name: CELERY_BROKER_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "ad.secretName" (list . $v.redis.existingSecret) }}
      key: {{ $v.redis.urlKey }}
- name: METRICS_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "ad.secretName" (list . $v.metrics.existingSecret) }}
      key: {{ $v.metrics.tokenKey }}
{{- end -}}

{{/* Writable folders on the read-only root filesystem. */}}
{{- define "ad.scratchMounts" -}}
- name: upload-spool
  mountPath: /app/var/tmp
- name: tmp
  mountPath: /tmp
{{- end -}}

{{- define "ad.scratchVolumes" -}}
- name: upload-spool
  emptyDir:
    sizeLimit: {{ .Values.scratch.uploadSpoolSizeLimit }}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.scratch.tmpSizeLimit }}
{{- end -}}

{{- define "ad.mediaVolume" -}}
- name: media
  persistentVolumeClaim:
    claimName: {{ .Values.media.existingClaim | default (printf "%s-media" (include "ad.fullname" .)) }}
{{- end -}}

{{- define "ad.metricsVolume" -}}
- name: metrics
  emptyDir:
    medium: Memory
    sizeLimit: 64Mi
{{- end -}}

{{- define "ad.podSpecCommon" -}}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
